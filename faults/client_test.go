package faults

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
)

// view is what a client holds of the meeting: one map per snapshot
// collection, every value kept as its canonical decoded JSON.
type view map[string]map[string]any

// collectionOf is the snapshot collection of a change kind
// (docs/PROTOCOL.md).
func collectionOf(kind string) string {
	switch kind {
	case "meeting":
		return "meeting"
	case "bilan":
		return "bilans"
	default:
		return kind + "s"
	}
}

type frame struct {
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

// sentOp is an op a client sent and must see acked or refused.
type sentOp struct {
	id   string
	data []byte
}

// phone is a chaos client: it edits its group's list, keeps its view from
// the snapshot and the changes, reconnects with its lastSeq after every
// drop and sends again every op not yet answered, with the same id.
type phone struct {
	url, meeting, token string
	group, binome       string
	name                string // for its quality texts

	editing atomic.Bool

	mu        sync.Mutex
	view      view
	lastSeq   uint64
	connected bool
	pending   []sentOp          // sent, not answered, in order
	acked     map[string]uint64 // op id -> seq
	texts     map[string]string // acked quality.add: op id -> text
	live      []string          // quality ids added (acked) and not removed
	removed   map[string]bool   // quality ids a remove was sent for
	refused   map[string]string // op id -> code (other than unavailable)
	problems  []string          // protocol violations seen
	frames    [][]byte          // every frame received (redaction check)
	cutFrames int               // messages cut short by a dropped connection
	next      int
	dials     int
}

func newPhone(url, meeting, token, group, binome, name string) *phone {
	return &phone{url: url, meeting: meeting, token: token, group: group, binome: binome, name: name,
		view: view{}, acked: map[string]uint64{}, texts: map[string]string{}, removed: map[string]bool{}, refused: map[string]string{}}
}

func (p *phone) problem(format string, args ...any) {
	p.problems = append(p.problems, fmt.Sprintf(format, args...))
}

// run connects again and again until ctx ends.
func (p *phone) run(ctx context.Context) {
	for ctx.Err() == nil {
		p.session(ctx)
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(20+rand.IntN(150)) * time.Millisecond):
		}
	}
}

// session is one connection: hello with lastSeq, the unanswered ops again,
// then new edits until the connection drops.
func (p *phone) session(ctx context.Context) {
	dctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	conn, _, err := websocket.Dial(dctx, "ws://"+p.url+"/ws", nil)
	cancel()
	if err != nil {
		return
	}
	defer conn.CloseNow()
	conn.SetReadLimit(16 << 20)
	cctx, stop := context.WithCancel(ctx)
	defer stop()

	p.mu.Lock()
	p.dials++
	hello, _ := json.Marshal(map[string]any{"type": "hello", "meeting": p.meeting, "token": p.token, "lastSeq": p.lastSeq, "batch": true})
	resend := append([]sentOp(nil), p.pending...)
	p.mu.Unlock()
	if write(cctx, conn, hello) != nil {
		return
	}
	for _, op := range resend {
		if write(cctx, conn, op.data) != nil {
			return
		}
	}
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		defer stop()
		for {
			_, msg, err := conn.Read(cctx)
			if err != nil {
				code := websocket.CloseStatus(err)
				if code == 4000 || code == 4001 || code == 4004 || code == 4005 {
					p.mu.Lock()
					p.problem("closed with %d: %v", code, err)
					p.mu.Unlock()
				}
				return
			}
			// A message holds one frame or several, one per line.
			for _, data := range bytes.Split(msg, []byte("\n")) {
				if !json.Valid(data) {
					p.truncated(cctx, conn, data)
					return
				}
				if !p.handle(data) {
					return // a gap: reconnect with lastSeq
				}
			}
		}
	}()
	defer func() { <-readDone }()
	for {
		select {
		case <-cctx.Done():
			return
		case <-time.After(time.Duration(120+rand.IntN(200)) * time.Millisecond):
		}
		if !p.editing.Load() {
			continue
		}
		op, ok := p.nextOp()
		if !ok {
			continue
		}
		if write(cctx, conn, op.data) != nil {
			return
		}
	}
}

func write(ctx context.Context, c *websocket.Conn, data []byte) error {
	wctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	return c.Write(wctx, websocket.MessageText, data)
}

// nextOp makes the next edit: add a quality, or remove the oldest of this
// phone's live ones once it has three (so lists never fill up).
func (p *phone) nextOp() (sentOp, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.connected || len(p.pending) > 8 {
		return sentOp{}, false
	}
	p.next++
	id := uuid.NewString()
	var payload map[string]any
	typ := "quality.add"
	if len(p.live) >= 3 {
		typ = "quality.remove"
		qid := p.live[0]
		p.live = p.live[1:]
		p.removed[qid] = true
		payload = map[string]any{"groupId": p.group, "binome": p.binome, "quality": map[string]any{"id": qid}}
	} else {
		qid := fmt.Sprintf("q-%s-%d", p.name, p.next)
		text := fmt.Sprintf("%s qualité %d", p.name, p.next)
		payload = map[string]any{"groupId": p.group, "binome": p.binome, "quality": map[string]any{"id": qid, "text": text}}
	}
	data, _ := json.Marshal(map[string]any{"type": "op", "id": id, "op": typ, "payload": payload})
	op := sentOp{id: id, data: data}
	p.pending = append(p.pending, op)
	return op, true
}

// truncated handles a message that is not JSON. coder/websocket v1.8.15
// returns a message cut short by a dropped connection as if it were whole
// when the cut falls on a read boundary inside the frame's payload
// (msgReader.Read maps the io.EOF of io.ReadFull to the end of the
// message). The server only ever sends JSON, so this is a cut when the
// connection turns out dead; on a live connection it is the server's bug.
func (p *phone) truncated(ctx context.Context, conn *websocket.Conn, data []byte) {
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, _, err := conn.Read(rctx)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err == nil || errors.Is(err, context.DeadlineExceeded) {
		p.problem("frame of %d bytes is not JSON on a live connection: %.100s", len(data), data)
		return
	}
	p.cutFrames++
}

// handle applies one frame; false asks for a reconnect.
func (p *phone) handle(data []byte) bool {
	var f frame
	if err := json.Unmarshal(data, &f); err != nil {
		p.mu.Lock()
		p.problem("frame of %d bytes is not JSON (%v): %.100s … %s", len(data), err, data, data[max(0, len(data)-100):])
		p.mu.Unlock()
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.frames = append(p.frames, data)
	switch f.Type {
	case "welcome":
		p.connected = true
	case "snapshot":
		p.view = view{}
		for key, raw := range f.State {
			switch key {
			case "id", "seq", "audience":
			case "meeting":
				var v any
				_ = json.Unmarshal(raw, &v)
				p.view["meeting"] = map[string]any{"": v}
			default:
				var m map[string]any
				_ = json.Unmarshal(raw, &m)
				if len(m) > 0 {
					p.view[key] = m
				}
			}
		}
		p.lastSeq = f.Seq
	case "changes":
		// A phone is not sent other groups' list edits: its seqs skip,
		// but never go back or repeat.
		if f.Seq <= p.lastSeq {
			p.problem("changes seq %d after %d", f.Seq, p.lastSeq)
			return false
		}
		p.lastSeq = f.Seq
		for _, ch := range f.Changes {
			coll := collectionOf(ch.Kind)
			if string(ch.Value) == "null" || len(ch.Value) == 0 {
				delete(p.view[coll], ch.ID)
				if len(p.view[coll]) == 0 {
					delete(p.view, coll)
				}
				continue
			}
			var v any
			_ = json.Unmarshal(ch.Value, &v)
			if p.view[coll] == nil {
				p.view[coll] = map[string]any{}
			}
			p.view[coll][ch.ID] = v
		}
	case "ack":
		if prev, ok := p.acked[f.ID]; ok && prev != f.Seq {
			p.problem("op %s acked at seq %d then %d", f.ID, prev, f.Seq)
		}
		p.acked[f.ID] = f.Seq
		p.answered(f.ID, true)
	case "refused":
		if f.Code == "unavailable" {
			return true // stays pending: sent again on the next connection
		}
		p.refused[f.ID] = f.Code
		p.answered(f.ID, false)
	}
	return true
}

// answered takes op id out of pending; an acked add becomes live.
func (p *phone) answered(id string, ok bool) {
	for i, op := range p.pending {
		if op.id != id {
			continue
		}
		p.pending = append(p.pending[:i], p.pending[i+1:]...)
		var f struct {
			Op      string `json:"op"`
			Payload struct {
				Quality struct{ ID, Text string } `json:"quality"`
			} `json:"payload"`
		}
		_ = json.Unmarshal(op.data, &f)
		if ok && f.Op == "quality.add" {
			p.live = append(p.live, f.Payload.Quality.ID)
			p.texts[id] = f.Payload.Quality.Text
		}
		return
	}
}

// snapshot returns a copy of what the test checks at the end.
func (p *phone) state() (v view, lastSeq uint64, pending int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return cloneView(p.view), p.lastSeq, len(p.pending)
}

func cloneView(v view) view {
	b, _ := json.Marshal(v)
	var out view
	_ = json.Unmarshal(b, &out)
	return out
}

// freshViews is the view a new connection with each member's token gets
// from host: a phone's view holds its own group's lists only.
func freshViews(t *testing.T, host, meetingID string, members []member) []view {
	t.Helper()
	views := make([]view, len(members))
	for i, m := range members {
		s := connect(t, host, meetingID, m.Token)
		s.close()
		views[i] = s.view
	}
	return views
}

// differsFrom names the first phone whose view is not want[i] ("" if none).
func differsFrom(clients []*phone, want []view) string {
	for i, p := range clients {
		v, _, _ := p.state()
		if d := firstDifference(v, want[i]); d != "" {
			return fmt.Sprintf("%s's view differs at %s", p.name, d)
		}
	}
	return ""
}

// firstDifference names the first entity where two views differ.
func firstDifference(a, b view) string {
	colls := map[string]bool{}
	for k := range a {
		colls[k] = true
	}
	for k := range b {
		colls[k] = true
	}
	keys := make([]string, 0, len(colls))
	for k := range colls {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, c := range keys {
		ids := map[string]bool{}
		for id := range a[c] {
			ids[id] = true
		}
		for id := range b[c] {
			ids[id] = true
		}
		for id := range ids {
			if !reflect.DeepEqual(a[c][id], b[c][id]) {
				x, _ := json.Marshal(a[c][id])
				y, _ := json.Marshal(b[c][id])
				return fmt.Sprintf("%s/%s:\n got %.600s\nwant %.600s", c, id, x, y)
			}
		}
	}
	return ""
}
