package static

import (
	"io/fs"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := fs.ReadFile(FS(), name)
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	return string(b)
}

func filesWithExt(t *testing.T, ext string) []string {
	t.Helper()
	names, err := fs.Glob(FS(), "*"+ext)
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// TestPagesAreEmbedded checks that the server gets every page it routes to.
func TestPagesAreEmbedded(t *testing.T) {
	for _, name := range []string{"index.html", "phone.html", "screen.html", "console.html", "style.css", "sync.js", "i18n.js", "render.js", "model.js", "icon.svg"} {
		if b, err := fs.ReadFile(FS(), name); err != nil || len(b) == 0 {
			t.Errorf("%s: not embedded (%v)", name, err)
		}
	}
}

// TestStrictCSPCompatible: the Content-Security-Policy allows no inline
// script, no inline style and no event handler attribute, so the HTML must
// hold none; every script is an external ES module.
func TestStrictCSPCompatible(t *testing.T) {
	scriptTag := regexp.MustCompile(`(?i)<script\b[^>]*>`)
	styleAttr := regexp.MustCompile(`(?i)\sstyle\s*=`)
	handlerAttr := regexp.MustCompile(`(?i)\son[a-z]+\s*=`)
	styleTag := regexp.MustCompile(`(?i)<style\b`)
	jsURL := regexp.MustCompile(`(?i)javascript:`)
	for _, name := range filesWithExt(t, ".html") {
		html := readFile(t, name)
		for _, tag := range scriptTag.FindAllString(html, -1) {
			if !strings.Contains(tag, `src="/static/`) || !strings.Contains(tag, `type="module"`) {
				t.Errorf("%s: script tag %q is not an external module", name, tag)
			}
		}
		for _, re := range []*regexp.Regexp{styleAttr, handlerAttr, styleTag, jsURL} {
			if m := re.FindString(html); m != "" {
				t.Errorf("%s: %q breaks the strict CSP", name, m)
			}
		}
	}
}

// TestNoHTMLInjectionSinks: data is rendered with textContent only.
func TestNoHTMLInjectionSinks(t *testing.T) {
	sinks := regexp.MustCompile(`\.innerHTML|\.outerHTML\s*=|insertAdjacentHTML|document\.write|\beval\(|new Function\(|setAttribute\(\s*['"]style`)
	for _, name := range filesWithExt(t, ".js") {
		if m := sinks.FindString(readFile(t, name)); m != "" {
			t.Errorf("%s: uses %q", name, m)
		}
	}
}

// dictionaryKeys extracts the keys of `const <lang> = { ... };` in i18n.js.
func dictionaryKeys(t *testing.T, src, lang string) []string {
	t.Helper()
	start := strings.Index(src, "const "+lang+" = {")
	if start < 0 {
		t.Fatalf("i18n.js: no %s dictionary", lang)
	}
	end := strings.Index(src[start:], "\n};")
	if end < 0 {
		t.Fatalf("i18n.js: %s dictionary not closed", lang)
	}
	key := regexp.MustCompile(`(?m)^\s*'([^']+)':`)
	var keys []string
	for _, m := range key.FindAllStringSubmatch(src[start:start+end], -1) {
		keys = append(keys, m[1])
	}
	return keys
}

// TestDictionaries: French and English have the same keys, no duplicate,
// and every key the pages use exists.
func TestDictionaries(t *testing.T) {
	src := readFile(t, "i18n.js")
	fr, en := dictionaryKeys(t, src, "fr"), dictionaryKeys(t, src, "en")
	for name, keys := range map[string][]string{"fr": fr, "en": en} {
		seen := map[string]bool{}
		for _, k := range keys {
			if seen[k] {
				t.Errorf("%s: key %q twice", name, k)
			}
			seen[k] = true
		}
	}
	if len(fr) < 100 {
		t.Fatalf("only %d French keys found: the parser is broken", len(fr))
	}
	for _, k := range fr {
		if !slices.Contains(en, k) {
			t.Errorf("English lacks %q", k)
		}
	}
	for _, k := range en {
		if !slices.Contains(fr, k) {
			t.Errorf("French lacks %q", k)
		}
	}
	used := regexp.MustCompile(`\bt\('([a-zA-Z_.]+)'`)
	attr := regexp.MustCompile(`data-i18n="([^"]+)"`)
	for _, name := range append(filesWithExt(t, ".js"), filesWithExt(t, ".html")...) {
		text := readFile(t, name)
		for _, re := range []*regexp.Regexp{used, attr} {
			for _, m := range re.FindAllStringSubmatch(text, -1) {
				if !slices.Contains(fr, m[1]) {
					t.Errorf("%s: uses unknown key %q", name, m[1])
				}
			}
		}
	}
	// Keys built at run time: steps, outcomes, answers, eligibility reasons.
	for _, prefix := range []string{"step.", "outcome.", "check.", "elig.", "elig.short.", "console.nav."} {
		var want []string
		switch prefix {
		case "step.":
			want = []string{"before", "I", "II", "III", "IV", "V", "VI", "VII", "closed"}
		case "outcome.":
			want = []string{"designated", "no_consensus", "no_candidate"}
		case "check.":
			want = []string{"support", "reservation", "objection"}
		case "elig.", "elig.short.":
			want = []string{"not_certified", "certified_too_late", "same_action_group", "same_person", "no_action_group"}
		case "console.nav.":
			want = []string{"meeting", "members", "checkin", "bilans", "profiles", "groups", "steps", "plenary", "report"}
		}
		for _, w := range want {
			if !slices.Contains(fr, prefix+w) {
				t.Errorf("no key %q", prefix+w)
			}
		}
	}
}

// TestPhonePageWeight: the first page a phone loads (the HTML, the style
// sheet, the icon and every module it imports) stays under 100 KB, even
// uncompressed.
func TestPhonePageWeight(t *testing.T) {
	const budget = 100 * 1024
	importRe := regexp.MustCompile(`(?m)^import\s[^;]*?from\s+'\./([a-z0-9_-]+\.js)'`)
	total := 0
	seen := map[string]bool{}
	var walk func(name string)
	walk = func(name string) {
		if seen[name] {
			return
		}
		seen[name] = true
		src := readFile(t, name)
		total += len(src)
		for _, m := range importRe.FindAllStringSubmatch(src, -1) {
			walk(m[1])
		}
	}
	for _, name := range []string{"phone.html", "style.css", "icon.svg"} {
		total += len(readFile(t, name))
	}
	walk("phone.js")
	for _, mod := range []string{"sync.js", "i18n.js", "render.js", "model.js"} {
		if !seen[mod] {
			t.Errorf("the import scan missed %s: the weight is underestimated", mod)
		}
	}
	t.Logf("phone page: %d bytes in %d modules", total, len(seen))
	if total > budget {
		t.Errorf("the phone page weighs %d bytes, over the %d budget", total, budget)
	}
}
