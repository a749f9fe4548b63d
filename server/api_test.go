package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/coder/websocket"

	"github.com/boucle/designation/hub"
	"github.com/boucle/designation/store/bolt"
)

func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

func (a *testApp) get(path string, header http.Header) (*http.Response, string) {
	a.t.Helper()
	req, _ := http.NewRequest("GET", a.url+path, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := (&http.Client{CheckRedirect: noRedirect}).Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestProbesAndHeaders(t *testing.T) {
	app := newTestApp(t, hub.Options{})
	for _, p := range []string{"/healthz", "/readyz"} {
		resp, _ := app.get(p, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", p, resp.StatusCode)
		}
		if resp.Header.Get("Content-Security-Policy") != contentSecurityPolicy {
			t.Fatalf("%s: CSP %q", p, resp.Header.Get("Content-Security-Policy"))
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Referrer-Policy") != "no-referrer" {
			t.Fatalf("%s: security headers missing: %v", p, resp.Header)
		}
	}
	// Without the browser app built in, pages answer 503 (and never 500).
	if resp, _ := app.get("/", nil); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("/ without pages: %d", resp.StatusCode)
	}
}

func TestReadyzFailsWhenTheStoreIsDown(t *testing.T) {
	oplog, err := bolt.Open(filepath.Join(t.TempDir(), "d.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h, err := hub.New(context.Background(), oplog, hub.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	oplog.Close()
	srv := httptest.NewServer(NewServer(Config{PublicURL: "http://x"}, h, oplog, nil, slog.New(slog.NewTextHandler(io.Discard, nil)), nil))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("readyz with a closed store: %d", resp.StatusCode)
	}
}

func TestPagesAreServed(t *testing.T) {
	oplog, err := bolt.Open(filepath.Join(t.TempDir(), "d.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer oplog.Close()
	h, err := hub.New(context.Background(), oplog, hub.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	pages := fstest.MapFS{
		"index.html":   {Data: []byte("<p>index</p>")},
		"phone.html":   {Data: []byte("<p>phone</p>")},
		"console.html": {Data: []byte("<p>console</p>")},
		"screen.html":  {Data: []byte("<p>screen</p>")},
		"sync.js":      {Data: []byte("export {}")},
	}
	srv := httptest.NewServer(NewServer(Config{PublicURL: "http://x"}, h, oplog, pages, slog.New(slog.NewTextHandler(io.Discard, nil)), nil))
	defer srv.Close()
	for path, want := range map[string]string{
		"/": "index", "/join/ABCDEF": "phone", "/m/some-id": "phone", "/console/x": "console", "/screen/x": "screen",
		"/static/sync.js": "export",
	} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), want) {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, b)
		}
		if strings.HasSuffix(path, ".js") && !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") {
			t.Fatalf("%s: content type %s", path, resp.Header.Get("Content-Type"))
		}
	}
	resp, err := http.Get(srv.URL + "/static/nope.js")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("missing asset: %d", resp.StatusCode)
	}
}

func TestCreateJoinAndSearch(t *testing.T) {
	app := newTestApp(t, hub.Options{})
	m := app.createMeeting()
	if !regexp.MustCompile(`^[A-HJ-NP-Z]{6}$`).MatchString(m.JoinCode) {
		t.Fatalf("join code %q", m.JoinCode)
	}
	if len(m.FacSecret) < 22 || len(m.ScrSecret) < 22 || m.FacSecret == m.ScrSecret {
		t.Fatalf("secrets too short or equal")
	}
	// Bad bodies are refused and change nothing.
	if st := app.postJSON("/api/meetings", "", map[string]any{"title": "x", "bogus": 1}, nil); st != http.StatusBadRequest {
		t.Fatalf("unknown field: %d", st)
	}

	csv := "Nom;Groupe d'action;Date de certification;E-mail;Téléphone\n" +
		"Élodie Martin;GA Nord;01/02/2025;elodie@" + plantedEmailDomain + ";0611223344\n" +
		"Eloïse Bernard;GA Sud;;;\n" +
		"Jean Dupont;GA Sud;;;\n"
	members := app.importMembers(m, csv)

	var info joinInfoResponse
	if st := app.do("GET", "/api/join/"+strings.ToLower(m.JoinCode), "", "", nil, &info); st != 200 || info.MeetingID != m.ID || info.Title != "Boucle test" {
		t.Fatalf("join info: %d %+v", st, info)
	}
	if st := app.do("GET", "/api/join/ZZZZZZ", "", "", nil, nil); st != 404 {
		t.Fatalf("unknown code: %d", st)
	}
	var found struct {
		Members []memberMatch `json:"members"`
	}
	if st := app.do("GET", "/api/join/"+m.JoinCode+"/members?q=ELO", "", "", nil, &found); st != 200 || len(found.Members) != 2 {
		t.Fatalf("search ELO: %d %+v", st, found)
	}
	for _, f := range found.Members {
		if f.ActionGroup == "" || f.MemberID == "" {
			t.Fatalf("match without group or id: %+v", f)
		}
	}
	if st := app.do("GET", "/api/join/"+m.JoinCode+"/members?q=e", "", "", nil, nil); st != 400 {
		t.Fatalf("one letter: %d", st)
	}
	resp, body := app.get("/api/join/"+m.JoinCode+"/members?q=mar", nil)
	if resp.StatusCode != 200 || strings.Contains(body, plantedEmailDomain) || strings.Contains(body, "0611") {
		t.Fatalf("search leaks contacts: %s", body)
	}

	var joined struct {
		Token    string `json:"token"`
		MemberID string `json:"memberId"`
	}
	if st := app.postJSON("/api/meetings/"+m.ID+"/join", "", map[string]any{"memberId": members[1].ID, "remote": true}, &joined); st != 200 || joined.Token == "" {
		t.Fatalf("join: %d", st)
	}
	if st := app.postJSON("/api/meetings/"+m.ID+"/join", "", map[string]any{"memberId": "nobody"}, nil); st != 404 {
		t.Fatalf("join unknown member: %d", st)
	}
	// The participant's token opens the meeting as that member.
	p := dial(t, app, map[string]any{"meeting": m.ID, "token": joined.Token, "lastSeq": uint64(0)}, nil)
	p.waitFor("welcome", func() bool { return p.welcome != nil })
	if p.welcome["memberId"] != members[1].ID || p.welcome["role"] != "participant" {
		t.Fatalf("welcome %v", p.welcome)
	}
	// A participant may not import members.
	if st := app.do("POST", "/api/meetings/"+m.ID+"/members/import", joined.Token, "text/csv", strings.NewReader(csv), nil); st != http.StatusForbidden {
		t.Fatalf("participant import: %d", st)
	}
}

func TestImportDryRunAndErrors(t *testing.T) {
	app := newTestApp(t, hub.Options{})
	m := app.createMeeting()
	bad := "Nom;Email\nA B;pas-un-mail\nC D;c@d.fr\n"
	var resp importResponse
	if st := app.do("POST", "/api/meetings/"+m.ID+"/members/import", m.FacSecret, "text/csv", strings.NewReader(bad), &resp); st != http.StatusUnprocessableEntity {
		t.Fatalf("import with errors: %d", st)
	}
	if resp.Applied || len(resp.Errors) != 1 || resp.Errors[0].Line != 2 {
		t.Fatalf("errors: %+v", resp)
	}
	good := "Nom;Groupe\nA B;G1\nC D;G2\n"
	if st := app.do("POST", "/api/meetings/"+m.ID+"/members/import?dryRun=1", m.FacSecret, "text/csv", strings.NewReader(good), &resp); st != 200 || resp.Applied || len(resp.Members) != 2 || len(resp.ActionGroups) != 2 {
		t.Fatalf("dry run: %d %+v", st, resp)
	}
	fac := dial(t, app, map[string]any{"meeting": m.ID, "token": m.FacSecret, "lastSeq": uint64(0)}, nil)
	fac.waitFor("snapshot", func() bool { return fac.lastSeq > 0 })
	if n := len(fac.ids("members")); n != 0 {
		t.Fatalf("a refused import or a dry run changed the members: %d", n)
	}
	if st := app.do("POST", "/api/meetings/"+m.ID+"/members/import", "", "text/csv", strings.NewReader(good), nil); st != http.StatusUnauthorized {
		t.Fatalf("import without a secret: %d", st)
	}
	// Importing the same file twice keeps one member per line.
	for range 2 {
		if st := app.do("POST", "/api/meetings/"+m.ID+"/members/import", m.FacSecret, "text/csv", strings.NewReader(good), &resp); st != 200 || !resp.Applied {
			t.Fatalf("import: %d %+v", st, resp)
		}
	}
	fac.waitSeq(resp.Seq)
	if n := len(fac.ids("members")); n != 2 {
		t.Fatalf("importing twice made %d members", n)
	}
}

func TestSecretLinksSetCookies(t *testing.T) {
	app := newTestApp(t, hub.Options{})
	m := app.createMeeting()
	resp, _ := app.get("/a/"+m.ID+"/"+m.FacSecret, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/"+m.ID {
		t.Fatalf("admin link: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	var fac *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == facilitatorCookie+m.ID {
			fac = c
		}
	}
	if fac == nil || !fac.HttpOnly || fac.SameSite != http.SameSiteStrictMode || fac.Path != "/" || fac.Value != m.FacSecret {
		t.Fatalf("facilitator cookie: %+v", fac)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatal("secret link response may be cached")
	}
	// The projector's secret does not open the console.
	if resp, _ := app.get("/a/"+m.ID+"/"+m.ScrSecret, nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("projector secret on the admin link: %d", resp.StatusCode)
	}
	resp, _ = app.get("/s/"+m.ID+"/"+m.ScrSecret, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/screen/"+m.ID {
		t.Fatalf("screen link: %d", resp.StatusCode)
	}
	// The cookie authenticates the facilitator's API calls and WebSocket.
	cookie := http.Header{"Cookie": {fac.Name + "=" + fac.Value}}
	if resp, body := app.get("/api/meetings/"+m.ID+"/attendance", cookie); resp.StatusCode != 200 || !strings.Contains(body, "émargement") {
		t.Fatalf("attendance with the cookie: %d", resp.StatusCode)
	}
	c := dial(t, app, map[string]any{"meeting": m.ID, "lastSeq": uint64(0)}, cookie)
	c.waitFor("welcome", func() bool { return c.welcome != nil })
	if c.welcome["role"] != "facilitator" || c.welcome["audience"] != "full" {
		t.Fatalf("cookie welcome: %v", c.welcome)
	}
	// A browser with both cookies: the screen page asks for the projector
	// and never gets the facilitator's full view.
	both := http.Header{"Cookie": {fac.Name + "=" + fac.Value + "; " + projectorCookie + m.ID + "=" + m.ScrSecret}}
	scr := dial(t, app, map[string]any{"meeting": m.ID, "lastSeq": uint64(0), "as": "projector"}, both)
	scr.waitFor("welcome", func() bool { return scr.welcome != nil })
	if scr.welcome["role"] != "projector" || scr.welcome["audience"] != "redacted" {
		t.Fatalf("screen with both cookies: %v", scr.welcome)
	}
	if strings.Contains(app.logBuf.String(), m.FacSecret) || strings.Contains(app.logBuf.String(), m.ScrSecret) {
		t.Fatal("a secret reached the log")
	}
}

func TestAttendanceAndQRCode(t *testing.T) {
	app := newTestApp(t, hub.Options{})
	m := app.createMeeting()
	members := app.importMembers(m, "Nom;Groupe d'action\nZoé Zèbre;GA B\nAnne Ane;GA A\n")
	app.joinAll(m, members[:1])
	resp, body := app.get("/api/meetings/"+m.ID+"/attendance", http.Header{"Authorization": {"Bearer " + m.FacSecret}})
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("attendance: %d", resp.StatusCode)
	}
	if a, z := strings.Index(body, "Anne Ane"), strings.Index(body, "Zoé Zèbre"); a < 0 || z < 0 || a > z {
		t.Fatalf("attendance rows missing or not sorted by action group:\n%s", body)
	}
	if !regexp.MustCompile(`<td class="t">\d\d:\d\d</td>`).MatchString(body) {
		t.Fatalf("no arrival time:\n%s", body)
	}
	sum := sha256.Sum256([]byte(attendanceStyle))
	if !strings.Contains(resp.Header.Get("Content-Security-Policy"), base64.StdEncoding.EncodeToString(sum[:])) ||
		!strings.Contains(body, "<style>"+attendanceStyle+"</style>") {
		t.Fatal("the sheet's style is not the one its CSP allows")
	}
	if resp, _ := app.get("/api/meetings/"+m.ID+"/attendance", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("attendance without a secret: %d", resp.StatusCode)
	}

	resp, body = app.get("/api/meetings/"+m.ID+"/qr.svg", nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/svg+xml" ||
		!strings.HasPrefix(body, "<svg") || strings.Count(body, "<path") != 1 {
		t.Fatalf("qr: %d %s %.80s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
}

func TestWebSocketRefusals(t *testing.T) {
	app := newTestApp(t, hub.Options{})
	m := app.createMeeting()
	u := strings.Replace(app.url, "http://", "ws://", 1) + "/ws"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// Another site's page may not open the socket.
	_, resp, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"https://evil.example"}}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("foreign origin: %v %v", err, resp)
	}
	// The public URL's origin may.
	c, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {app.url}}})
	if err != nil {
		t.Fatalf("own origin: %v", err)
	}
	c.CloseNow()

	for _, tc := range []struct {
		name  string
		first string
		code  websocket.StatusCode
		err   string
	}{
		{"op before hello", `{"type":"op","id":"x","op":"step.set","payload":{}}`, hub.StatusProtocol, "bad_hello"},
		{"not JSON", `hello`, hub.StatusProtocol, "bad_hello"},
		{"unknown meeting", `{"type":"hello","meeting":"nope","token":"x","lastSeq":0}`, hub.StatusNotFound, "not_found"},
		{"no token", `{"type":"hello","meeting":"` + m.ID + `","lastSeq":0}`, hub.StatusUnauthorized, "unauthorized"},
		{"bad token", `{"type":"hello","meeting":"` + m.ID + `","token":"guess","lastSeq":0}`, hub.StatusUnauthorized, "unauthorized"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _, err := websocket.Dial(ctx, u, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			if err := c.Write(ctx, websocket.MessageText, []byte(tc.first)); err != nil {
				t.Fatal(err)
			}
			_, data, err := c.Read(ctx)
			if err != nil {
				t.Fatalf("no error frame: %v", err)
			}
			var f struct{ Type, Code string }
			if json.Unmarshal(data, &f); f.Type != "error" || f.Code != tc.err {
				t.Fatalf("frame %s", data)
			}
			_, _, err = c.Read(ctx)
			if got := websocket.CloseStatus(err); got != tc.code {
				t.Fatalf("close code %d, want %d (%v)", got, tc.code, err)
			}
		})
	}
}

// TestRoleChangesCloseTheConnection: a participant made the meeting's
// rapporteur is closed with 4003 and reconnects with the full view; a
// revoked token is closed with 4005 and refused after.
func TestRoleChangesCloseTheConnection(t *testing.T) {
	app := newTestApp(t, hub.Options{})
	f := setupGroups(t, app, 4, 2)
	mid := f.members[0].ID
	p := f.phone(t, app, mid)
	f.fac.mustAck("rapporteur.set", map[string]any{"memberId": mid})
	p.waitFor("close", func() bool { return p.closed != nil })
	if code := websocket.CloseStatus(p.closed); code != hub.StatusRoleChanged {
		t.Fatalf("close code %d", code)
	}
	r := f.phone(t, app, mid)
	if r.welcome["role"] != "rapporteur" || r.welcome["audience"] != "full" {
		t.Fatalf("rapporteur welcome: %v", r.welcome)
	}
	f.fac.mustAck("token.revoke", map[string]any{"memberId": mid})
	r.waitFor("close", func() bool { return r.closed != nil })
	if code := websocket.CloseStatus(r.closed); code != hub.StatusRevoked {
		t.Fatalf("close code after revoke %d", code)
	}
}

// TestShutdownClosesSocketsGoingAway: closing the hub closes every socket
// with 1001 so the clients reconnect to the next instance.
func TestShutdownClosesSocketsGoingAway(t *testing.T) {
	app := newTestApp(t, hub.Options{})
	m := app.createMeeting()
	c := dial(t, app, map[string]any{"meeting": m.ID, "token": m.FacSecret, "lastSeq": uint64(0)}, nil)
	c.waitFor("welcome", func() bool { return c.welcome != nil })
	app.hub.Close()
	c.waitFor("close", func() bool { return c.closed != nil })
	if code := websocket.CloseStatus(c.closed); code != websocket.StatusGoingAway {
		t.Fatalf("close code %d", code)
	}
}

// TestReports: the facilitators and the meeting's rapporteur get the report
// (with contact details) in three formats; a participant does not.
func TestReports(t *testing.T) {
	app := newTestApp(t, hub.Options{})
	f := setupGroups(t, app, 4, 2)
	rapporteur, other := f.members[0].ID, f.members[1].ID
	f.fac.mustAck("rapporteur.set", map[string]any{"memberId": rapporteur})
	for _, format := range []string{"txt", "csv", "json"} {
		path := "/api/meetings/" + f.m.ID + "/report." + format
		resp, body := app.get(path, http.Header{"Authorization": {"Bearer " + f.m.FacSecret}})
		if resp.StatusCode != 200 || len(body) < 50 {
			t.Fatalf("%s as facilitator: %d %.200s", format, resp.StatusCode, body)
		}
		if resp, body := app.get(path, http.Header{"Authorization": {"Bearer " + f.tokens[rapporteur]}}); resp.StatusCode != 200 || len(body) < 50 {
			t.Fatalf("%s as rapporteur: %d", format, resp.StatusCode)
		}
		if resp, _ := app.get(path, http.Header{"Authorization": {"Bearer " + f.tokens[other]}}); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("%s as participant: %d", format, resp.StatusCode)
		}
	}
	var rep struct {
		MeetingID string `json:"meetingId"`
	}
	if st := app.do("GET", "/api/meetings/"+f.m.ID+"/report.json", f.m.FacSecret, "", nil, &rep); st != 200 || rep.MeetingID != f.m.ID {
		t.Fatalf("report.json: %d %+v", st, rep)
	}
}

func TestRateLimiter(t *testing.T) {
	now := time.Date(2026, 6, 27, 18, 0, 0, 0, time.UTC)
	l := newRateLimiter(2, 3, func() time.Time { return now })
	for i := range 3 {
		if !l.allow("ip") {
			t.Fatalf("request %d of the burst refused", i)
		}
	}
	if l.allow("ip") {
		t.Fatal("past the burst")
	}
	if !l.allow("other") {
		t.Fatal("another client shares the bucket")
	}
	now = now.Add(500 * time.Millisecond)
	if !l.allow("ip") || l.allow("ip") {
		t.Fatal("not refilled at 2 per second")
	}
}

// TestMetrics: /metrics answers only with the token, and the hub's counters
// move with the traffic (connections, acks, refusals, frames, resumes).
func TestMetrics(t *testing.T) {
	app := newTestApp(t, hub.Options{})
	if resp, _ := app.get("/metrics", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("/metrics without a token: %d", resp.StatusCode)
	}
	f := setupGroups(t, app, 4, 2)
	p := f.phone(t, app, f.members[0].ID)
	refused := p.op("step.set", map[string]any{"step": "V"})
	p.waitFor("refusal", func() bool { return p.refusals[refused] != "" })
	resumed := resume(t, app, p, map[string]any{"meeting": f.m.ID, "token": f.tokens[f.members[0].ID]})
	resumed.waitFor("welcome", func() bool { return resumed.welcome != nil })

	resp, body := app.get("/metrics", http.Header{"Authorization": {"Bearer " + testMetricsToken}})
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics: %d", resp.StatusCode)
	}
	for _, re := range []string{
		`designation_connections\{role="facilitator"\} 1`,
		`designation_ops_acked_total [1-9]`,
		`designation_ops_refused_total\{code="not_allowed"\} 1`,
		`designation_op_answer_seconds_count\{answer="refused"\} 1`,
		`designation_op_answer_seconds_bucket\{answer="ack",le="\+Inf"\} [1-9]`,
		`designation_frames_sent_total [1-9]`,
		`designation_resumes_total\{from="history"\} 1`,
		`designation_meetings_loaded 1`,
		`designation_store_append_batch_ops_count\{backend="test"\} [1-9]`,
	} {
		if !regexp.MustCompile(re).MatchString(body) {
			t.Errorf("metrics lack %s", re)
		}
	}
	if strings.Contains(body, f.m.ID) {
		t.Fatal("a meeting id in the metrics")
	}
}
