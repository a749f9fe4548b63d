package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/boucle/designation/hub"
)

// newScreenLink asks for a new projector link with the given headers and
// returns the status and the new secret (empty unless 200).
func newScreenLink(t *testing.T, app *testApp, meetingID string, header http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequest("POST", app.url+"/api/meetings/"+meetingID+"/screen-link", nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	var out screenLinkResponse
	resp, err := (&http.Client{CheckRedirect: noRedirect}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, ""
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("screen-link answer: %v", err)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("screen-link answer cacheable: Cache-Control %q", resp.Header.Get("Cache-Control"))
	}
	prefix := app.url + "/s/" + meetingID + "/"
	if !strings.HasPrefix(out.ScreenURL, prefix) || len(out.ScreenURL) <= len(prefix) {
		t.Fatalf("screenUrl %q does not start with %q", out.ScreenURL, prefix)
	}
	return resp.StatusCode, strings.TrimPrefix(out.ScreenURL, prefix)
}

// openScreen follows a projector secret link the way a browser does: the
// link sets the cookie, then the screen connects with that cookie alone.
// It returns the connected client, or nil when the link is refused.
func openScreen(t *testing.T, app *testApp, meetingID, secret string) *wsClient {
	t.Helper()
	resp, _ := app.get("/s/"+meetingID+"/"+secret, nil)
	if resp.StatusCode != http.StatusSeeOther {
		return nil
	}
	var cookie string
	for _, ck := range resp.Cookies() {
		if ck.Name == projectorCookie+meetingID {
			cookie = ck.String()
		}
	}
	if cookie == "" || resp.Header.Get("Location") != "/screen/"+meetingID {
		t.Fatalf("projector link: cookie %q, location %q", cookie, resp.Header.Get("Location"))
	}
	scr := dial(t, app, map[string]any{"meeting": meetingID, "lastSeq": uint64(0)}, http.Header{"Cookie": {projectorCookie + meetingID + "=" + secret}})
	scr.waitFor("projector snapshot", func() bool { return scr.welcome != nil && scr.lastSeq > 0 })
	if scr.welcome["role"] != "projector" {
		t.Fatalf("screen welcomed as %v", scr.welcome["role"])
	}
	return scr
}

// TestScreenLinkReplacesTheProjector: a facilitator (bearer, then cookie)
// asks for a new screen link; the projector open with the old link is
// closed with 4005, the old link, token and cookie no longer open the
// screen, the new link opens a projector that gets its snapshot, the
// participants stay connected, and no secret is logged.
func TestScreenLinkReplacesTheProjector(t *testing.T) {
	app := newTestApp(t, hub.Options{})
	f := setupGroups(t, app, 4, 2)
	phone := f.phone(t, app, f.members[0].ID)
	old := openScreen(t, app, f.m.ID, f.m.ScrSecret)
	if old == nil {
		t.Fatal("the original projector link does not open the screen")
	}

	secrets := []string{f.m.ScrSecret}
	for _, auth := range []struct {
		name   string
		header http.Header
	}{
		{"bearer", http.Header{"Authorization": {"Bearer " + f.m.FacSecret}}},
		{"cookie", http.Header{"Cookie": {facilitatorCookie + f.m.ID + "=" + f.m.FacSecret}}},
	} {
		previous := secrets[len(secrets)-1]
		st, secret := newScreenLink(t, app, f.m.ID, auth.header)
		if st != http.StatusOK {
			t.Fatalf("%s: screen-link %d", auth.name, st)
		}
		for _, s := range secrets {
			if secret == s {
				t.Fatalf("%s: the new secret repeats an old one", auth.name)
			}
		}
		secrets = append(secrets, secret)

		if code := closeCode(old); code != hub.StatusRevoked {
			t.Fatalf("%s: the old projector connection closed with %d, want %d", auth.name, code, hub.StatusRevoked)
		}
		if resp, _ := app.get("/s/"+f.m.ID+"/"+previous, nil); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("%s: the old projector link answers %d", auth.name, resp.StatusCode)
		}
		for what, hello := range map[string]struct {
			fields map[string]any
			header http.Header
		}{
			"token":  {map[string]any{"meeting": f.m.ID, "token": previous, "lastSeq": uint64(0)}, nil},
			"cookie": {map[string]any{"meeting": f.m.ID, "lastSeq": uint64(0)}, http.Header{"Cookie": {projectorCookie + f.m.ID + "=" + previous}}},
		} {
			again := dial(t, app, hello.fields, hello.header)
			if code := closeCode(again); code != hub.StatusUnauthorized || again.welcome != nil {
				t.Fatalf("%s: hello with the old projector %s: close %d, welcome %v", auth.name, what, code, again.welcome)
			}
		}

		old = openScreen(t, app, f.m.ID, secret)
		if old == nil {
			t.Fatalf("%s: the new projector link is refused", auth.name)
		}
		// The new projector follows the meeting live.
		seq := f.fac.mustAck("timer.set", timerIn(time.Minute))
		old.waitSeq(seq)
		phone.waitSeq(seq)
	}

	logged := app.logBuf.String()
	for _, s := range secrets {
		if strings.Contains(logged, s) || strings.Contains(logged, hub.TokenHash(s)) {
			t.Error("a projector secret or its hash is in the log")
		}
	}
}

// TestScreenLinkOnlyForFacilitators: without a secret, with a wrong one,
// with a participant's token, the projector's own secret or another
// meeting's facilitator secret, the request is refused (401/403/404), the
// projector stays connected, its link keeps working and no op is written.
func TestScreenLinkOnlyForFacilitators(t *testing.T) {
	app := newTestApp(t, hub.Options{})
	f := setupGroups(t, app, 4, 2)
	other := app.createMeeting()
	scr := openScreen(t, app, f.m.ID, f.m.ScrSecret)
	if scr == nil {
		t.Fatal("the projector link does not open the screen")
	}
	before := f.fac.seq()
	bearer := func(s string) http.Header { return http.Header{"Authorization": {"Bearer " + s}} }
	for _, tc := range []struct {
		name    string
		meeting string
		header  http.Header
		want    int
	}{
		{"no secret", f.m.ID, nil, http.StatusUnauthorized},
		{"empty bearer", f.m.ID, bearer(""), http.StatusUnauthorized},
		{"wrong secret", f.m.ID, bearer(strings.Repeat("x", len(f.m.FacSecret))), http.StatusUnauthorized},
		{"participant token", f.m.ID, bearer(f.tokens[f.members[0].ID]), http.StatusForbidden},
		{"projector secret", f.m.ID, bearer(f.m.ScrSecret), http.StatusForbidden},
		{"projector cookie", f.m.ID, http.Header{"Cookie": {projectorCookie + f.m.ID + "=" + f.m.ScrSecret}}, http.StatusUnauthorized},
		{"other meeting's secret", f.m.ID, bearer(other.FacSecret), http.StatusUnauthorized},
		{"other meeting's cookie", f.m.ID, http.Header{"Cookie": {facilitatorCookie + other.ID + "=" + other.FacSecret}}, http.StatusUnauthorized},
		{"unknown meeting", "00000000-0000-4000-8000-000000000000", bearer(f.m.FacSecret), http.StatusNotFound},
	} {
		if st, secret := newScreenLink(t, app, tc.meeting, tc.header); st != tc.want || secret != "" {
			t.Errorf("%s: %d, want %d", tc.name, st, tc.want)
		}
	}
	// Nothing was written: the next op takes the next seq, and the projector
	// is still connected to see it.
	if seq := f.fac.mustAck("timer.set", timerIn(30*time.Second)); seq != before+1 {
		t.Fatalf("refused requests wrote ops: next seq %d, want %d", seq, before+1)
	}
	scr.waitSeq(before + 1)
	if again := openScreen(t, app, f.m.ID, f.m.ScrSecret); again == nil {
		t.Fatal("the projector link stopped working after refused requests")
	}
}

// TestScreenLinkRefusedAfterPurge: once the meeting is purged the domain
// refuses new tokens, so the request is refused (410) before revoking
// anything: the projector is not left without a screen.
func TestScreenLinkRefusedAfterPurge(t *testing.T) {
	app := newTestApp(t, hub.Options{})
	f := setupGroups(t, app, 4, 2)
	purged := f.fac.mustAck("meeting.purge", map[string]any{})
	if st, _ := newScreenLink(t, app, f.m.ID, http.Header{"Authorization": {"Bearer " + f.m.FacSecret}}); st != http.StatusGone {
		t.Fatalf("screen-link after purge: %d, want %d", st, http.StatusGone)
	}
	if seq := f.fac.mustAck("timer.set", timerIn(30*time.Second)); seq != purged+1 {
		t.Fatalf("the refused request wrote ops: next seq %d, want %d", seq, purged+1)
	}
}

// timerIn is a timer.set payload ending d from now: an op any facilitator
// may send at any step, used to see who follows the meeting live.
func timerIn(d time.Duration) map[string]any {
	return map[string]any{"timerEnd": time.Now().Add(d).UTC().Format(time.RFC3339)}
}
