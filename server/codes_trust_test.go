package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/boucle/designation/hub"
)

// clientFrom is an HTTP client whose connections come from a given
// loopback address, as a distinct phone (or attacker) would.
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
	}}
}

func codeStatus(t *testing.T, c *http.Client, url string, header http.Header) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestGuessingCodesIsThrottledWithoutAnOracle: an IP that tried a few
// unknown join codes is answered 429 for every code, the live one included
// (so a 404/200 difference cannot reveal a meeting), while another IP
// joins at once; a person who mistypes a code a few times is not hindered.
func TestGuessingCodesIsThrottledWithoutAnOracle(t *testing.T) {
	app := newTestApp(t, hub.Options{})
	m := app.createMeeting()
	guesser, phone := clientFrom("127.0.0.2"), clientFrom("127.0.0.3")

	for i := range 3 { // a few typos
		if got := codeStatus(t, phone, fmt.Sprintf("%s/api/join/TYPO%02d", app.url, i), nil); got != http.StatusNotFound {
			t.Fatalf("typo %d: status %d, want 404", i, got)
		}
	}
	if got := codeStatus(t, phone, app.url+"/api/join/"+m.JoinCode, nil); got != http.StatusOK {
		t.Fatalf("the right code after typos: status %d, want 200", got)
	}

	misses := 0
	for i := range 100 {
		got := codeStatus(t, guesser, fmt.Sprintf("%s/api/join/GUES%02d", app.url, i), nil)
		if got == http.StatusTooManyRequests {
			break
		}
		if got != http.StatusNotFound {
			t.Fatalf("guess %d: status %d", i, got)
		}
		misses++
	}
	if misses > 10 {
		t.Fatalf("%d unknown codes answered before throttling, want at most 10", misses)
	}
	for _, path := range []string{"/api/join/" + m.JoinCode, "/api/join/" + m.JoinCode + "/members?q=al"} {
		if got := codeStatus(t, guesser, app.url+path, nil); got != http.StatusTooManyRequests {
			t.Fatalf("throttled guesser asking %s: status %d, want 429 like any code", path, got)
		}
	}
	if got := codeStatus(t, phone, app.url+"/api/join/"+m.JoinCode, nil); got != http.StatusOK {
		t.Fatalf("another phone meanwhile: status %d, want 200", got)
	}
}

// TestTrustedProxiesNameTheClient: behind a listed proxy, each client's
// X-Forwarded-For address has its own bucket; from an unlisted peer the
// header is ignored (a client cannot pick its own bucket).
func TestTrustedProxiesNameTheClient(t *testing.T) {
	app := newTestApp(t, hub.Options{})
	m := app.createMeeting()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	behind := httptest.NewServer(NewServer(Config{PublicURL: app.url, TrustedProxies: "127.0.0.4"}, app.hub, app.log, nil, quiet, nil))
	defer behind.Close()
	proxy, other := clientFrom("127.0.0.4"), clientFrom("127.0.0.5")

	spend := func(c *http.Client, forwarded string) {
		t.Helper()
		h := http.Header{"X-Forwarded-For": {forwarded}}
		for i := range 100 {
			if codeStatus(t, c, fmt.Sprintf("%s/api/join/NOPE%02d", behind.URL, i), h) == http.StatusTooManyRequests {
				return
			}
		}
		t.Fatal("never throttled")
	}
	spend(proxy, "198.51.100.7")
	if got := codeStatus(t, proxy, behind.URL+"/api/join/"+m.JoinCode, http.Header{"X-Forwarded-For": {"198.51.100.8"}}); got != http.StatusOK {
		t.Fatalf("another client behind the proxy: status %d, want 200", got)
	}
	spend(other, "198.51.100.9")
	if got := codeStatus(t, other, behind.URL+"/api/join/"+m.JoinCode, http.Header{"X-Forwarded-For": {"198.51.100.10"}}); got != http.StatusTooManyRequests {
		t.Fatalf("an unlisted peer changing its X-Forwarded-For: status %d, want 429 (its own bucket)", got)
	}
}
