package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

const (
	// startTimeout bounds the wait for the server's "listening on" line.
	startTimeout = 30 * time.Second
	// stopTimeout bounds the wait for the server to exit after SIGTERM.
	stopTimeout = 10 * time.Second
	// waitTimeout bounds every wait on a page condition.
	waitTimeout = 20 * time.Second
	// artifactsDir is where screenshots go (relative to this package).
	artifactsDir = "artifacts"
)

// binary is the server built once by TestMain for every test.
type binary struct {
	path string
}

// serverBinary is set once by TestMain before any test runs, then only read.
var serverBinary binary

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "designation-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	root, err := filepath.Abs("..")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: module root:", err)
		return 1
	}
	bin := filepath.Join(dir, "server")
	cmd := exec.Command("go", "build", "-o", bin, "./server")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: go build ./server: %v\n%s", err, out)
		return 1
	}
	serverBinary = binary{path: bin}
	return m.Run()
}

// lockedBuffer collects the server's stderr (its logs) for failure reports.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startServer runs the server binary on a free loopback port with its data
// in a fresh folder and returns its base URL. It is stopped (SIGTERM, then
// SIGKILL) when the test ends.
func startServer(t *testing.T) string {
	t.Helper()
	cmd := exec.Command(serverBinary.path, "-addr", "127.0.0.1:0", "-data", t.TempDir())
	cmd.Env = append(os.Environ(), "PORT=", "DATA_DIR=", "PUBLIC_URL=", "REDIS_URL=")
	logs := &lockedBuffer{}
	cmd.Stderr = logs
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("server stdout: %v", err)
	}
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start server: %v", err)
	}
	exited := make(chan error, 1)
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		found := false
		for sc.Scan() {
			line := sc.Text()
			if i := strings.Index(line, "listening on "); i >= 0 && !found {
				found = true
				urlc <- strings.TrimSpace(line[i+len("listening on "):])
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(stopTimeout):
			_ = cmd.Process.Kill()
			<-exited
			t.Errorf("server did not stop within %s of SIGTERM", stopTimeout)
		}
		if t.Failed() {
			t.Logf("server logs:\n%s", tail(logs.String(), 4000))
		}
	})
	select {
	case u := <-urlc:
		return strings.TrimSuffix(u, "/")
	case err := <-exited:
		t.Fatalf("server exited before listening: %v\n%s", err, logs.String())
	case <-time.After(startTimeout):
		t.Fatalf("server did not print its URL within %s\n%s", startTimeout, logs.String())
	}
	return ""
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// chromiumPath finds Debian's chromium. Without it the test is skipped, or
// fails under CI=true (a skipped browser test proves nothing there).
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed (CI=true: browser tests must run)")
	}
	t.Skip("chromium is not installed")
	return ""
}

// newBrowser starts one headless Chromium for the test and returns its first
// context; tabs are made from it with newTab.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// tab is one page of the scenario, in its own browser context (its own
// cookies and localStorage, like a separate device).
type tab struct {
	t    *testing.T
	name string
	ctx  context.Context

	mu     sync.Mutex
	errors []string // the page's uncaught exceptions and console errors

	close context.CancelFunc // closes the tab early (nil: at the test's end)
}

func newTab(t *testing.T, browser context.Context, name string, width, height int64, mobile bool) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	return setUpTab(t, ctx, name, width, height, mobile)
}

// newTabBeside opens a tab in the same browser context as other (same
// cookies and storage: the same device).
func newTabBeside(t *testing.T, other *tab, name string, width, height int64) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(other.ctx)
	t.Cleanup(cancel)
	tb := setUpTab(t, ctx, name, width, height, false)
	tb.close = cancel
	return tb
}

func setUpTab(t *testing.T, ctx context.Context, name string, width, height int64, mobile bool) *tab {
	t.Helper()
	vp := []chromedp.EmulateViewportOption{}
	if mobile {
		vp = append(vp, chromedp.EmulateMobile, chromedp.EmulateScale(2))
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, height, vp...)); err != nil {
		t.Fatalf("%s: viewport: %v", name, err)
	}
	tb := &tab{t: t, name: name, ctx: ctx}
	// A page that throws is broken even when the scenario got through.
	t.Cleanup(func() {
		if errs := tb.pageErrors(); len(errs) > 0 {
			t.Errorf("%s: the page reported errors:\n%s", name, strings.Join(errs, "\n"))
		}
	})
	exceptions := chromedp.Events(ctx, runtime.ExceptionThrown)
	consoleCalls := chromedp.Events(ctx, runtime.ConsoleAPICalled)
	go func() {
		for ev, err := range exceptions {
			if err != nil {
				return
			}
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil && d.Exception.Description != "" {
				msg = d.Exception.Description
			}
			tb.record(fmt.Sprintf("exception %s:%d: %s", d.URL, d.LineNumber+1, msg))
		}
	}()
	go func() {
		for ev, err := range consoleCalls {
			if err != nil {
				return
			}
			if ev.Type != "error" {
				continue
			}
			var parts []string
			for _, a := range ev.Args {
				if a.Description != "" {
					parts = append(parts, a.Description)
				} else {
					parts = append(parts, string(a.Value))
				}
			}
			tb.record("console.error: " + strings.Join(parts, " "))
		}
	}()
	return tb
}

func (tb *tab) record(msg string) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.errors = append(tb.errors, msg)
}

// pageErrors is what the page reported as errors so far.
func (tb *tab) pageErrors() []string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return append([]string(nil), tb.errors...)
}

// do runs actions with a deadline.
func (tb *tab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, waitTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.fail("%s: %v", what, err)
	}
}

func (tb *tab) navigate(url string) {
	tb.t.Helper()
	tb.do("navigate to "+url, chromedp.Navigate(url))
}

// click clicks the element with the mouse. A live page may replace the
// element between the lookup and the click: that is retried until the
// deadline.
func (tb *tab) click(css string) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, waitTimeout)
	defer cancel()
	for {
		err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(css), chromedp.NodeVisible))
		if err == nil {
			return
		}
		if ctx.Err() != nil || !strings.Contains(err.Error(), "node") {
			tb.fail("click %s: %v", css, err)
		}
		select {
		case <-ctx.Done():
			tb.fail("click %s: %v", css, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// typeInto focuses a field, clears it and types text with key events (so
// the page sees real input events).
func (tb *tab) typeInto(css, text string) {
	tb.t.Helper()
	tb.do("type into "+css,
		chromedp.WaitVisible(chromedp.CSS(css)),
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%s).value = ''`, quote(css))),
		chromedp.SendKeys(chromedp.CSS(css), text))
}

func (tb *tab) setValue(css, value string) {
	tb.t.Helper()
	tb.do("set "+css, chromedp.WaitVisible(chromedp.CSS(css)), chromedp.SetValue(chromedp.CSS(css), value))
}

// js evaluates an expression and decodes its value.
func js[T any](tb *tab, expr string) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, waitTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		tb.fail("evaluate %s: %v", expr, err)
	}
	return v
}

// waitFor polls a JavaScript predicate until it is truthy or the deadline.
func (tb *tab) waitFor(what, expr string) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, waitTimeout+5*time.Second)
	defer cancel()
	deadline := time.Now().Add(waitTimeout)
	for {
		_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr,
			chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(time.Until(deadline))))
		if err == nil {
			return
		}
		// A page that navigates (a phone sent back to the join page)
		// destroys the context the expression ran in: poll again in the
		// new page, within the same deadline.
		if pageNavigated(err) && time.Now().Before(deadline) {
			continue
		}
		tb.fail("waiting for %s (%s): %v", what, expr, err)
	}
}

// pageNavigated tells whether err is an evaluation cut short by the page
// navigating away.
func pageNavigated(err error) bool {
	for _, s := range []string{"Cannot find context with specified id", "Execution context was destroyed", "Inspected target navigated or closed"} {
		if strings.Contains(err.Error(), s) {
			return true
		}
	}
	return false
}

// fail saves a screenshot of the tab and its text, then stops the test.
func (tb *tab) fail(format string, args ...any) {
	tb.t.Helper()
	msg := fmt.Sprintf(format, args...)
	ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
	defer cancel()
	if png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot()); err == nil {
		name := filepath.Join(artifactsDir, "failure-"+tb.name+".png")
		if os.MkdirAll(artifactsDir, 0o755) == nil && os.WriteFile(name, png, 0o644) == nil {
			msg += "\n(screenshot: e2e/" + name + ")"
		}
	}
	if text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ''`)); err == nil {
		msg += "\npage text:\n" + tail(text, 2000)
	}
	if errs := tb.pageErrors(); len(errs) > 0 {
		msg += "\npage errors:\n" + strings.Join(errs, "\n")
	}
	tb.t.Fatalf("%s: %s", tb.name, msg)
}

// screenshot saves the tab's viewport as e2e/artifacts/<file>.
func (tb *tab) screenshot(file string) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, waitTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		tb.fail("screenshot: %v", err)
	}
	if err := os.MkdirAll(artifactsDir, 0o755); err != nil {
		tb.t.Fatalf("artifacts folder: %v", err)
	}
	if err := os.WriteFile(filepath.Join(artifactsDir, file), png, 0o644); err != nil {
		tb.t.Fatalf("save screenshot: %v", err)
	}
}

// setOffline cuts (or restores) the tab's network, as a phone losing its
// signal: every request fails and navigator.onLine follows.
func (tb *tab) setOffline(offline bool) {
	tb.t.Helper()
	tb.setNetwork(offline, "")
}

// blockURL lets the page load but fails every request to urlPattern (a
// URLPattern string), navigator.onLine staying true: a network that serves
// pages but drops the live connection.
func (tb *tab) blockURL(urlPattern string) {
	tb.t.Helper()
	tb.setNetwork(false, urlPattern)
}

func (tb *tab) setNetwork(offline bool, blockPattern string) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, waitTimeout)
	defer cancel()
	err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
			return fmt.Errorf("network.enable: %w", err)
		}
		rules := []*network.Conditions{}
		if offline {
			rules = append(rules, &network.Conditions{Offline: true, DownloadThroughput: -1, UploadThroughput: -1})
		}
		if blockPattern != "" {
			rules = append(rules, &network.Conditions{URLPattern: blockPattern, Offline: true, DownloadThroughput: -1, UploadThroughput: -1})
		}
		if _, err := chromedp.Call(ctx, network.EmulateNetworkConditionsByRule,
			network.EmulateNetworkConditionsByRuleParams{MatchedNetworkConditions: rules}); err != nil {
			return fmt.Errorf("emulate network conditions: %w", err)
		}
		if _, err := chromedp.Call(ctx, network.OverrideNetworkState,
			network.OverrideNetworkStateParams{Offline: offline, DownloadThroughput: -1, UploadThroughput: -1}); err != nil {
			return fmt.Errorf("override network state: %w", err)
		}
		return nil
	}))
	if err != nil {
		tb.fail("set offline=%v: %v", offline, err)
	}
}

// quote makes a Go string a JavaScript string literal.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '\n':
			b.WriteString(`\n`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
