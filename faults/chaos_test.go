package faults

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"

	"github.com/boucle/designation/hub"
	"github.com/boucle/designation/store"
	"github.com/boucle/designation/store/bolt"
)

// hostOf is the host:port of a base URL.
func hostOf(base string) string { return strings.TrimPrefix(base, "http://") }

// session is a plain synchronous client for the test's own moves.
type session struct {
	t    *testing.T
	conn *websocket.Conn
	view view
	seq  uint64
}

// connect opens a socket straight to the server and reads the welcome and
// the snapshot.
func connect(t *testing.T, host, meetingID, token string) *session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws://"+host+"/ws", nil)
	if err != nil {
		t.Fatalf("dial %s: %v", host, err)
	}
	conn.SetReadLimit(16 << 20)
	s := &session{t: t, conn: conn}
	hello, _ := json.Marshal(map[string]any{"type": "hello", "meeting": meetingID, "token": token, "lastSeq": 0, "batch": true})
	if err := conn.Write(ctx, websocket.MessageText, hello); err != nil {
		t.Fatal(err)
	}
	p := newPhone("", "", "", "", "", "")
	for {
		_, msg, err := conn.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for the snapshot: %v", err)
		}
		for _, data := range bytes.Split(msg, []byte("\n")) { // one frame per line
			p.handle(data)
			var f frame
			_ = json.Unmarshal(data, &f)
			if f.Type == "snapshot" {
				s.view, s.seq, _ = p.state()
				return s
			}
		}
	}
}

// mustAck sends an op and waits for its ack.
func (s *session) mustAck(typ string, payload any) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	id := uuid.NewString()
	data, _ := json.Marshal(map[string]any{"type": "op", "id": id, "op": typ, "payload": payload})
	if err := s.conn.Write(ctx, websocket.MessageText, data); err != nil {
		s.t.Fatal(err)
	}
	for {
		_, msg, err := s.conn.Read(ctx)
		if err != nil {
			s.t.Fatalf("waiting for the ack of %s: %v", typ, err)
		}
		for _, data := range bytes.Split(msg, []byte("\n")) { // one frame per line
			var f frame
			_ = json.Unmarshal(data, &f)
			if f.ID == id && f.Type == "refused" {
				s.t.Fatalf("%s refused: %s", typ, f.Code)
			}
			if f.ID == id && f.Type == "ack" {
				return
			}
		}
	}
}

func (s *session) close() { s.conn.Close(websocket.StatusNormalClosure, "") }

// TestChaos runs 50 phones editing their breakout groups' lists through a
// proxy that delays frames and cuts connections at random, while the
// server is stopped with SIGTERM once and killed with kill -9 once. At the
// end: no client saw a gap, a duplicate or a refusal other than
// "unavailable"; every op a client saw acked is in the log at the seq it
// was acked with (or behind the snapshot the log was trimmed to); every client's view equals the view a fresh client gets
// after one more restart (the state rebuilt from the log); no redacted
// frame carried a contact detail; and the server's output over all four
// runs holds no secret, token, name, e-mail or phone.
func TestChaos(t *testing.T) {
	const phones = 50
	started := time.Now()
	dataDir := t.TempDir()
	out := &output{}
	srv := startServer(t, dataDir, out)
	f := newFixture(t, srv.url, phones)

	fac := connect(t, hostOf(srv.url), f.ID, f.FacSecret)
	fac.mustAck("step.set", map[string]any{"step": "IV"})
	fac.mustAck("groups.split", map[string]any{})
	fac.close()
	setup := connect(t, hostOf(srv.url), f.ID, f.FacSecret)
	setup.close()
	var mv struct {
		Template struct {
			Binomes []struct{ Key string } `json:"binomes"`
		} `json:"template"`
	}
	b, _ := json.Marshal(setup.view["meeting"][""])
	_ = json.Unmarshal(b, &mv)
	if len(mv.Template.Binomes) == 0 {
		t.Fatal("no binomes in the template")
	}

	proxy, err := newChaosProxy(hostOf(srv.url))
	if err != nil {
		t.Fatal(err)
	}
	proxy.chaos.Store(true)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	clients := make([]*phone, 0, phones)
	for i, m := range f.Members {
		mem, _ := setup.view["members"][m.ID].(map[string]any)
		group, _ := mem["groupId"].(string)
		if group == "" {
			t.Fatalf("member %d is in no group", i)
		}
		p := newPhone(proxy.addr(), f.ID, m.Token, group, mv.Template.Binomes[i%len(mv.Template.Binomes)].Key, fmt.Sprintf("P%02d", i))
		p.editing.Store(true)
		clients = append(clients, p)
		wg.Add(1)
		go func() { defer wg.Done(); p.run(ctx) }()
	}
	stopAll := func() {
		cancel()
		proxy.close()
		wg.Wait()
	}
	defer stopAll()

	// The chaos: edits under cuts and delays, a graceful restart, a crash.
	time.Sleep(4 * time.Second)
	srv.stop()
	srv = startServer(t, dataDir, out)
	proxy.setBackend(hostOf(srv.url))
	time.Sleep(4 * time.Second)
	srv.kill()
	srv = startServer(t, dataDir, out)
	proxy.setBackend(hostOf(srv.url))
	time.Sleep(4 * time.Second)

	// Calm: no new edits, no more cuts; every op gets answered.
	for _, p := range clients {
		p.editing.Store(false)
	}
	proxy.chaos.Store(false)
	waitUntil(t, 20*time.Second, "every op answered", func() string {
		for _, p := range clients {
			if _, _, pending := p.state(); pending > 0 {
				return fmt.Sprintf("%s has %d ops unanswered", p.name, pending)
			}
		}
		return ""
	})
	final := connect(t, hostOf(srv.url), f.ID, f.FacSecret)
	final.close()
	// Each phone's seq stops at the last op it was sent (not other groups'
	// list edits): caught up is having the view a new connection gets.
	want := freshViews(t, hostOf(srv.url), f.ID, f.Members)
	waitUntil(t, 15*time.Second, "every client caught up", func() string { return differsFrom(clients, want) })
	stopAll()
	views := make([]view, len(clients))
	for i, p := range clients {
		views[i], _, _ = p.state()
	}

	// The log itself: every acked op is there, at its acked seq.
	srv.stop()
	inLog := map[string]uint64{}
	oplog, err := bolt.Open(filepath.Join(dataDir, "designation.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	record := func(r store.Record) error {
		inLog[r.ID] = r.Seq
		return nil
	}
	// The ops behind the last snapshot may be trimmed: those are checked
	// through the views (every view equals the rebuilt state) and their seq.
	var trimmedUpTo uint64
	err = oplog.Read(context.Background(), f.ID, 0, record)
	if errors.Is(err, store.ErrTrimmed) {
		trimmedUpTo, _, _, err = oplog.Snapshot(context.Background(), f.ID)
		if err == nil {
			err = oplog.Read(context.Background(), f.ID, trimmedUpTo, record)
		}
	}
	oplog.Close()
	if err != nil {
		t.Fatal(err)
	}
	acked, dials, refusedCount, cut := 0, 0, 0, 0
	for _, p := range clients {
		p.mu.Lock()
		for _, msg := range p.problems {
			t.Errorf("%s: %s", p.name, msg)
		}
		for id, code := range p.refused {
			t.Errorf("%s: op %s refused %s", p.name, id, code)
			refusedCount++
		}
		for id, seq := range p.acked {
			acked++
			if seq > final.seq {
				t.Errorf("%s: op %s acked at seq %d, after the last seq %d", p.name, id, seq, final.seq)
			}
			if seq <= trimmedUpTo {
				continue
			}
			if got, ok := inLog[id]; !ok || got != seq {
				t.Errorf("%s: op %s acked at seq %d, in the log at %d (present %v)", p.name, id, seq, got, ok)
			}
		}
		dials += p.dials
		cut += p.cutFrames
		p.mu.Unlock()
	}

	// The state rebuilt from the log, as a fresh client sees it.
	srv = startServer(t, dataDir, out)
	fresh := connect(t, hostOf(srv.url), f.ID, f.FacSecret)
	fresh.close()
	if fresh.seq != final.seq {
		t.Errorf("after the last restart the meeting is at seq %d, it was at %d", fresh.seq, final.seq)
	}
	rebuilt := freshViews(t, hostOf(srv.url), f.ID, f.Members)
	for i, v := range views {
		if d := firstDifference(v, rebuilt[i]); d != "" {
			t.Fatalf("%s's view differs from the state rebuilt from the log at %s", clients[i].name, d)
		}
	}
	// Every quality a client added and never removed is there, once.
	count := map[string]int{}
	for _, g := range fresh.view["groups"] {
		gb, _ := json.Marshal(g)
		var gv struct {
			Lists map[string]struct {
				Qualities []struct{ ID, Text string } `json:"qualities"`
			} `json:"lists"`
		}
		_ = json.Unmarshal(gb, &gv)
		for _, l := range gv.Lists {
			for _, q := range l.Qualities {
				count[q.ID]++
			}
		}
	}
	for _, p := range clients {
		for _, qid := range p.live {
			if count[qid] != 1 {
				t.Errorf("%s: quality %s is %d times in the final state", p.name, qid, count[qid])
			}
		}
	}

	// Nothing personal or secret where it must not be.
	for _, p := range clients {
		for _, fr := range p.frames {
			if strings.Contains(string(fr), canaryDomain) || strings.Contains(string(fr), canaryPhone) {
				t.Fatalf("%s received a contact detail: %.200s", p.name, fr)
			}
		}
	}
	logged := out.String()
	secrets := []string{f.FacSecret, f.ScrSecret}
	for _, m := range f.Members {
		secrets = append(secrets, m.Token, hub.TokenHash(m.Token), m.Email, m.Phone, m.Name)
	}
	for _, s := range append(secrets, canaryDomain, canaryPhone, "Canari", "qualité", "Alice Faci") {
		if strings.Contains(logged, s) {
			t.Errorf("the server's output holds a secret or personal datum (%.12s…)", s)
		}
	}
	if !strings.Contains(logged, "listening on") {
		t.Fatal("the server's output was not captured")
	}

	if acked < 200 || proxy.cuts.Load() < 20 || dials < 2*phones {
		t.Fatalf("not enough chaos to prove anything: %d ops acked, %d cuts, %d connections", acked, proxy.cuts.Load(), dials)
	}
	t.Logf("%d phones, %d ops acked, %d refused, %d connections, %d cuts (%d inside a frame), final seq %d, %s",
		phones, acked, refusedCount, dials, proxy.cuts.Load(), cut, final.seq, time.Since(started).Round(time.Millisecond))
}

// waitUntil polls cond (which says what it still waits for, or "") until it
// holds or the deadline passes.
func waitUntil(t *testing.T, limit time.Duration, what string, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		missing := cond()
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: %s", what, missing)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
