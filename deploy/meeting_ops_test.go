package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
)

// plantedMeeting is a small meeting run against the binary, with every
// secret and piece of personal data it used (which the logs must never
// show) and what the server should have logged about it.
type plantedMeeting struct {
	id, joinCode         string
	facSecret, scrSecret string
	tokens               []string // participant tokens
	searchTerm           string   // typed in the member search (a name prefix)
	personal             []string // names, e-mails, phones, facilitators' names

	requests  int            // HTTP requests made (WebSocket handshakes excluded)
	welcomed  map[string]int // WebSockets welcomed, by role
	refusedWS int            // WebSockets refused at hello (bad token)
	unknownWS int            // WebSockets whose hello named no meeting
	acks      int            // ops acknowledged
	refusals  map[string]int // ops refused, by code
}

// plantedMembers are the member list: distinctive names, e-mails and phones
// that cannot appear in a log by chance.
var plantedMembers = []struct{ first, last, group, email, phone string }{
	{"Zéphyrine", "Quintavalle", "GA Nord", "zephyrine.q@planted-mail.example", "06 71 82 93 01"},
	{"Anatole", "Brisebarre", "GA Nord", "anatole.b@planted-mail.example", "06 71 82 93 02"},
	{"Philomène", "Vandersteen", "GA Nord", "philomene.v@planted-mail.example", "06 71 82 93 03"},
	{"Théophraste", "Olibrius", "GA Sud", "theophraste.o@planted-mail.example", "06 71 82 93 04"},
	{"Eudoxie", "Marchetti", "GA Sud", "eudoxie.m@planted-mail.example", "06 71 82 93 05"},
	{"Barnabé", "Courtecuisse", "GA Sud", "barnabe.c@planted-mail.example", "06 71 82 93 06"},
}

// plantedFacilitators are the names given at creation.
var plantedFacilitators = []string{"Hortense Jambonneau", "Gédéon Vautrin"}

// countingTransport counts the HTTP requests a test makes.
type countingTransport struct{ n atomic.Int64 }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

// meetingClient drives the app over HTTP like the browser pages do.
type meetingClient struct {
	t      *testing.T
	base   string
	counts *countingTransport
	http   *http.Client
}

func newMeetingClient(t *testing.T, base string) *meetingClient {
	counts := &countingTransport{}
	return &meetingClient{t: t, base: base, counts: counts, http: &http.Client{
		Transport:     counts,
		Timeout:       waitTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// do sends a request and returns the status and body.
func (c *meetingClient) do(method, path, bearer, contentType string, body []byte) (int, []byte) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return resp.StatusCode, data
}

// expect sends a request, checks its status and decodes a JSON answer.
func (c *meetingClient) expect(want int, method, path, bearer, contentType string, body []byte, out any) {
	c.t.Helper()
	got, data := c.do(method, path, bearer, contentType, body)
	if got != want {
		c.t.Fatalf("%s %s: status %d, want %d: %s", method, path, got, want, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			c.t.Fatalf("%s %s: %v: %s", method, path, err, data)
		}
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// runMeeting runs a small meeting against the server at base: creation,
// secret links, member import, search, joins, a facilitator console, a
// projector, two phones editing their group, a refused op, a refused
// WebSocket, a resume from the history and one from a snapshot, reports.
// whileLive, when not nil, runs while every WebSocket is still open.
func runMeeting(t *testing.T, base string, whileLive func(*plantedMeeting)) *plantedMeeting {
	t.Helper()
	c := newMeetingClient(t, base)
	m := &plantedMeeting{welcomed: map[string]int{}, refusals: map[string]int{}}
	m.personal = append(m.personal, plantedFacilitators...)
	for _, p := range plantedMembers {
		m.personal = append(m.personal, p.first+" "+p.last, p.last, p.email, p.phone, strings.ReplaceAll(p.phone, " ", ""))
	}

	var created struct {
		MeetingID, JoinCode, AdminURL, ScreenURL string
	}
	c.expect(http.StatusCreated, "POST", "/api/meetings", "", "application/json", mustJSON(t, map[string]any{
		"title": "Boucle départementale", "department": "Gironde (33)", "date": "2026-06-27",
		"place": "Bordeaux", "facilitators": plantedFacilitators, "parity": true,
	}), &created)
	m.id, m.joinCode = created.MeetingID, created.JoinCode
	m.facSecret = created.AdminURL[strings.LastIndex(created.AdminURL, "/")+1:]
	m.scrSecret = created.ScreenURL[strings.LastIndex(created.ScreenURL, "/")+1:]

	// The secret links set their cookie and redirect; a wrong one is 404.
	c.expect(http.StatusSeeOther, "GET", "/a/"+m.id+"/"+m.facSecret, "", "", nil, nil)
	c.expect(http.StatusSeeOther, "GET", "/s/"+m.id+"/"+m.scrSecret, "", "", nil, nil)
	c.expect(http.StatusNotFound, "GET", "/a/"+m.id+"/"+strings.Repeat("x", 43), "", "", nil, nil)

	var csv strings.Builder
	csv.WriteString("Prénom;Nom;Groupe d'action;Date de certification;E-mail;Téléphone\r\n")
	for _, p := range plantedMembers {
		fmt.Fprintf(&csv, "%s;%s;%s;15/01/2025;%s;%s\r\n", p.first, p.last, p.group, p.email, p.phone)
	}
	var imported struct {
		Applied bool
		Members []struct{ ID, Name string }
	}
	c.expect(http.StatusOK, "POST", "/api/meetings/"+m.id+"/members/import", m.facSecret, "text/csv", []byte(csv.String()), &imported)
	if !imported.Applied || len(imported.Members) != len(plantedMembers) {
		t.Fatalf("import: %+v", imported)
	}

	c.expect(http.StatusOK, "GET", "/api/join/"+m.joinCode, "", "", nil, nil)
	m.searchTerm = "Zéphy"
	var found struct{ Members []struct{ MemberID string } }
	c.expect(http.StatusOK, "GET", "/api/join/"+m.joinCode+"/members?q="+m.searchTerm, "", "", nil, &found)
	if len(found.Members) != 1 {
		t.Fatalf("search %q found %d members", m.searchTerm, len(found.Members))
	}
	tokenOf := map[string]string{}
	for _, mem := range imported.Members {
		var joined struct{ Token string }
		c.expect(http.StatusOK, "POST", "/api/meetings/"+m.id+"/join", "", "application/json",
			mustJSON(t, map[string]any{"memberId": mem.ID, "remote": false}), &joined)
		tokenOf[mem.ID] = joined.Token
		m.tokens = append(m.tokens, joined.Token)
	}
	c.expect(http.StatusOK, "GET", "/api/meetings/"+m.id+"/qr.svg", "", "", nil, nil)

	var peers []*wsPeer
	open := func(hello map[string]any, role string) *wsPeer {
		p := dialPeer(t, base, hello)
		p.expect("welcome", func(f frame) bool { return f.Type == "welcome" })
		m.welcomed[role]++
		peers = append(peers, p)
		return p
	}
	ack := func(p *wsPeer, typ string, payload any) uint64 {
		seq := p.ack(typ, payload)
		m.acks++
		return seq
	}
	fac := open(map[string]any{"meeting": m.id, "token": m.facSecret, "lastSeq": 0}, "facilitator")
	open(map[string]any{"meeting": m.id, "token": m.scrSecret, "lastSeq": 0, "as": "projector"}, "projector")

	// A WebSocket with a token that does not open the meeting.
	bad := dialPeer(t, base, map[string]any{"meeting": m.id, "token": strings.Repeat("y", 43), "lastSeq": 0})
	if code := bad.closeCode(); code != 4001 {
		t.Fatalf("bad token closed with %d, want 4001", code)
	}
	m.refusedWS++
	// A hello naming no meeting, with text a careless log would copy.
	stray := dialPeer(t, base, map[string]any{"meeting": plantedMembers[0].first + " " + plantedMembers[0].last + " " + plantedMembers[0].email, "token": m.tokens[0], "lastSeq": 0})
	if code := stray.closeCode(); code != 4004 {
		t.Fatalf("unknown meeting closed with %d, want 4004", code)
	}
	m.unknownWS++

	ack(fac, "step.set", map[string]any{"step": "IV"})
	ack(fac, "groups.split", map[string]any{})

	// A fresh console gets the snapshot with the groups.
	look := open(map[string]any{"meeting": m.id, "token": m.facSecret, "lastSeq": 0}, "facilitator")
	snap := look.expect("snapshot", func(f frame) bool { return f.Type == "snapshot" })
	var state struct {
		Members map[string]struct {
			GroupID string `json:"groupId"`
		} `json:"members"`
		Meeting struct {
			Template struct {
				Binomes []struct {
					Key string `json:"key"`
				} `json:"binomes"`
			} `json:"template"`
		} `json:"meeting"`
	}
	if err := json.Unmarshal(snap.State, &state); err != nil || len(state.Meeting.Template.Binomes) == 0 {
		t.Fatalf("snapshot state: %v", err)
	}
	binome := state.Meeting.Template.Binomes[0].Key
	byGroup := map[string][]string{}
	for id, mv := range state.Members {
		if mv.GroupID != "" {
			byGroup[mv.GroupID] = append(byGroup[mv.GroupID], id)
		}
	}
	var group string
	for g, ids := range byGroup {
		if len(ids) >= 2 {
			group = g
		}
	}
	if group == "" {
		t.Fatalf("no group with two members: %v", byGroup)
	}
	first, second := byGroup[group][0], byGroup[group][1]

	p1 := open(map[string]any{"meeting": m.id, "token": tokenOf[first], "lastSeq": 0}, "participant")
	p2 := open(map[string]any{"meeting": m.id, "token": tokenOf[second], "lastSeq": 0}, "participant")
	ack(p1, "quality.add", map[string]any{"groupId": group, "binome": binome, "quality": map[string]any{"text": "Écoute"}})
	ack(p2, "quality.add", map[string]any{"groupId": group, "binome": binome, "quality": map[string]any{"text": "Rigueur"}})
	if code := p1.refused("step.set", map[string]any{"step": "VI"}); code != "not_allowed" {
		t.Fatalf("participant step.set refused %q, want not_allowed", code)
	}
	m.refusals["not_allowed"]++

	if whileLive != nil {
		whileLive(m)
	}

	// p1 drops, the facilitator edits, p1 resumes from the history; p2
	// comes back with a seq the server never had: a snapshot.
	last := p1.lastSeq()
	p1.close()
	seq := ack(fac, "quality.add", map[string]any{"groupId": group, "binome": binome, "quality": map[string]any{"text": "Patience"}})
	back := open(map[string]any{"meeting": m.id, "token": tokenOf[first], "lastSeq": last}, "participant")
	back.expect("changes up to the facilitator's edit", func(f frame) bool { return f.Type == "changes" && f.Seq == seq })
	p2.close()
	again := open(map[string]any{"meeting": m.id, "token": tokenOf[second], "lastSeq": seq + 1000}, "participant")
	again.expect("snapshot", func(f frame) bool { return f.Type == "snapshot" })

	c.expect(http.StatusOK, "GET", "/api/meetings/"+m.id+"/report.txt", m.facSecret, "", nil, nil)
	c.expect(http.StatusOK, "GET", "/api/meetings/"+m.id+"/attendance", m.facSecret, "", nil, nil)
	c.expect(http.StatusForbidden, "GET", "/api/meetings/"+m.id+"/report.csv", tokenOf[first], "", nil, nil)

	for _, p := range peers {
		p.close()
	}
	m.requests = int(c.counts.n.Load())
	return m
}

// frame is a server frame, with the fields the tests read.
type frame struct {
	Type  string          `json:"type"`
	ID    string          `json:"id"`
	Seq   uint64          `json:"seq"`
	Code  string          `json:"code"`
	State json.RawMessage `json:"state"`
}

// wsPeer is a WebSocket client that reads every frame into a queue.
type wsPeer struct {
	t      *testing.T
	conn   *websocket.Conn
	frames chan frame
	last   atomic.Uint64 // highest seq of a snapshot or changes frame
	done   chan struct{} // closed when the reader stops
	err    error         // the read error, once done is closed
	once   sync.Once
}

func dialPeer(t *testing.T, base string, hello map[string]any) *wsPeer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/ws", nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	conn.SetReadLimit(16 << 20)
	hello["type"] = "hello"
	hello["batch"] = true // it splits messages of several frames
	hello["lists"] = true // and reads "list" changes, as our pages do
	if err := conn.Write(ctx, websocket.MessageText, mustJSON(t, hello)); err != nil {
		t.Fatalf("hello: %v", err)
	}
	p := &wsPeer{t: t, conn: conn, frames: make(chan frame, 4096), done: make(chan struct{})}
	go p.read()
	t.Cleanup(func() { conn.CloseNow() })
	return p
}

func (p *wsPeer) read() {
	defer close(p.done)
	defer close(p.frames)
	for {
		_, msg, err := p.conn.Read(context.Background())
		if err != nil {
			p.err = err
			return
		}
		// A message holds one frame or several, one per line.
		for _, data := range bytes.Split(msg, []byte("\n")) {
			var f frame
			if err := json.Unmarshal(data, &f); err != nil {
				p.err = fmt.Errorf("frame %q: %w", data, err)
				return
			}
			if (f.Type == "snapshot" || f.Type == "changes") && f.Seq > p.last.Load() {
				p.last.Store(f.Seq)
			}
			p.frames <- f
		}
	}
}

// expect waits for the first frame matching match, skipping the others.
func (p *wsPeer) expect(what string, match func(frame) bool) frame {
	p.t.Helper()
	deadline := time.After(waitTimeout)
	for {
		select {
		case f, ok := <-p.frames:
			if !ok {
				p.t.Fatalf("connection ended waiting for %s: %v", what, p.err)
			}
			if match(f) {
				return f
			}
		case <-deadline:
			p.t.Fatalf("no %s within %s", what, waitTimeout)
		}
	}
}

func (p *wsPeer) send(typ string, payload any) string {
	p.t.Helper()
	id := uuid.NewString()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	msg := mustJSON(p.t, map[string]any{"type": "op", "id": id, "op": typ, "payload": payload})
	if err := p.conn.Write(ctx, websocket.MessageText, msg); err != nil {
		p.t.Fatalf("send %s: %v", typ, err)
	}
	return id
}

// ack sends an op and waits for its ack (failing on a refusal).
func (p *wsPeer) ack(typ string, payload any) uint64 {
	p.t.Helper()
	id := p.send(typ, payload)
	f := p.expect("answer to "+typ, func(f frame) bool { return (f.Type == "ack" || f.Type == "refused") && f.ID == id })
	if f.Type != "ack" {
		p.t.Fatalf("%s refused: %s", typ, f.Code)
	}
	return f.Seq
}

// refused sends an op and returns its refusal code (failing on an ack).
func (p *wsPeer) refused(typ string, payload any) string {
	p.t.Helper()
	id := p.send(typ, payload)
	f := p.expect("answer to "+typ, func(f frame) bool { return (f.Type == "ack" || f.Type == "refused") && f.ID == id })
	if f.Type != "refused" {
		p.t.Fatalf("%s acked: it must be refused", typ)
	}
	return f.Code
}

func (p *wsPeer) lastSeq() uint64 { return p.last.Load() }

// close ends the connection normally (1000) and waits for the reader.
func (p *wsPeer) close() {
	p.once.Do(func() {
		_ = p.conn.Close(websocket.StatusNormalClosure, "bye")
		select {
		case <-p.done:
		case <-time.After(waitTimeout):
			p.t.Errorf("connection not closed within %s", waitTimeout)
		}
	})
}

// closeCode waits for the server to end the connection and returns its
// close code.
func (p *wsPeer) closeCode() websocket.StatusCode {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(waitTimeout):
		p.t.Fatalf("connection still open after %s", waitTimeout)
	}
	var ce websocket.CloseError
	if errors.As(p.err, &ce) {
		return ce.Code
	}
	return -1
}
