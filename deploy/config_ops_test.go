package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// setting is one line of the configuration: a flag, its environment
// variable and its default ("" when it has none).
type setting struct {
	flag, env, def string
}

// helpSettings parses the binary's -help: "  -name (ENV, default X)" or
// "  -name" for flags without a variable.
func helpSettings(t *testing.T, help string) map[string]setting {
	t.Helper()
	line := regexp.MustCompile(`^  -([a-z0-9-]+)(?: \(([A-Z0-9_]+), default (.+)\))?$`)
	out := map[string]setting{}
	for _, l := range strings.Split(help, "\n") {
		m := line.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		out[m[1]] = setting{flag: m[1], env: m[2], def: m[3]}
	}
	if len(out) == 0 {
		t.Fatalf("no flag in -help:\n%s", help)
	}
	return out
}

// readmeSettings parses the README's configuration table: rows
// "| `-flag` | `ENV` … | `default` or a word … | meaning |". The default is
// the first code span of its cell, or else its first word ("empty",
// "derived").
func readmeSettings(t *testing.T, readme string) map[string]setting {
	t.Helper()
	code := regexp.MustCompile("`([^`]*)`")
	out := map[string]setting{}
	for _, l := range strings.Split(readme, "\n") {
		if !strings.HasPrefix(l, "| `-") {
			continue
		}
		cells := strings.Split(l, "|")
		if len(cells) < 5 {
			t.Fatalf("README table row with %d cells: %q", len(cells), l)
		}
		first := func(cell string) string {
			cell = strings.TrimSpace(cell)
			if m := code.FindStringSubmatch(cell); m != nil && strings.HasPrefix(cell, "`") {
				return m[1]
			}
			if f := strings.Fields(cell); len(f) > 0 {
				return f[0]
			}
			return ""
		}
		s := setting{flag: strings.TrimPrefix(first(cells[1]), "-"), env: first(cells[2]), def: first(cells[3])}
		out[s.flag] = s
	}
	if len(out) == 0 {
		t.Fatal("no configuration table in README.md")
	}
	return out
}

// TestHelpMatchesTheREADME: -help lists every flag with its environment
// variable and default, and the README's configuration table says exactly
// the same (same flags, variables and defaults), so they cannot drift.
func TestHelpMatchesTheREADME(t *testing.T) {
	code, stdout, stderr := runBinary(t, nil, "-help")
	if code != 0 {
		t.Fatalf("-help exit %d", code)
	}
	help := helpSettings(t, stdout+stderr)
	readmeBytes, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := readmeSettings(t, string(readmeBytes))

	for _, want := range []string{"addr", "data", "public-url", "log-format", "redis-url", "version", "healthcheck"} {
		if _, ok := help[want]; !ok {
			t.Errorf("-help does not list -%s", want)
		}
	}
	for name, h := range help {
		r, ok := readme[name]
		if !ok {
			t.Errorf("-%s (%s, default %q) is missing from the README's configuration table", name, h.env, h.def)
			continue
		}
		if r.env != h.env {
			t.Errorf("-%s: README says variable %q, -help says %q", name, r.env, h.env)
		}
		if r.def != h.def {
			t.Errorf("-%s: README says default %q, -help says %q", name, r.def, h.def)
		}
	}
	for name := range readme {
		if _, ok := help[name]; !ok {
			t.Errorf("README documents -%s, which -help does not list", name)
		}
	}
}

// TestHelpShowsNoSecret: the settings that carry secrets (a Redis password,
// the metrics token) set in the environment never appear in -help, nor in
// the error of a bad setting.
func TestHelpShowsNoSecret(t *testing.T) {
	const password, token = "redis-pass-5ecret", "metrics-t0ken-5ecret"
	env := []string{"REDIS_URL=redis://user:" + password + "@127.0.0.1:1/0", "METRICS_TOKEN=" + token}
	for _, args := range [][]string{{"-help"}, {"-log-format", "xml"}, {"-no-such-flag"}} {
		_, stdout, stderr := runBinary(t, env, args...)
		for _, secret := range []string{password, token} {
			if strings.Contains(stdout+stderr, secret) {
				t.Errorf("%v prints a secret from the environment:\n%s%s", args, stdout, stderr)
			}
		}
	}
}

// TestBadSettingsExitNonZero: a bad value from the environment stops the
// server at once with a message naming the setting (a container restarts
// with a clear log line rather than running half configured).
func TestBadSettingsExitNonZero(t *testing.T) {
	for _, tc := range []struct{ env, mention string }{
		{"LOG_FORMAT=xml", "-log-format"},
		{"SHUTDOWN_TIMEOUT=soon", "-shutdown-timeout"},
		{"PUBLIC_URL=ftp://example.org", "-public-url"},
		{"METRICS_ADDR=9090", "-metrics-addr"},
	} {
		t.Run(tc.env, func(t *testing.T) {
			code, _, stderr := runBinary(t, []string{tc.env, "PORT=1"}, "-healthcheck")
			if code == 0 {
				t.Fatalf("exit 0 with %s", tc.env)
			}
			if !strings.Contains(stderr, tc.mention) {
				t.Errorf("error %q does not name %s", stderr, tc.mention)
			}
		})
	}
}
