package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"

	"github.com/boucle/designation/hub"
	"github.com/boucle/designation/internal/wireview"
	"github.com/boucle/designation/metrics"
	"github.com/boucle/designation/store"
	"github.com/boucle/designation/store/bolt"
)

// testMetricsToken guards the test servers' /metrics.
const testMetricsToken = "metrics-test-token"

// testApp is the real handler over a real bbolt file, served by httptest.
type testApp struct {
	t      *testing.T
	url    string
	hub    *hub.Hub
	log    store.Log
	server *httptest.Server
	logBuf *syncBuffer
}

// syncBuffer collects the server's log lines (tests assert what is never
// logged).
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newTestApp(t *testing.T, opts hub.Options) *testApp {
	t.Helper()
	oplog, err := bolt.Open(filepath.Join(t.TempDir(), "designation.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return newTestAppWithLog(t, oplog, opts)
}

// newTestAppWithLog serves the app over oplog (closed at the end).
func newTestAppWithLog(t *testing.T, oplog store.Log, opts hub.Options) *testApp {
	t.Helper()
	return newTestAppWithConfig(t, oplog, opts, Config{})
}

// newTestAppWithConfig is newTestAppWithLog with the server's settings in
// cfg (its PublicURL is the test listener's).
func newTestAppWithConfig(t *testing.T, oplog store.Log, opts hub.Options, cfg Config) *testApp {
	t.Helper()
	buf := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(buf, nil))
	opts.Logger = logger
	stats := metrics.New()
	opts.Observer = stats
	if s, ok := oplog.(hub.Scrubber); ok && opts.Scrubber == nil { // as main does
		opts.Scrubber = s
	}
	oplog = stats.InstrumentLog(oplog, "test")
	h, err := hub.New(context.Background(), oplog, opts)
	if err != nil {
		t.Fatal(err)
	}
	stats.CountMeetingsWith(h.Meetings)
	ts := httptest.NewUnstartedServer(nil)
	public := "http://" + ts.Listener.Addr().String()
	cfg.PublicURL = public
	ts.Config.Handler = NewServer(cfg, h, oplog, nil, logger,
		metrics.RequireBearer(testMetricsToken, stats.Handler()))
	ts.Start()
	app := &testApp{t: t, url: public, hub: h, log: oplog, server: ts, logBuf: buf}
	t.Cleanup(func() {
		h.Close()
		ts.Close()
		oplog.Close()
	})
	return app
}

// do sends a request and decodes a JSON answer into out (when not nil).
func (a *testApp) do(method, path, bearer, contentType string, body io.Reader, out any) int {
	a.t.Helper()
	req, err := http.NewRequest(method, a.url+path, body)
	if err != nil {
		a.t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			a.t.Fatalf("%s %s: %d %s: %v", method, path, resp.StatusCode, data, err)
		}
	}
	return resp.StatusCode
}

func (a *testApp) postJSON(path, bearer string, in, out any) int {
	a.t.Helper()
	b, _ := json.Marshal(in)
	return a.do("POST", path, bearer, "application/json", bytes.NewReader(b), out)
}

// meetingFixture is a created meeting with its secrets.
type meetingFixture struct {
	ID, JoinCode         string
	FacSecret, ScrSecret string
}

func (a *testApp) createMeeting() meetingFixture {
	a.t.Helper()
	var resp createMeetingResponse
	st := a.postJSON("/api/meetings", "", map[string]any{
		"title": "Boucle test", "department": "Gironde (33)", "date": time.Now().Format(time.DateOnly), "place": "Bordeaux",
		"facilitators": []string{"Alice", "Bob"}, "parity": true,
	}, &resp)
	if st != http.StatusCreated {
		a.t.Fatalf("create meeting: %d", st)
	}
	return meetingFixture{
		ID: resp.MeetingID, JoinCode: resp.JoinCode,
		FacSecret: resp.AdminURL[strings.LastIndex(resp.AdminURL, "/")+1:],
		ScrSecret: resp.ScreenURL[strings.LastIndex(resp.ScreenURL, "/")+1:],
	}
}

// wsClient is a real WebSocket client that keeps the view it is sent, the
// way a browser would: snapshot, then changes.
type wsClient struct {
	t    *testing.T
	conn *websocket.Conn
	lang string

	mu       sync.Mutex
	welcome  map[string]any
	lastSeq  uint64
	view     map[string]map[string]json.RawMessage // kind -> id -> value
	acks     map[string]uint64
	refusals map[string]string // op id -> code
	raw      [][]byte          // every frame received
	presence map[string]any
	closed   error
	changed  chan struct{}
}

func dial(t *testing.T, app *testApp, hello map[string]any, header http.Header) *wsClient {
	t.Helper()
	var last uint64
	if ls, ok := hello["lastSeq"].(uint64); ok {
		last = ls
	}
	return dialWithView(t, app, hello, header, map[string]map[string]json.RawMessage{}, last)
}

// dialWithView connects a client that already holds view as of lastSeq.
func dialWithView(t *testing.T, app *testApp, hello map[string]any, header http.Header, view map[string]map[string]json.RawMessage, lastSeq uint64) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	u := strings.Replace(app.url, "http://", "ws://", 1) + "/ws"
	conn, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: header})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	conn.SetReadLimit(16 << 20)
	c := &wsClient{t: t, conn: conn, view: view, lastSeq: lastSeq, acks: map[string]uint64{},
		refusals: map[string]string{}, changed: make(chan struct{}, 1)}
	hello["type"] = "hello"
	if _, set := hello["batch"]; !set {
		hello["batch"] = true // it splits messages of several frames
	}
	if _, set := hello["lists"]; !set {
		hello["lists"] = true // it reads "list" changes, as our pages do
	}
	c.send(hello)
	go c.readLoop()
	t.Cleanup(func() { conn.CloseNow() })
	return c
}

func (c *wsClient) send(v any) {
	b, _ := json.Marshal(v)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.conn.Write(ctx, websocket.MessageText, b); err != nil {
		c.t.Logf("write: %v", err)
	}
}

func (c *wsClient) readLoop() {
	for {
		_, data, err := c.conn.Read(context.Background())
		c.mu.Lock()
		if err != nil {
			c.closed = err
			c.mu.Unlock()
			c.notify()
			return
		}
		// A message holds one frame or several, one per line.
		for _, frame := range bytes.Split(data, []byte("\n")) {
			c.raw = append(c.raw, frame)
			c.handle(frame)
		}
		c.mu.Unlock()
		c.notify()
	}
}

func (c *wsClient) notify() {
	select {
	case c.changed <- struct{}{}:
	default:
	}
}

// handle applies one frame to the client's view (c.mu held).
func (c *wsClient) handle(data []byte) {
	var f struct {
		Type    string                     `json:"type"`
		Seq     uint64                     `json:"seq"`
		ID      string                     `json:"id"`
		Code    string                     `json:"code"`
		State   map[string]json.RawMessage `json:"state"`
		Changes []struct {
			Kind  string          `json:"kind"`
			ID    string          `json:"id"`
			Value json.RawMessage `json:"value"`
		} `json:"changes"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		c.t.Errorf("bad frame %s: %v", data, err)
		return
	}
	switch f.Type {
	case "welcome":
		_ = json.Unmarshal(data, &c.welcome)
	case "snapshot":
		c.view = map[string]map[string]json.RawMessage{}
		for key, raw := range f.State {
			switch key {
			case "meeting":
				c.view["meeting"] = map[string]json.RawMessage{"": raw}
			case "id", "seq", "audience":
			default:
				var m map[string]json.RawMessage
				if err := json.Unmarshal(raw, &m); err != nil {
					c.t.Errorf("snapshot %s: %v", key, err)
				}
				c.view[key] = m
			}
		}
		c.lastSeq = f.Seq
	case "changes":
		// A participant is not sent other groups' list edits: its seqs
		// skip. Everyone else gets every seq.
		participant := c.welcome["audience"] == "redacted" && c.welcome["memberId"] != nil && c.welcome["memberId"] != ""
		if f.Seq <= c.lastSeq || (!participant && f.Seq != c.lastSeq+1) {
			c.t.Errorf("changes seq %d after %d: gap or duplicate", f.Seq, c.lastSeq)
		}
		c.lastSeq = f.Seq
		for _, ch := range f.Changes {
			if err := wireview.View(c.view).Apply(ch.Kind, ch.ID, ch.Value); err != nil {
				c.t.Errorf("changes seq %d: %v", f.Seq, err)
			}
		}
	case "ack":
		c.acks[f.ID] = f.Seq
	case "refused":
		c.refusals[f.ID] = f.Code
	case "presence":
		c.presence = nil
		_ = json.Unmarshal(data, &c.presence)
	}
}

// waitFor waits until cond (called with c.mu held) is true.
func (c *wsClient) waitFor(what string, cond func() bool) {
	c.t.Helper()
	// Generous: only a failing test waits this long, and CI runs every
	// package's tests at once on 2 cores.
	deadline := time.After(30 * time.Second)
	for {
		c.mu.Lock()
		ok := cond()
		closed := c.closed
		c.mu.Unlock()
		if ok {
			return
		}
		if closed != nil {
			c.t.Fatalf("waiting for %s: connection closed: %v", what, closed)
		}
		select {
		case <-c.changed:
		case <-deadline:
			c.t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// op sends an op and returns its id.
func (c *wsClient) op(typ string, payload any) string {
	id := uuid.NewString()
	c.sendOp(id, typ, payload)
	return id
}

func (c *wsClient) sendOp(id, typ string, payload any) {
	c.send(map[string]any{"type": "op", "id": id, "op": typ, "payload": payload})
}

// mustAck sends an op and waits for its ack.
func (c *wsClient) mustAck(typ string, payload any) uint64 {
	c.t.Helper()
	id := c.op(typ, payload)
	var seq uint64
	c.waitFor("ack of "+typ, func() bool {
		if code, ok := c.refusals[id]; ok {
			c.t.Fatalf("%s refused: %s", typ, code)
		}
		seq = c.acks[id]
		return seq != 0
	})
	return seq
}

func (c *wsClient) seq() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastSeq
}

func (c *wsClient) waitSeq(seq uint64) {
	c.t.Helper()
	c.waitFor(fmt.Sprintf("seq %d", seq), func() bool { return c.lastSeq >= seq })
}

// normalized is the client's view with every value re-encoded canonically.
func (c *wsClient) normalized() map[string]map[string]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]map[string]any{}
	for coll, m := range c.view {
		if len(m) == 0 {
			continue
		}
		out[coll] = map[string]any{}
		for id, raw := range m {
			var v any
			_ = json.Unmarshal(raw, &v)
			out[coll][id] = v
		}
	}
	return out
}

func sameView(t *testing.T, what string, got, want map[string]map[string]any) {
	t.Helper()
	if reflect.DeepEqual(got, want) {
		return
	}
	for coll := range mergeKeys(got, want) {
		for id := range mergeKeys(got[coll], want[coll]) {
			if !reflect.DeepEqual(got[coll][id], want[coll][id]) {
				g, _ := json.Marshal(got[coll][id])
				w, _ := json.Marshal(want[coll][id])
				t.Fatalf("%s: views differ at %s/%s\n got %.2000s\nwant %.2000s", what, coll, id, g, w)
			}
		}
	}
}

func (c *wsClient) rawFrames() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([][]byte(nil), c.raw...)
}

func mergeKeys[V any](a, b map[string]V) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}
