package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"

	"github.com/boucle/designation/hub"
)

// groupFixture is a meeting at step IV with its members checked in and
// split into breakout groups.
type groupFixture struct {
	m       meetingFixture
	members []importedMember
	tokens  map[string]string
	fac     *wsClient
	groups  []string
	byGroup map[string][]string
	binome  string
}

func setupGroups(t *testing.T, app *testApp, n, actionGroups int) groupFixture {
	t.Helper()
	f := groupFixture{m: app.createMeeting(), byGroup: map[string][]string{}}
	f.members = app.importMembers(f.m, memberCSV(n, actionGroups))
	f.tokens = app.joinAll(f.m, f.members)
	f.fac = dial(t, app, map[string]any{"meeting": f.m.ID, "token": f.m.FacSecret, "lastSeq": uint64(0)}, nil)
	f.fac.waitFor("snapshot", func() bool { return len(f.fac.view["members"]) == n })
	f.fac.mustAck("step.set", map[string]any{"step": "IV"})
	f.fac.mustAck("groups.split", map[string]any{})
	f.groups = f.fac.ids("groups")
	for _, mem := range f.members {
		var mv struct {
			GroupID string `json:"groupId"`
		}
		f.fac.valueOf("members", mem.ID, &mv)
		f.byGroup[mv.GroupID] = append(f.byGroup[mv.GroupID], mem.ID)
	}
	var mv struct {
		Template struct {
			Binomes []struct {
				Key string `json:"key"`
			} `json:"binomes"`
		} `json:"template"`
	}
	f.fac.valueOf("meeting", "", &mv)
	f.binome = mv.Template.Binomes[0].Key
	return f
}

func (f groupFixture) phone(t *testing.T, app *testApp, memberID string) *wsClient {
	t.Helper()
	c := dial(t, app, map[string]any{"meeting": f.m.ID, "token": f.tokens[memberID], "lastSeq": uint64(0)}, nil)
	c.waitFor("welcome", func() bool { return c.welcome != nil && c.lastSeq > 0 })
	return c
}

// resume reconnects like a browser that kept its view and lastSeq.
func resume(t *testing.T, app *testApp, old *wsClient, hello map[string]any) *wsClient {
	t.Helper()
	old.mu.Lock()
	view := map[string]map[string]json.RawMessage{}
	for k, v := range old.view {
		view[k] = maps.Clone(v)
	}
	last := old.lastSeq
	old.mu.Unlock()
	hello["lastSeq"] = last
	c := dialWithView(t, app, hello, nil, view, last)
	return c
}

// TestResumeGivesTheSameState disconnects a phone while its group keeps
// editing; on reconnect with its lastSeq it ends with exactly the view of a
// phone that never left, whether the server resumes it from its history or
// sends a snapshot because it is too far behind.
func TestResumeGivesTheSameState(t *testing.T) {
	for _, tc := range []struct {
		name         string
		history      int
		wantSnapshot bool
	}{
		{"from history", 0, false},
		{"too far behind: snapshot", 4, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := newTestApp(t, hub.Options{HistorySize: tc.history})
			f := setupGroups(t, app, 6, 2)
			g := f.groups[0]
			stay := f.phone(t, app, f.byGroup[g][0])
			leave := f.phone(t, app, f.byGroup[g][1])
			leave.conn.Close(websocket.StatusNormalClosure, "tunnel")
			leave.waitFor("close", func() bool { return leave.closed != nil })

			var last uint64
			for i := range 20 {
				last = stay.mustAck("quality.add", map[string]any{"groupId": g, "binome": f.binome,
					"quality": map[string]any{"text": fmt.Sprintf("qualité %d", i)}})
			}
			last = max(last, f.fac.mustAck("step.set", map[string]any{"step": "V"}))

			back := resume(t, app, leave, map[string]any{"meeting": f.m.ID, "token": f.tokens[f.byGroup[g][1]]})
			back.waitSeq(last)
			stay.waitSeq(last)
			sameView(t, "resumed vs never left", back.normalized(), stay.normalized())
			fresh := f.phone(t, app, f.byGroup[g][2])
			fresh.waitSeq(last)
			sameView(t, "fresh snapshot vs never left", fresh.normalized(), stay.normalized())

			gotSnapshot := false
			for _, fr := range back.rawFrames() {
				gotSnapshot = gotSnapshot || bytes.HasPrefix(fr, []byte(`{"type":"snapshot"`))
			}
			if gotSnapshot != tc.wantSnapshot {
				t.Fatalf("resumed with a snapshot: %v, want %v", gotSnapshot, tc.wantSnapshot)
			}
		})
	}
}

// TestResentOpIsAppliedOnce: a phone sends an op and loses its connection
// before the ack; it resends the op (same id) after reconnecting, even
// twice: one ack with one seq, one quality in the list.
func TestResentOpIsAppliedOnce(t *testing.T) {
	app := newTestApp(t, hub.Options{})
	f := setupGroups(t, app, 4, 2)
	g := f.groups[0]
	mid := f.byGroup[g][0]
	p := f.phone(t, app, mid)
	id := uuid.NewString()
	payload := map[string]any{"groupId": g, "binome": f.binome, "quality": map[string]any{"text": "écoute"}}
	p.sendOp(id, "quality.add", payload)
	p.conn.CloseNow() // the ack, if any, is lost

	var seqs []uint64
	for range 2 {
		c := f.phone(t, app, mid)
		c.sendOp(id, "quality.add", payload)
		c.waitFor("ack of the re-sent op", func() bool { return c.acks[id] != 0 || c.refusals[id] != "" })
		if code := c.refusals[id]; code != "" {
			t.Fatalf("re-sent op refused: %s", code)
		}
		seqs = append(seqs, c.acks[id])
		c.conn.Close(websocket.StatusNormalClosure, "")
	}
	if seqs[0] != seqs[1] {
		t.Fatalf("re-sent op acked with seqs %v", seqs)
	}
	var gv groupValue
	f.fac.waitSeq(seqs[0])
	f.fac.valueOf("groups", g, &gv)
	n := 0
	for _, q := range gv.Lists[f.binome].Qualities {
		if q.Text == "écoute" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("the quality is in the list %d times", n)
	}
}

// TestSlowClientIsDisconnected: a phone that stops reading fills its queue
// and is closed (4008, it will resume); the others' edits keep flowing.
func TestSlowClientIsDisconnected(t *testing.T) {
	// A short queue, and few ops in flight per connection so that the
	// clients that do read never come near it.
	app := newTestApp(t, hub.Options{SendQueue: 64, MaxInFlight: 8, BatchMax: 8, WriteTimeout: 2 * time.Second})
	f := setupGroups(t, app, 4, 2)
	g := f.groups[0]
	fast := f.phone(t, app, f.byGroup[g][0])

	// The slow phone: a tiny receive buffer, and it never reads.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	dialer := &net.Dialer{}
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := dialer.DialContext(ctx, network, addr)
		if tcp, ok := conn.(*net.TCPConn); ok {
			_ = tcp.SetReadBuffer(4096)
		}
		return conn, err
	}}}
	u := strings.Replace(app.url, "http://", "ws://", 1) + "/ws"
	slow, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: client})
	if err != nil {
		t.Fatal(err)
	}
	defer slow.CloseNow()
	hello, _ := json.Marshal(map[string]any{"type": "hello", "meeting": f.m.ID, "token": f.tokens[f.byGroup[g][1]], "lastSeq": 0})
	if err := slow.Write(ctx, websocket.MessageText, hello); err != nil {
		t.Fatal(err)
	}
	f.fac.waitFor("the slow phone connected", func() bool {
		ms, _ := f.fac.presence["members"].([]any)
		return len(ms) == 2
	})

	text := strings.Repeat("<", 1900)            // 6 bytes each once JSON-escaped: big frames fill the socket buffers sooner
	deadline := time.Now().Add(60 * time.Second) // generous: CI runs every package at once on 2 cores
	var last uint64
	for i := 0; ; i++ {
		// Pipelined bursts of edits (bilans: large frames, no list cap).
		var ids []string
		for j := range 50 {
			ids = append(ids, f.fac.op("bilan.set", map[string]any{"binome": f.binome, "text": fmt.Sprintf("%s %d %d", text, i, j)}))
		}
		f.fac.waitFor("acks of the burst", func() bool { return f.fac.acks[ids[len(ids)-1]] != 0 })
		last = f.fac.acks[ids[len(ids)-1]]
		f.fac.mu.Lock()
		ms, _ := f.fac.presence["members"].([]any)
		f.fac.mu.Unlock()
		if len(ms) == 1 {
			t.Logf("slow phone dropped after %d bursts", i+1)
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the slow phone was never disconnected")
		}
	}
	waitLog(t, app, "close_code=4008")
	// The others keep flowing: the fast phone and the facilitator get
	// every change, and an edit of the fast phone is still acked at once.
	fast.waitSeq(last)
	start := time.Now()
	fast.mustAck("quality.add", map[string]any{"groupId": g, "binome": f.binome, "quality": map[string]any{"text": "toujours là"}})
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("an edit took %v after the slow phone was dropped", d)
	}
}

// waitLog waits for the server's log to contain s.
func waitLog(t *testing.T, app *testApp, s string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(app.logBuf.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("the log never said %q", s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestPurgeForgetsTheHistory: after the facilitators purge the meeting, a
// client resuming from before the purge gets a snapshot (without personal
// data), never the old frames that carried names and contacts.
func TestPurgeForgetsTheHistory(t *testing.T) {
	app := newTestApp(t, hub.Options{})
	m := app.createMeeting()
	app.importMembers(m, memberCSV(3, 1))
	fac := dial(t, app, map[string]any{"meeting": m.ID, "token": m.FacSecret, "lastSeq": uint64(1)}, nil)
	fac.waitFor("catch-up", func() bool { return len(fac.view["members"]) == 3 })
	purged := fac.mustAck("meeting.purge", map[string]any{})
	fac.waitSeq(purged)

	// Resume from seq 1 (before the import): a snapshot, no old frame.
	c := dial(t, app, map[string]any{"meeting": m.ID, "token": m.FacSecret, "lastSeq": uint64(1)}, nil)
	c.waitSeq(purged)
	for _, f := range c.rawFrames() {
		if bytes.Contains(f, []byte(plantedEmailDomain)) || bytes.Contains(f, []byte("Membre00")) {
			t.Fatalf("personal data sent after the purge: %.300s", f)
		}
	}
}

// TestReconnectsDuringAStreamOfEdits: a phone reconnects again and again
// (with its lastSeq) while edits stream in; every connection sees
// consecutive seqs (the client helper fails on a gap or a duplicate) and
// the phone ends with the view of a phone that never left.
func TestReconnectsDuringAStreamOfEdits(t *testing.T) {
	app := newTestApp(t, hub.Options{})
	f := setupGroups(t, app, 4, 2)
	g := f.groups[0]
	stay := f.phone(t, app, f.byGroup[g][0])
	hop := f.phone(t, app, f.byGroup[g][1])

	done := make(chan uint64)
	go func() {
		var ids []string
		for i := range 150 {
			ids = append(ids, f.fac.op("bilan.set", map[string]any{"binome": f.binome, "text": fmt.Sprintf("bilan %d", i)}))
		}
		var last uint64
		f.fac.waitFor("every ack", func() bool {
			for _, id := range ids {
				if f.fac.acks[id] == 0 {
					return false
				}
				last = max(last, f.fac.acks[id])
			}
			return true
		})
		done <- last
	}()
	for range 10 {
		hop.waitFor("some progress", func() bool { return hop.lastSeq > 0 })
		hop.conn.Close(websocket.StatusNormalClosure, "hop")
		hop.waitFor("close", func() bool { return hop.closed != nil })
		hop = resume(t, app, hop, map[string]any{"meeting": f.m.ID, "token": f.tokens[f.byGroup[g][1]]})
	}
	last := <-done
	hop.waitSeq(last)
	stay.waitSeq(last)
	sameView(t, "hopping phone vs phone that stayed", hop.normalized(), stay.normalized())
}

// TestDeadPhoneIsDetectedByPing: a phone that vanished without closing (it
// answers no ping) is closed (4009) and leaves the presence list.
func TestDeadPhoneIsDetectedByPing(t *testing.T) {
	app := newTestApp(t, hub.Options{PingInterval: 200 * time.Millisecond})
	f := setupGroups(t, app, 2, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	dead, err := helloPhone(ctx, app, f, f.members[0].ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dead.CloseNow()
	// It never reads again, so it never answers a ping.
	f.fac.waitFor("the phone present", func() bool {
		ms, _ := f.fac.presence["members"].([]any)
		return len(ms) == 1
	})
	f.fac.waitFor("the phone gone", func() bool {
		ms, _ := f.fac.presence["members"].([]any)
		return len(ms) == 0
	})
	waitLog(t, app, "close_code=4009")
}

// TestPhoneClosingDuringPingKeepsItsCode: phones that close normally while
// a ping awaits their pong are logged with their own close code. The ping
// fails then because the connection closed, not because it timed out: a
// 4009 there would report dead phones that were not (the load generator's
// closes at the end of a run showed up so). Whether the ping or the reader
// sees the close first is a race, hence many phones.
func TestPhoneClosingDuringPingKeepsItsCode(t *testing.T) {
	const phones = 20
	// The ping's own timeout (one interval) is far away when a phone
	// closes, a moment after the ping reached it.
	app := newTestApp(t, hub.Options{PingInterval: 2 * time.Second})
	f := setupGroups(t, app, phones, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	errs := make(chan error, phones)
	for _, mem := range f.members {
		go func() {
			pinged := make(chan struct{}, 1)
			phone, err := helloPhone(ctx, app, f, mem.ID, &websocket.DialOptions{OnPingReceived: func(context.Context, []byte) bool {
				select {
				case pinged <- struct{}{}:
				default:
				}
				return false // no pong: the server's ping stays in flight
			}})
			if err != nil {
				errs <- err
				return
			}
			defer phone.CloseNow()
			readErr := readUntilClosed(ctx, phone)
			select {
			case <-pinged:
			case err := <-readErr:
				errs <- fmt.Errorf("closed before the first ping: %w", err)
				return
			case <-ctx.Done():
				errs <- errors.New("no ping in 20 s with a 2 s interval")
				return
			}
			if err := phone.Close(websocket.StatusNormalClosure, "bye"); err != nil {
				errs <- fmt.Errorf("the close handshake failed: %w", err)
				return
			}
			errs <- nil
		}()
	}
	for range phones {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(app.logBuf.String(), "role=participant close_code=") < phones {
		if time.Now().After(deadline) {
			t.Fatalf("%d phones closed, the log says:\n%s", phones, app.logBuf.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := strings.Count(app.logBuf.String(), "role=participant close_code=1000"); n != phones {
		t.Fatalf("%d of %d normal closes logged as such:\n%s", n, phones, app.logBuf.String())
	}
}

// TestLivePhoneIsPingedAgain: a phone that answers is pinged every
// PingInterval, for as long as it stays (the pings are what detect it
// once it vanishes), and stays connected.
func TestLivePhoneIsPingedAgain(t *testing.T) {
	app := newTestApp(t, hub.Options{PingInterval: 100 * time.Millisecond})
	f := setupGroups(t, app, 2, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pings := make(chan struct{}, 64)
	live, err := helloPhone(ctx, app, f, f.members[0].ID, &websocket.DialOptions{OnPingReceived: func(context.Context, []byte) bool {
		select {
		case pings <- struct{}{}:
		default:
		}
		return true
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer live.CloseNow()
	closed := readUntilClosed(ctx, live)
	for n := 0; n < 5; n++ {
		select {
		case <-pings:
		case err := <-closed:
			t.Fatalf("closed after %d pings: %v", n, err)
		case <-ctx.Done():
			t.Fatalf("only %d pings in 10 s with a 100 ms interval", n)
		}
	}
}

// helloPhone dials a bare WebSocket (opts may be nil) and says hello as
// the phone of member of f's meeting; the caller reads it, or not.
func helloPhone(ctx context.Context, app *testApp, f groupFixture, member string, opts *websocket.DialOptions) (*websocket.Conn, error) {
	u := strings.Replace(app.url, "http://", "ws://", 1) + "/ws"
	c, _, err := websocket.Dial(ctx, u, opts)
	if err != nil {
		return nil, err
	}
	hello, _ := json.Marshal(map[string]any{"type": "hello", "meeting": f.m.ID, "token": f.tokens[member], "lastSeq": 0})
	if err := c.Write(ctx, websocket.MessageText, hello); err != nil {
		c.CloseNow()
		return nil, err
	}
	return c, nil
}

// readUntilClosed reads c (answering its pings, unless told otherwise)
// until it fails, and hands over that error.
func readUntilClosed(ctx context.Context, c *websocket.Conn) <-chan error {
	done := make(chan error, 1)
	go func() {
		for {
			if _, _, err := c.Read(ctx); err != nil {
				done <- err
				return
			}
		}
	}()
	return done
}
