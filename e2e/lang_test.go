package e2e

import "testing"

// TestAPIErrorsInThePagesLanguage: the pages show the API's error messages
// as they are, so they must be in the language the page is shown in (French
// unless the person switched it), whatever language the browser itself
// asks for. One of the two cases differs from the browser's own language,
// whichever it is.
func TestAPIErrorsInThePagesLanguage(t *testing.T) {
	base := startServer(t)
	browser := newBrowser(t)
	tb := newTab(t, browser, "lang", 412, 915, true)
	tb.navigate(base + "/")
	for _, c := range []struct{ lang, want string }{
		{"fr", "Aucune réunion avec ce code."},
		{"en", "No meeting with that code."},
	} {
		js[bool](tb, `localStorage.setItem('lang', '`+c.lang+`'), true`)
		tb.navigate(base + "/")
		tb.waitFor("the page in "+c.lang, `document.documentElement.lang === '`+c.lang+`'`)
		// The page's own api(), as the join and create forms call it.
		js[bool](tb, `window.__msg = undefined;
			import('/static/render.js')
				.then((m) => m.api('GET', '/api/join/ZZZZZZ'))
				.then(() => { window.__msg = 'no error'; }, (e) => { window.__msg = e.message; });
			true`)
		tb.waitFor("the API's answer", `window.__msg !== undefined`)
		if got := js[string](tb, `window.__msg`); got != c.want {
			tb.fail("page in %s: the API said %q, want %q", c.lang, got, c.want)
		}
	}
}
