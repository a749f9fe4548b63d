package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/boucle/designation/hub"
)

// closeCode waits for the client's connection to end and returns its close code.
func closeCode(c *wsClient) websocket.StatusCode {
	c.waitFor("close", func() bool { return c.closed != nil })
	return websocket.CloseStatus(c.closed)
}

// refusalOf sends an op and waits for its refusal code (failing on an ack).
func refusalOf(t *testing.T, c *wsClient, typ string, payload any) string {
	t.Helper()
	id := c.op(typ, payload)
	var code string
	c.waitFor("answer to "+typ, func() bool {
		if seq, ok := c.acks[id]; ok {
			t.Fatalf("%s acked at seq %d: it must be refused", typ, seq)
		}
		code = c.refusals[id]
		return code != ""
	})
	return code
}

// TestRolesAreCheckedOnTheServer sends, over real WebSockets, every kind of
// op a role must not send, whatever a modified browser would send: a
// participant editing another group, configuring, deciding or purging; a
// projector writing anything. Each is refused with not_allowed and the
// meeting's seq does not move.
func TestRolesAreCheckedOnTheServer(t *testing.T) {
	app := newTestApp(t, hub.Options{})
	f := setupGroups(t, app, 14, 2)
	if len(f.groups) < 2 {
		t.Fatalf("want 2 groups, got %d", len(f.groups))
	}
	mine := f.byGroup[f.groups[0]][0]
	other := f.groups[1]
	p := f.phone(t, app, mine)
	scr := dial(t, app, map[string]any{"meeting": f.m.ID, "token": f.m.ScrSecret, "lastSeq": uint64(0)}, nil)
	scr.waitFor("projector snapshot", func() bool { return scr.lastSeq > 0 })
	before := f.fac.seq()

	quality := map[string]any{"groupId": other, "binome": f.binome, "quality": map[string]any{"text": "intrus"}}
	for _, tc := range []struct {
		who     string
		c       *wsClient
		op      string
		payload any
	}{
		{"participant", p, "quality.add", quality},
		{"participant", p, "group.rapporteur", map[string]any{"groupId": other, "memberId": mine}},
		{"participant", p, "group.move", map[string]any{"memberId": mine, "groupId": other}},
		{"participant", p, "step.set", map[string]any{"step": "VI"}},
		{"participant", p, "meeting.update", map[string]any{"info": map[string]any{"title": "piraté"}}},
		{"participant", p, "member.add", map[string]any{"member": map[string]any{"name": "Intrus"}}},
		{"participant", p, "member.checkout", map[string]any{"memberId": f.byGroup[other][0]}},
		{"participant", p, "token.revoke", map[string]any{"projector": true}},
		{"participant", p, "rapporteur.set", map[string]any{"memberId": mine}},
		{"participant", p, "decision.set", map[string]any{"decision": map[string]any{"binome": f.binome, "outcome": "none"}}},
		{"participant", p, "meeting.purge", map[string]any{}},
		{"participant", p, "bilan.set", map[string]any{"binome": f.binome, "text": "x"}},
		{"participant", p, "token.issue", map[string]any{"hash": strings.Repeat("a", 64), "role": "facilitator"}},
		{"projector", scr, "quality.add", map[string]any{"groupId": f.groups[0], "binome": f.binome, "quality": map[string]any{"text": "x"}}},
		{"projector", scr, "step.set", map[string]any{"step": "VI"}},
		{"projector", scr, "member.checkout", map[string]any{"memberId": mine}},
		{"projector", scr, "meeting.purge", map[string]any{}},
	} {
		if code := refusalOf(t, tc.c, tc.op, tc.payload); code != "not_allowed" {
			t.Errorf("%s %s: refused %q, want not_allowed", tc.who, tc.op, code)
		}
	}
	// The one thing the participant may do here still works, so the refusals
	// above are about the role, not a broken fixture.
	own := map[string]any{"groupId": f.groups[0], "binome": f.binome, "quality": map[string]any{"text": "Écoute"}}
	seq := p.mustAck("quality.add", own)
	if seq != before+1 {
		t.Fatalf("the refused ops moved the log: own op at seq %d after %d", seq, before)
	}
}

// TestReadsAreCheckedOnTheServer: the reports, the attendance sheet and the
// import answer only the facilitator (and the reports the rapporteur); a
// participant or the projector gets 403, a secret of another meeting 401.
func TestReadsAreCheckedOnTheServer(t *testing.T) {
	app := newTestApp(t, hub.Options{})
	m := app.createMeeting()
	other := app.createMeeting()
	members := app.importMembers(m, memberCSV(3, 1))
	tokens := app.joinAll(m, members)
	participant := tokens[members[0].ID]

	paths := []string{"/report.txt", "/report.csv", "/report.json", "/attendance"}
	for _, p := range paths {
		for _, tc := range []struct {
			who    string
			bearer string
			want   int
		}{
			{"nobody", "", http.StatusUnauthorized},
			{"participant", participant, http.StatusForbidden},
			{"projector", m.ScrSecret, http.StatusForbidden},
			{"another meeting's facilitator", other.FacSecret, http.StatusUnauthorized},
			{"a guess", "x" + m.FacSecret[1:], http.StatusUnauthorized},
			{"facilitator", m.FacSecret, http.StatusOK},
		} {
			h := http.Header{}
			if tc.bearer != "" {
				h.Set("Authorization", "Bearer "+tc.bearer)
			}
			resp, body := app.get("/api/meetings/"+m.ID+p, h)
			if resp.StatusCode != tc.want {
				t.Errorf("%s by %s: %d, want %d", p, tc.who, resp.StatusCode, tc.want)
			}
			if tc.want != http.StatusOK && strings.Contains(body, plantedEmailDomain) {
				t.Errorf("%s by %s: contact details in the refusal", p, tc.who)
			}
		}
	}
	// Another meeting's cookie does not open this one.
	h := http.Header{"Cookie": {facilitatorCookie + other.ID + "=" + other.FacSecret}}
	if resp, _ := app.get("/api/meetings/"+m.ID+"/report.json", h); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("report with another meeting's cookie: %d", resp.StatusCode)
	}
	// A participant cannot import a list.
	for _, bearer := range []string{participant, m.ScrSecret} {
		st := app.do("POST", "/api/meetings/"+m.ID+"/members/import", bearer, "text/csv", strings.NewReader(memberCSV(2, 1)), nil)
		if st != http.StatusForbidden {
			t.Errorf("import by a non-facilitator: %d", st)
		}
	}
}

// TestTokenOpensOnlyItsMeeting: a participant token, the facilitator's and
// the projector's secret are refused (4001) on another meeting's socket,
// and so is the cookie of another meeting.
func TestTokenOpensOnlyItsMeeting(t *testing.T) {
	app := newTestApp(t, hub.Options{})
	a, b := app.createMeeting(), app.createMeeting()
	members := app.importMembers(a, memberCSV(2, 1))
	tokens := app.joinAll(a, members)
	for name, secret := range map[string]string{
		"participant": tokens[members[0].ID], "facilitator": a.FacSecret, "projector": a.ScrSecret,
	} {
		c := dial(t, app, map[string]any{"meeting": b.ID, "token": secret, "lastSeq": uint64(0)}, nil)
		if code := closeCode(c); code != hub.StatusUnauthorized {
			t.Errorf("%s token of A on B: close %d", name, code)
		}
		if c.welcome != nil {
			t.Errorf("%s token of A on B was welcomed", name)
		}
	}
	cookie := http.Header{"Cookie": {facilitatorCookie + a.ID + "=" + a.FacSecret}}
	c := dial(t, app, map[string]any{"meeting": b.ID, "lastSeq": uint64(0)}, cookie)
	if code := closeCode(c); code != hub.StatusUnauthorized {
		t.Errorf("A's cookie on B: close %d", code)
	}
}

// TestHandshakeNeedsASecret: a handshake without Origin (a script, not a
// browser) and without token or cookie is refused; another site's Origin
// is refused before the upgrade, even with a valid token.
func TestHandshakeNeedsASecret(t *testing.T) {
	app := newTestApp(t, hub.Options{})
	m := app.createMeeting()
	c := dial(t, app, map[string]any{"meeting": m.ID, "lastSeq": uint64(0)}, nil)
	if code := closeCode(c); code != hub.StatusUnauthorized || c.welcome != nil {
		t.Fatalf("no origin, no secret: close %d, welcome %v", code, c.welcome)
	}
	u := strings.Replace(app.url, "http://", "ws://", 1) + "/ws"
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, origin := range []string{"https://evil.example", "null", "http://" + "127.0.0.2:1", app.url + ".evil.example"} {
		h := http.Header{"Origin": {origin}, "Cookie": {facilitatorCookie + m.ID + "=" + m.FacSecret}}
		conn, resp, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: h})
		if err == nil {
			conn.CloseNow()
			t.Errorf("origin %q: upgraded", origin)
			continue
		}
		if resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("origin %q: %v", origin, err)
		}
	}
}

// TestRevokingClosesAndRefuses: revoking a participant's token or the
// projector's closes their live connection (4005) and refuses the next
// handshake and the projector's secret link.
func TestRevokingClosesAndRefuses(t *testing.T) {
	app := newTestApp(t, hub.Options{})
	f := setupGroups(t, app, 4, 2)
	mid := f.members[1].ID
	p := f.phone(t, app, mid)
	scr := dial(t, app, map[string]any{"meeting": f.m.ID, "token": f.m.ScrSecret, "lastSeq": uint64(0)}, nil)
	scr.waitFor("projector snapshot", func() bool { return scr.lastSeq > 0 })

	f.fac.mustAck("token.revoke", map[string]any{"memberId": mid})
	if code := closeCode(p); code != hub.StatusRevoked {
		t.Fatalf("participant after revoke: close %d", code)
	}
	again := dial(t, app, map[string]any{"meeting": f.m.ID, "token": f.tokens[mid], "lastSeq": uint64(0)}, nil)
	if code := closeCode(again); code != hub.StatusUnauthorized || again.welcome != nil {
		t.Fatalf("revoked participant reconnecting: close %d", code)
	}

	f.fac.mustAck("token.revoke", map[string]any{"projector": true})
	if code := closeCode(scr); code != hub.StatusRevoked {
		t.Fatalf("projector after revoke: close %d", code)
	}
	again = dial(t, app, map[string]any{"meeting": f.m.ID, "token": f.m.ScrSecret, "lastSeq": uint64(0)}, nil)
	if code := closeCode(again); code != hub.StatusUnauthorized {
		t.Fatalf("revoked projector reconnecting: close %d", code)
	}
	cookie := http.Header{"Cookie": {projectorCookie + f.m.ID + "=" + f.m.ScrSecret}}
	again = dial(t, app, map[string]any{"meeting": f.m.ID, "lastSeq": uint64(0)}, cookie)
	if code := closeCode(again); code != hub.StatusUnauthorized {
		t.Fatalf("revoked projector cookie: close %d", code)
	}
	if resp, _ := app.get("/s/"+f.m.ID+"/"+f.m.ScrSecret, nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("revoked projector link: %d", resp.StatusCode)
	}
	// The others are untouched.
	f.fac.mustAck("step.set", map[string]any{"step": "V"})
}

// TestSecurityHeadersEverywhere: every kind of response (page, asset,
// API, error, 404, secret link, probe) carries the protective headers.
func TestSecurityHeadersEverywhere(t *testing.T) {
	app := newTestApp(t, hub.Options{})
	m := app.createMeeting()
	for _, p := range []string{
		"/", "/join/ABCDEF", "/m/" + m.ID, "/console/" + m.ID, "/screen/" + m.ID, "/static/style.css",
		"/api/join/" + m.JoinCode, "/api/join/ZZZZZZ", "/api/meetings/" + m.ID + "/report.txt",
		"/a/" + m.ID + "/wrong", "/s/" + m.ID + "/" + m.ScrSecret, "/nope", "/healthz", "/ws",
		"/api/meetings/" + m.ID + "/qr.svg",
	} {
		resp, _ := app.get(p, nil)
		h := resp.Header
		if h.Get("Content-Security-Policy") != contentSecurityPolicy || h.Get("X-Content-Type-Options") != "nosniff" ||
			h.Get("Referrer-Policy") != "no-referrer" || h.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s (%d): headers %v", p, resp.StatusCode, h)
		}
		if strings.HasPrefix(p, "/api/") && !strings.HasSuffix(p, "qr.svg") && h.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: Cache-Control %q", p, h.Get("Cache-Control"))
		}
	}
}

// TestNoSecretOrPersonalDataInTheLog runs a meeting (create, import,
// joins, edits, refusals, revocations, reports, a bad link) and then
// searches the server's whole log for every secret, token, name, e-mail
// and phone.
func TestNoSecretOrPersonalDataInTheLog(t *testing.T) {
	app := newTestApp(t, hub.Options{})
	f := setupGroups(t, app, 6, 2)
	mid := f.byGroup[f.groups[0]][0]
	p := f.phone(t, app, mid)
	p.mustAck("quality.add", map[string]any{"groupId": f.groups[0], "binome": f.binome, "quality": map[string]any{"text": "Écoute"}})
	refusalOf(t, p, "step.set", map[string]any{"step": "I"})
	app.get("/a/"+f.m.ID+"/"+f.m.FacSecret, nil)
	app.get("/a/"+f.m.ID+"/"+f.m.ScrSecret, nil)
	app.get("/api/join/"+f.m.JoinCode+"/members?q=membre01", nil)
	app.get("/api/meetings/"+f.m.ID+"/report.csv", http.Header{"Authorization": {"Bearer " + f.m.FacSecret}})
	app.get("/api/meetings/"+f.m.ID+"/report.csv", http.Header{"Authorization": {"Bearer " + f.tokens[mid]}})
	f.fac.mustAck("token.revoke", map[string]any{"memberId": mid})
	closeCode(p)
	// A bad hello carrying a token.
	bad := dial(t, app, map[string]any{"meeting": f.m.ID, "token": f.tokens[mid], "lastSeq": -1}, nil)
	closeCode(bad)

	logged := app.logBuf.String()
	if !strings.Contains(logged, "websocket") {
		t.Fatal("the log capture is empty: the test would prove nothing")
	}
	secrets := []string{f.m.FacSecret, f.m.ScrSecret}
	for _, tok := range f.tokens {
		secrets = append(secrets, tok, hub.TokenHash(tok))
	}
	for _, s := range secrets {
		if strings.Contains(logged, s) {
			t.Errorf("a secret or token hash is in the log")
		}
	}
	for _, mem := range f.members {
		for _, s := range []string{mem.Name, mem.Email, mem.Phone, strings.Fields(mem.Name)[0]} {
			if s != "" && strings.Contains(strings.ToLower(logged), strings.ToLower(s)) {
				t.Errorf("personal data %q is in the log", s)
			}
		}
	}
	for _, s := range []string{plantedEmailDomain, plantedPhonePrefix, "Écoute", "membre01"} {
		if strings.Contains(logged, s) {
			t.Errorf("%q is in the log", s)
		}
	}
}

// TestRedactedFramesNeverCarryContacts: every raw frame a projector and a
// participant receive through a meeting (snapshot, changes, presence,
// refusals, errors, the close) is free of the planted e-mails and phones.
func TestRedactedFramesNeverCarryContacts(t *testing.T) {
	app := newTestApp(t, hub.Options{})
	f := setupGroups(t, app, 6, 2)
	mid := f.byGroup[f.groups[0]][0]
	p := f.phone(t, app, mid)
	scr := dial(t, app, map[string]any{"meeting": f.m.ID, "token": f.m.ScrSecret, "lastSeq": uint64(0)}, nil)
	scr.waitFor("projector snapshot", func() bool { return scr.lastSeq > 0 })
	// Contact changes, a new member with contacts, a refusal naming a member.
	f.fac.mustAck("member.update", map[string]any{"member": map[string]any{
		"id": f.members[2].ID, "name": f.members[2].Name, "email": "nouveau@" + plantedEmailDomain, "phone": plantedPhonePrefix + " 77 66"}})
	f.fac.mustAck("member.add", map[string]any{"member": map[string]any{
		"name": "Nouvelle Personne", "email": "nouvelle@" + plantedEmailDomain, "phone": plantedPhonePrefix + " 55 44"}})
	f.fac.mustAck("member.checkin", map[string]any{"memberId": f.members[3].ID, "remote": true})
	refusalOf(t, p, "member.update", map[string]any{"member": map[string]any{"id": mid, "name": "x", "email": "x@" + plantedEmailDomain}})
	p.mustAck("quality.add", map[string]any{"groupId": f.groups[0], "binome": f.binome, "quality": map[string]any{"text": "Écoute"}})
	last := f.fac.seq()
	p.waitSeq(last)
	scr.waitSeq(last)
	p.waitFor("presence", func() bool { return p.presence != nil })
	// A reconnect gets a fresh snapshot: check that one too.
	p2 := f.phone(t, app, mid)
	p2.waitSeq(last)

	for name, c := range map[string]*wsClient{"participant": p, "projector": scr, "participant snapshot": p2} {
		frames := c.rawFrames()
		if len(frames) < 2 {
			t.Fatalf("%s got only %d frames", name, len(frames))
		}
		for _, fr := range frames {
			s := string(fr)
			if strings.Contains(s, plantedEmailDomain) || strings.Contains(s, plantedPhonePrefix) || strings.Contains(s, "\"email\"") || strings.Contains(s, "\"phone\"") {
				t.Fatalf("%s received contact details: %.300s", name, s)
			}
		}
	}
	// The facilitator does get them (the planted markers are real).
	var found bool
	for _, fr := range f.fac.rawFrames() {
		found = found || strings.Contains(string(fr), plantedEmailDomain)
	}
	if !found {
		t.Fatal("the facilitator never saw the planted contacts: the check proves nothing")
	}
}

// TestJoinByCodeIsBounded: a join code alone gives names and action groups
// only, never contacts, at most 8 per search, and both the code lookup and
// the search are rate-limited per client so codes cannot be guessed nor
// lists scraped quickly.
func TestJoinByCodeIsBounded(t *testing.T) {
	app := newTestApp(t, hub.Options{})
	m := app.createMeeting()
	app.importMembers(m, memberCSV(30, 3))
	resp, body := app.get("/api/join/"+m.JoinCode+"/members?q=me", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("search: %d %s", resp.StatusCode, body)
	}
	var found struct {
		Members []map[string]any `json:"members"`
	}
	if err := json.Unmarshal([]byte(body), &found); err != nil {
		t.Fatal(err)
	}
	if len(found.Members) != maxMatches {
		t.Fatalf("search gave %d members, want at most %d", len(found.Members), maxMatches)
	}
	for _, mm := range found.Members {
		if len(mm) != 3 || mm["memberId"] == nil || mm["name"] == nil || mm["actionGroup"] == nil {
			t.Fatalf("search result fields: %v", mm)
		}
	}
	if strings.Contains(body, plantedEmailDomain) || strings.Contains(body, plantedPhonePrefix) {
		t.Fatal("search revealed contacts")
	}
	for _, q := range []string{"", "m", "%20m%20", strings.Repeat("a", 101)} {
		if resp, _ := app.get("/api/join/"+m.JoinCode+"/members?q="+q, nil); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("q=%q: %d", q, resp.StatusCode)
		}
	}
	resp, body = app.get("/api/join/"+m.JoinCode, nil)
	if strings.Contains(body, "Alice") || strings.Contains(body, "joinCode") || strings.Contains(body, "place") {
		t.Fatalf("join info says too much: %s", body)
	}
	if !rateLimitedAfter(app, "/api/join/"+m.JoinCode+"/members?q=membre%02d") {
		t.Error("member search is not rate-limited")
	}
}

// rateLimitedAfter says whether up to 1000 requests to path (with %d the
// request's number) end in a 429 with Retry-After.
func rateLimitedAfter(app *testApp, path string) bool {
	for i := range 1000 {
		resp, _ := app.get(fmt.Sprintf(path, i), nil)
		if resp.StatusCode == http.StatusTooManyRequests {
			return resp.Header.Get("Retry-After") != ""
		}
	}
	return false
}

// TestCookiesAreSecureBehindHTTPS: with an https public URL, the secret
// links' cookies are Secure (and HttpOnly, SameSite=Strict, for this
// meeting only) and every answer asks for HTTPS from then on.
func TestCookiesAreSecureBehindHTTPS(t *testing.T) {
	app := newTestApp(t, hub.Options{})
	m := app.createMeeting()
	secure := httptest.NewServer(NewServer(Config{PublicURL: "https://designation.example.org"}, app.hub, app.log, nil, slog.New(slog.NewTextHandler(io.Discard, nil)), nil))
	defer secure.Close()
	client := &http.Client{CheckRedirect: noRedirect}
	for _, link := range []struct{ path, cookie, location string }{
		{"/a/" + m.ID + "/" + m.FacSecret, facilitatorCookie + m.ID, "/console/" + m.ID},
		{"/s/" + m.ID + "/" + m.ScrSecret, projectorCookie + m.ID, "/screen/" + m.ID},
	} {
		resp, err := client.Get(secure.URL + link.path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != link.location {
			t.Fatalf("%s: %d to %q", link.cookie, resp.StatusCode, resp.Header.Get("Location"))
		}
		cookies := resp.Cookies()
		if len(cookies) != 1 {
			t.Fatalf("%s: %d cookies", link.cookie, len(cookies))
		}
		c := cookies[0]
		if c.Name != link.cookie || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Domain != "" {
			t.Fatalf("cookie %+v", c)
		}
		if !strings.HasPrefix(resp.Header.Get("Strict-Transport-Security"), "max-age=") {
			t.Fatalf("no HSTS behind https: %v", resp.Header)
		}
	}
}
