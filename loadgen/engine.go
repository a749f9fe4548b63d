package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// Client roles in a meeting.
const (
	roleParticipant uint8 = iota
	roleProjector
	roleFacilitator
)

// Op states.
const (
	opPlanned uint32 = iota
	opSent
	opAcked
	opRefused
	opUnsent // its connection was gone
)

// opRecord follows one op of the run from send to ack and to every screen.
// Times are nanoseconds since the start of the measured phase, plus one (0
// means "not yet").
type opRecord struct {
	sentAt   atomic.Int64
	ackLat   atomic.Int64 // edit→ack, ns
	state    atomic.Uint32
	projSeen atomic.Bool
	seenBy   atomic.Int32 // clients that saw it: an edit's group peers, a step change's screens
	step     bool         // a facilitator's step change (seen by every connection)
	nearStep bool         // an edit planned within stepWindow after a step change
	third    int8         // the third of the measured phase it was planned in (0, 1, 2)
	meeting  int32        // index
	sender   int32        // participant index, or -1 for a facilitator
	group    int32        // the sender's group index (-1 for a facilitator)
	// seq is the op's seq on our server, from its ack; guarded by its
	// meeting's resumeMu (a resume by snapshot reads it).
	seq uint64
}

// stepWindow: an edit planned this long after a step change is "near" it
// (see Result.LatAckCalm). Every meeting changes step at the same instant;
// 10,300 screens switch in 0.2–0.5 s on a 2-core machine.
const stepWindow = time.Second

// meetingRun is one meeting of the run, as the generator knows it.
type meetingRun struct {
	idx          int
	id           string
	adminSecret  string
	screenSecret string
	binomes      []string // binome keys, template order
	groupIDs     []string // group ids by group index
	groupOf      []int32  // participant index → group index
	memberIDs    []string // participant index → member id
	tokens       []string // participant index → token
	participants []*client
	projector    *client
	facilitators [2]*client

	// Our server: the reconnections of this meeting's clients that were
	// answered by a snapshot (see resumedBySnapshot).
	resumeMu sync.Mutex
	resumes  []resumeSnap
}

// clients lists every client of the meeting: its facilitators, its
// projector, then its participants.
func (m *meetingRun) clients() []*client {
	return append([]*client{m.facilitators[0], m.facilitators[1], m.projector}, m.participants...)
}

// client is one WebSocket of the run.
type client struct {
	r     *runner
	m     *meetingRun
	role  uint8
	idx   int32 // participant index, or facilitator 0/1
	group int32 // participant's group index, -1 otherwise
	token string

	sess atomic.Pointer[session] // the current connection
	gone atomic.Bool             // the connection ended and will not come back
	byUs atomic.Bool             // we closed it

	// sendMu orders what goes out on the connection: the dispatcher's ops
	// and, after a reconnection, the ones re-sent, in plan order.
	sendMu   sync.Mutex
	down     bool  // the connection dropped and a reconnection is under way (sendMu)
	inflight []int // ops sent and maybe not answered yet, in order (sendMu; with -reconnect)
	lastSeq  atomic.Uint64
	rx       atomic.Int64 // the kernel's receive time of the message its reader is handling (session.lastRx)
	cfPos    []cfPosition // centrifuge: each subscription's position in its stream

	// Setup ops (not measured) waiting for their ack or refusal.
	mu       sync.Mutex
	pending  map[string]chan string // op id → "" (acked) or the refusal code
	snapshot []byte                 // last snapshot, when keepSnapshot
	keepSnap bool
}

// runner is one run of the workload against one target.
type runner struct {
	cfg     *config
	t       *target
	stderr  io.Writer
	plan    []Intent
	waves   []time.Duration
	ops     []opRecord
	prefix  string // op ids are prefix + 12 hex digits of the op index
	qprefix string // quality ids likewise
	cfBase  uint64 // centrifuge: command id of op 0 (1 is connect, 2 up to cfBase-1 the subscriptions)
	runTag  string // tells this run's meetings apart on a shared server

	meetingOps [][]int // each meeting's op indexes

	meetings  []*meetingRun
	groupSize []map[int32]int32 // meeting → group → connected participants
	screens   []int32           // meeting → connected clients (each sees its step changes)
	start     time.Time
	measure   atomic.Bool

	frames, bytes  atomic.Uint64
	lastFrame      atomic.Int64 // since() of the last frame counted
	disconnects    atomic.Int64
	reconnects     atomic.Int64 // reconnections that resumed
	bySnapshot     atomic.Int64 // of those, answered by a snapshot rather than the missed changes
	resent         atomic.Int64 // ops written again (or held while down) after a reconnection
	connectFails   atomic.Int64
	unsent         atomic.Int64
	refusalsLogged atomic.Int64

	mu          sync.Mutex
	refused     map[string]int
	errorFrames map[string]int

	hAck, hProj, hPeer, hStep, hLag Histogram
	hAway                           Histogram   // a reconnected client: from the drop to its resumed connection
	hAckCalm, hProjCalm             Histogram   // edits planned outside the step changes (nearStep false)
	hAckRx, hProjRx                 Histogram   // hAck and hProj to the time the kernel received the frame (rxtime.go)
	hWaves                          []Histogram // hStep, one per step change (wave)
	// hAckThirds and hProjThirds are hAck and hProj by the third of the
	// measured phase the op was planned in: a tail that grows over a run
	// (a long run holds trims, a longer history, bigger lists) shows as
	// a last third slower than the first.
	hAckThirds, hProjThirds [3]Histogram

	bufs   sync.Pool
	httpMu sync.Mutex
	httpBy map[string]*http.Client // by loopback source address
}

func newRunner(cfg *config, t *target, stderr io.Writer) *runner {
	wl := cfg.wl
	r := &runner{
		cfg:         cfg,
		t:           t,
		stderr:      stderr,
		plan:        wl.Plan(),
		waves:       wl.Waves(),
		refused:     map[string]int{},
		errorFrames: map[string]int{},
		httpBy:      map[string]*http.Client{},
	}
	r.bufs.New = func() any { return new(bytes.Buffer) }
	seed := wl.Seed
	tag := uint32(time.Now().UnixNano())
	r.prefix = fmt.Sprintf("%08x-%04x-4%03x-8%03x-", uint32(seed>>32)^tag, uint16(seed>>16), uint16(seed)&0xfff, tag&0xfff)
	r.qprefix = fmt.Sprintf("%08x-", tag^0x5a5a5a5a)
	r.runTag = strconv.FormatUint(uint64(tag), 36)
	r.ops = make([]opRecord, len(r.plan)+len(r.waves)*wl.Meetings)
	r.hWaves = make([]Histogram, len(r.waves))
	r.meetingOps = make([][]int, wl.Meetings)
	third := func(at time.Duration) int8 {
		if wl.Duration <= 0 {
			return 0
		}
		return int8(min(2, max(0, 3*at/wl.Duration)))
	}
	for i, in := range r.plan {
		r.ops[i].meeting = in.Meeting
		r.ops[i].third = third(in.At)
		r.meetingOps[in.Meeting] = append(r.meetingOps[in.Meeting], i)
		r.ops[i].sender = in.Participant
		for _, w := range r.waves {
			if in.At >= w && in.At < w+stepWindow {
				r.ops[i].nearStep = true
			}
		}
	}
	for w := range r.waves {
		for m := 0; m < wl.Meetings; m++ {
			op := &r.ops[len(r.plan)+w*wl.Meetings+m]
			op.step, op.meeting, op.sender, op.group = true, int32(m), -1, -1
			op.third = third(r.waves[w])
			r.meetingOps[m] = append(r.meetingOps[m], len(r.plan)+w*wl.Meetings+m)
		}
	}
	return r
}

// opID is the id of op i: a UUID whose last 12 hex digits are i.
func (r *runner) opID(i int) string {
	return r.prefix + fmt.Sprintf("%012x", i)
}

// opIndex reads the op index back from an id of this run (-1 otherwise).
func (r *runner) opIndex(id []byte) int {
	if len(id) != len(r.prefix)+12 || string(id[:len(r.prefix)]) != r.prefix {
		return -1
	}
	n, err := strconv.ParseUint(string(id[len(r.prefix):]), 16, 64)
	if err != nil || n >= uint64(len(r.ops)) {
		return -1
	}
	return int(n)
}

// qualityID is a participant's n-th quality: a UUID unique in the run.
func (r *runner) qualityID(m, p int32, serial uint32) string {
	return fmt.Sprintf("%s%04x-4%03x-9%03x-%012x", r.qprefix, uint16(m), uint16(p>>12)&0xfff, uint16(p)&0xfff, serial)
}

// since is the time since the start of the measured phase, plus one.
func (r *runner) since() int64 { return int64(time.Since(r.start)) + 1 }

func (r *runner) countRefused(code string) {
	r.mu.Lock()
	r.refused[code]++
	r.mu.Unlock()
}

// logRefusal says whether to print a refusal: the first ten only.
func (r *runner) logRefusal() bool {
	return r.refusalsLogged.Add(1) <= 10
}

func (r *runner) countErrorFrame(code string) {
	r.mu.Lock()
	r.errorFrames[code]++
	r.mu.Unlock()
}

func (r *runner) centrifuge() bool { return r.t.kind == targetCentrifuge }

// dial opens c's first WebSocket and sends its hello (or centrifuge's
// connect and subscribe), then starts its reader.
func (c *client) dial(ctx context.Context) error {
	c.pending = map[string]chan string{}
	s, err := c.open(ctx, false)
	if err != nil {
		return err
	}
	c.sendMu.Lock()
	c.sess.Store(s)
	c.sendMu.Unlock()
	go c.readLoop(s)
	return nil
}

// open dials a WebSocket for c and sends its hello: from nothing, or, when
// resume, from where c's previous connection left off (lastSeq; centrifuge:
// each subscription's epoch and offset). The caller starts its reader.
func (c *client) open(ctx context.Context, resume bool) (*session, error) {
	r := c.r
	h := http.Header{}
	h.Set("Origin", r.t.baseURL)
	slot := new(rxSlot)
	conn, _, err := websocket.Dial(context.WithValue(ctx, rxSlotKey{}, slot), r.t.wsURL(), &websocket.DialOptions{
		HTTPClient:      wsClient,
		HTTPHeader:      h,
		CompressionMode: websocket.CompressionDisabled,
	})
	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	conn.SetReadLimit(16 << 20)
	s := &session{conn: conn, rx: slot.stamper(), resume: resume, ready: make(chan struct{}), dead: make(chan struct{})}
	var hello []byte
	switch {
	case r.centrifuge():
		name := c.m.id + "/" + strconv.Itoa(int(c.role)) + "/" + strconv.Itoa(int(c.idx))
		hello = []byte(`{"id":1,"connect":{"token":` + strconv.Quote(name) + `,"name":"loadgen"}}`)
		channels := c.centrifugeChannels()
		if c.cfPos == nil {
			c.cfPos = make([]cfPosition, len(channels))
		}
		for k, ch := range channels {
			hello = append(hello, "\n{\"id\":"+strconv.Itoa(2+k)+`,"subscribe":{"channel":`+strconv.Quote(ch)+`,"recover":true`...)
			if p := c.cfPos[k]; resume && p.epoch != "" {
				hello = append(hello, `,"epoch":`+strconv.Quote(p.epoch)+`,"offset":`+strconv.FormatUint(p.offset, 10)...)
			}
			hello = append(hello, "}}"...)
		}
	case r.t.kind == targetBare:
		// The bare hub has no tokens to read a role and a group from: the
		// hello says them (our server is never sent these fields). It
		// keeps no history: a reconnection starts from nothing.
		hello = []byte(`{"type":"hello","meeting":` + strconv.Quote(c.m.id) + `,"token":` + strconv.Quote(c.token) +
			`,"lastSeq":0,"lang":"fr","role":"` + roleName(c.role) + `"`)
		if c.group >= 0 {
			hello = append(hello, `,"group":`+strconv.Quote(c.m.groupIDs[c.group])...)
		}
		hello = append(hello, '}')
	default:
		var last uint64
		if resume {
			last = c.lastSeq.Load()
		}
		hello = []byte(`{"type":"hello","meeting":` + strconv.Quote(c.m.id) + `,"token":` + strconv.Quote(c.token) +
			`,"lastSeq":` + strconv.FormatUint(last, 10) + `,"lang":"fr","batch":true,"lists":true}`)
	}
	if err := conn.Write(ctx, websocket.MessageText, hello); err != nil {
		conn.CloseNow()
		return nil, fmt.Errorf("hello: %w", err)
	}
	return s, nil
}

// readLoop reads every frame of s until the connection ends.
func (c *client) readLoop(s *session) {
	ctx := context.Background()
	for {
		_, rd, err := s.conn.Reader(ctx)
		if err == nil {
			buf := c.r.bufs.Get().(*bytes.Buffer)
			buf.Reset()
			_, err = buf.ReadFrom(rd)
			if err == nil {
				c.rx.Store(s.lastRx())
				if c.r.centrifuge() {
					c.handleCentrifuge(s, buf.Bytes())
				} else {
					// Our server may put several frames in one message,
					// one per line (docs/PROTOCOL.md).
					for msg := buf.Bytes(); len(msg) > 0; {
						line := msg
						if i := bytes.IndexByte(msg, '\n'); i >= 0 {
							line, msg = msg[:i], msg[i+1:]
						} else {
							msg = nil
						}
						c.handle(s, line)
					}
				}
			}
			c.r.bufs.Put(buf)
		}
		if err != nil {
			c.ended(s, err)
			return
		}
	}
}

// roleName is a role as the bare hub's hello names it.
func roleName(role uint8) string {
	switch role {
	case roleProjector:
		return "projector"
	case roleFacilitator:
		return "facilitator"
	}
	return "participant"
}

// meetingChannel is the centrifuge channel of a meeting's meeting-wide ops
// (step changes); groupChannel the channel of one breakout group's list
// edits. Routing by channel is how centrifuge does what our hub does by lens.
func meetingChannel(m *meetingRun) string { return "m:" + m.id }

func groupChannel(m *meetingRun, group int32) string {
	return "m:" + m.id + ":g:" + m.groupIDs[group]
}

// centrifugeChannels are the channels c subscribes to: a phone its
// meeting's and its group's, the projector and the facilitators their
// meeting's and every group's.
func (c *client) centrifugeChannels() []string {
	out := []string{meetingChannel(c.m)}
	if c.role == roleParticipant {
		if c.group >= 0 {
			out = append(out, groupChannel(c.m, c.group))
		}
		return out
	}
	for g := range c.m.groupIDs {
		out = append(out, groupChannel(c.m, int32(g)))
	}
	return out
}

func (c *client) count(n int) {
	if c.r.measure.Load() {
		c.r.frames.Add(1)
		c.r.bytes.Add(uint64(n))
		c.r.lastFrame.Store(c.r.since())
	}
}

// handle is one frame of our protocol, read on s.
func (c *client) handle(s *session, f []byte) {
	c.count(len(f))
	switch string(topString(f, "type")) {
	case "changes":
		if seq, ok := topUint(f, "seq"); ok {
			c.lastSeq.Store(seq) // in order: the highest so far
		}
		if i := c.r.opIndex(topString(f, "opId")); i >= 0 {
			c.seen(i)
		}
	case "ack":
		id := topString(f, "id")
		if i := c.r.opIndex(id); i >= 0 {
			seq, _ := topUint(f, "seq")
			c.acked(i, seq)
		} else {
			c.settle(string(id), "")
		}
	case "refused":
		id := topString(f, "id")
		code := string(topString(f, "code"))
		if i := c.r.opIndex(id); i >= 0 {
			c.refusedOp(i, code)
			if c.r.logRefusal() {
				fmt.Fprintf(c.r.stderr, "refused: %s\n", f)
			}
		} else {
			c.settle(string(id), code)
			fmt.Fprintf(c.r.stderr, "setup op refused: %s\n", f)
		}
	case "welcome":
		// A resume on our server is ready at once: the missed changes,
		// or a snapshot, follow. The bare hub always sends a snapshot.
		if s.resume && c.r.t.kind != targetBare {
			s.markReady()
		}
	case "snapshot":
		seq, _ := topUint(f, "seq")
		if s.resume && c.r.t.kind != targetBare {
			c.r.resumedBySnapshot(c, c.lastSeq.Load(), seq)
		}
		c.lastSeq.Store(seq)
		if c.keepSnap {
			c.mu.Lock()
			c.snapshot = append([]byte(nil), f...)
			c.mu.Unlock()
		}
		s.markReady()
	case "error":
		code := string(topString(f, "code"))
		c.r.countErrorFrame(code)
		fmt.Fprintf(c.r.stderr, "error frame: %s\n", f)
	}
}

// handleCentrifuge is one WebSocket message of centrifuge's JSON protocol,
// read on s: one or more replies separated by newlines.
func (c *client) handleCentrifuge(s *session, msg []byte) {
	for len(msg) > 0 {
		line := msg
		if i := bytes.IndexByte(msg, '\n'); i >= 0 {
			line, msg = msg[:i], msg[i+1:]
		} else {
			msg = nil
		}
		if len(line) == 0 {
			continue
		}
		if string(line) == "{}" { // server ping: answer pong
			// Not counted as a delivered frame: our server and the bare
			// hub ping with WebSocket control frames, which no client
			// reads as a message.
			go s.conn.Write(context.Background(), websocket.MessageText, []byte("{}"))
			continue
		}
		c.count(len(line))
		if push := topField(line, "push"); push != nil {
			if pub := topField(push, "pub"); pub != nil {
				c.publication(c.channelIndex(topString(push, "channel")), pub)
			}
			continue
		}
		id, _ := topUint(line, "id")
		base := c.r.cfBase
		if e := topField(line, "error"); e != nil {
			code, _ := topUint(e, "code")
			if id >= base && id-base < uint64(len(c.r.ops)) {
				c.refusedOp(int(id-base), "centrifuge_"+strconv.FormatUint(code, 10))
			} else {
				c.r.countErrorFrame("centrifuge_" + strconv.FormatUint(code, 10))
				fmt.Fprintf(c.r.stderr, "centrifuge error reply: %s\n", line)
			}
			continue
		}
		switch {
		case id >= 2 && id < base:
			c.subscribed(int(id-2), topField(line, "subscribe"))
			if int(s.subsOK.Add(1)) == len(c.cfPos) {
				s.markReady()
			}
		case id >= base && id-base < uint64(len(c.r.ops)):
			c.acked(int(id-base), 0)
		}
	}
}

// seen records that c received op i's changes, in the message its reader
// is handling.
func (c *client) seen(i int) {
	at := c.r.since()
	c.seenAt(i, at, atSocket(c.rx.Load(), at))
}

// seenAt records that c received op i's changes at since() = at, having
// reached its socket at since() = rx (atSocket).
func (c *client) seenAt(i int, at, rx int64) {
	r := c.r
	op := &r.ops[i]
	sent := op.sentAt.Load()
	if sent == 0 || op.meeting != int32(c.m.idx) {
		return
	}
	lat := time.Duration(at - sent)
	latRx := time.Duration(rx - sent)
	switch {
	case op.step:
		op.seenBy.Add(1)
		r.hStep.Record(lat)
		r.hWaves[(i-len(r.plan))/len(r.meetings)].Record(lat)
	case c.role == roleProjector:
		if op.projSeen.CompareAndSwap(false, true) {
			r.hProj.Record(lat)
			r.hProjRx.Record(latRx)
			r.hProjThirds[op.third].Record(lat)
			if !op.nearStep {
				r.hProjCalm.Record(lat)
			}
		}
	case c.role == roleParticipant && c.group == op.group && c.idx != op.sender:
		op.seenBy.Add(1)
		r.hPeer.Record(lat)
	}
}

// acked records op i's ack; seq is its seq on our server (0 if unknown).
func (c *client) acked(i int, seq uint64) {
	op := &c.r.ops[i]
	if seq > 0 {
		c.r.noteSeq(i, seq)
	}
	if op.state.CompareAndSwap(opSent, opAcked) {
		now := c.r.since()
		lat := now - op.sentAt.Load()
		op.ackLat.Store(lat)
		c.r.hAck.Record(time.Duration(lat))
		c.r.hAckRx.Record(time.Duration(atSocket(c.rx.Load(), now) - op.sentAt.Load()))
		c.r.hAckThirds[op.third].Record(time.Duration(lat))
		if !op.step && !op.nearStep {
			c.r.hAckCalm.Record(time.Duration(lat))
		}
	}
}

func (c *client) refusedOp(i int, code string) {
	if c.r.ops[i].state.CompareAndSwap(opSent, opRefused) {
		c.r.countRefused(code)
	}
}

// settle answers a setup op.
func (c *client) settle(id, code string) {
	c.mu.Lock()
	ch, ok := c.pending[id]
	delete(c.pending, id)
	c.mu.Unlock()
	if ok {
		ch <- code
	}
}

// setupOp is one op of the set-up, outside the measured plan.
type setupOp struct{ id, op, payload string }

// setupOps sends ops outside the measured plan, up to inFlight of them
// before waiting for answers (the server reads at most its MaxInFlight ops of
// one connection ahead of its answers), and returns once every one is
// acked; a refusal is an error carrying its code. The server applies one
// connection's ops in the order sent, so ops of one call may rest on each
// other.
func (c *client) setupOps(ctx context.Context, ops []setupOp) error {
	const inFlight = 16
	chans := make([]chan string, len(ops))
	wait := func(k int) error {
		select {
		case code := <-chans[k]:
			if code != "" {
				return fmt.Errorf("%s refused: %s", ops[k].op, code)
			}
			return nil
		case <-ctx.Done():
			return fmt.Errorf("%s: no answer: %w", ops[k].op, ctx.Err())
		}
	}
	for k, o := range ops {
		if k >= inFlight {
			if err := wait(k - inFlight); err != nil {
				return err
			}
		}
		chans[k] = make(chan string, 1)
		c.mu.Lock()
		c.pending[o.id] = chans[k]
		c.mu.Unlock()
		frame := `{"type":"op","id":` + strconv.Quote(o.id) + `,"op":` + strconv.Quote(o.op) + `,"payload":` + o.payload + `}`
		if err := c.sess.Load().conn.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
			return fmt.Errorf("send %s: %w", o.op, err)
		}
	}
	for k := max(0, len(ops)-inFlight); k < len(ops); k++ {
		if err := wait(k); err != nil {
			return err
		}
	}
	return nil
}

// send writes op i (an edit of the plan, or a step change) on its client.
// While the client reconnects, the op waits for it (a phone keeps the
// edits made while offline and sends them once back).
func (r *runner) send(ctx context.Context, i int) {
	op := &r.ops[i]
	c := r.opClient(i)
	if c == nil {
		r.unsent.Add(1)
		op.state.Store(opUnsent)
		return
	}
	frame := r.opFrame(c, i)
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	if c.gone.Load() || c.sess.Load() == nil {
		r.unsent.Add(1)
		op.state.Store(opUnsent)
		return
	}
	op.state.Store(opSent)
	op.sentAt.Store(r.since())
	if r.cfg.reconnect {
		for len(c.inflight) > 0 && r.ops[c.inflight[0]].state.Load() != opSent {
			c.inflight = c.inflight[1:]
		}
		c.inflight = append(c.inflight, i)
		if c.down {
			return
		}
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	err := c.sess.Load().conn.Write(wctx, websocket.MessageText, frame)
	cancel()
	// With -reconnect a failed write is sent again once reconnected (the
	// connection is closed: its reader sees it and reconnects).
	if err != nil && !r.cfg.reconnect && op.state.CompareAndSwap(opSent, opUnsent) {
		r.unsent.Add(1)
	}
}

// opClient is the client that sends op i: a step change's facilitator, an
// edit's participant (nil if it was never connected).
func (r *runner) opClient(i int) *client {
	op := &r.ops[i]
	m := r.meetings[op.meeting]
	if op.step {
		return m.facilitators[(i-len(r.plan))/len(r.meetings)%2]
	}
	c := m.participants[r.plan[i].Participant]
	if c != nil {
		op.group = c.group
	}
	return c
}

// opFrame is op i as c sends it.
func (r *runner) opFrame(c *client, i int) []byte {
	op := &r.ops[i]
	m := c.m
	var kind, payload string
	if op.step {
		kind = "step.set"
		payload = `{"step":"V"}`
		if (i-len(r.plan))/len(r.meetings)%2 == 1 {
			payload = `{"step":"IV"}`
		}
	} else {
		in := &r.plan[i]
		q := `{"id":"` + r.qualityID(in.Meeting, in.Participant, in.Serial) + `","text":` + strconv.Quote(in.Text) + `}`
		switch in.Kind {
		case editAdd:
			kind = "quality.add"
		case editEdit:
			kind = "quality.edit"
		default:
			kind = "quality.remove"
			q = `{"id":"` + r.qualityID(in.Meeting, in.Participant, in.Serial) + `","text":""}`
		}
		payload = `{"groupId":` + strconv.Quote(m.groupIDs[c.group]) + `,"binome":` + strconv.Quote(m.binomes[int(in.Binome)%len(m.binomes)]) +
			`,"quality":` + q + `}`
	}
	if r.centrifuge() {
		// A list edit goes to its group's channel, a step change to the
		// meeting's, as our hub routes them.
		channel := meetingChannel(m)
		if !op.step {
			channel = groupChannel(m, c.group)
		}
		return []byte(`{"id":` + strconv.FormatUint(uint64(i)+r.cfBase, 10) + `,"publish":{"channel":` + strconv.Quote(channel) +
			`,"data":{"opId":"` + r.opID(i) + `","op":"` + kind + `","payload":` + payload + `}}}`)
	}
	return []byte(`{"type":"op","id":"` + r.opID(i) + `","op":"` + kind + `","payload":` + payload + `}`)
}

// dispatch sends the plan and the step waves at their offsets, through a
// pool of senders (a write blocked by one slow server connection does not
// delay the others), and returns once everything was handed out.
func (r *runner) dispatch(ctx context.Context) {
	// A connection's ops always go through the same sender, so that they
	// are written in plan order (a phone sends its edits in order: an edit
	// must not overtake the add of the quality it edits).
	const senders = 64
	queues := make([]chan int, senders)
	var wg sync.WaitGroup
	for w := range queues {
		queues[w] = make(chan int, 256)
		wg.Add(1)
		go func(q chan int) {
			defer wg.Done()
			for i := range q {
				r.send(ctx, i)
			}
		}(queues[w])
	}
	participants := len(r.meetings[0].participants)
	enqueue := func(i int) {
		op := &r.ops[i]
		conn := int(op.meeting) * (participants + 2)
		if op.step {
			conn += participants + (i-len(r.plan))/len(r.meetings)%2
		} else {
			conn += int(op.sender)
		}
		queues[conn%senders] <- i
	}
	timer := time.NewTimer(0)
	<-timer.C
	at := func(d time.Duration) bool {
		due := r.start.Add(d)
		if wait := time.Until(due); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-ctx.Done():
				return false
			}
		}
		r.hLag.Record(time.Since(due))
		return true
	}
	p, w := 0, 0
	for p < len(r.plan) || w < len(r.waves) {
		if w < len(r.waves) && (p >= len(r.plan) || r.waves[w] <= r.plan[p].At) {
			if !at(r.waves[w]) {
				break
			}
			for m := range r.meetings {
				enqueue(len(r.plan) + w*len(r.meetings) + m)
			}
			w++
			continue
		}
		if !at(r.plan[p].At) {
			break
		}
		enqueue(p)
		p++
	}
	for _, q := range queues {
		close(q)
	}
	wg.Wait()
}

// settled says whether every sent op got its ack or refusal, and every
// acked edit reached the projector and the group peers that are connected.
func (r *runner) settled() bool {
	for i := range r.ops {
		op := &r.ops[i]
		switch op.state.Load() {
		case opSent:
			return false
		case opAcked:
			if op.step {
				continue
			}
			if !op.projSeen.Load() && !r.projectorGone(op) {
				return false // a closed projector will not see it: do not wait for it
			}
			if op.seenBy.Load() < r.peersOf(op) {
				return false
			}
		}
	}
	return true
}

// projectorGone tells whether op's meeting lost its projector for good
// (closed by the target, and not reconnected: -reconnect=false, or every
// attempt failed).
func (r *runner) projectorGone(op *opRecord) bool {
	return r.meetings[op.meeting].projector.gone.Load()
}

// countGroups records how many participants of each group are connected,
// and how many clients of each meeting.
func (r *runner) countGroups() {
	r.groupSize = make([]map[int32]int32, len(r.meetings))
	r.screens = make([]int32, len(r.meetings))
	for k, m := range r.meetings {
		r.groupSize[k] = map[int32]int32{}
		for _, c := range m.clients() {
			if c.sess.Load() == nil {
				continue
			}
			r.screens[k]++
			if c.role == roleParticipant {
				r.groupSize[k][c.group]++
			}
		}
	}
}

// peersOf is how many connected group peers should see op.
func (r *runner) peersOf(op *opRecord) int32 {
	return r.groupSize[op.meeting][op.group] - 1
}

// connectAll dials every client with at most cfg.dialConcurrency at once
// and waits for each to be ready. It returns how many are held.
func (r *runner) connectAll(ctx context.Context, clients []*client) int {
	sem := make(chan struct{}, r.cfg.dialConcurrency)
	var wg sync.WaitGroup
	var held atomic.Int64
	var firstErr atomic.Value
	for _, c := range clients {
		if c.sess.Load() != nil {
			held.Add(1)
			continue
		}
		sem <- struct{}{}
		wg.Add(1)
		go func(c *client) {
			defer wg.Done()
			defer func() { <-sem }()
			cctx, cancel := context.WithTimeout(ctx, r.cfg.connectTimeout)
			defer cancel()
			err := c.dial(cctx)
			if err == nil {
				s := c.sess.Load()
				select {
				case <-s.ready:
				case <-s.dead:
					err = errors.New("closed before its snapshot")
				case <-cctx.Done():
					err = errors.New("no snapshot in time")
				}
			}
			if err != nil {
				r.connectFails.Add(1)
				firstErr.CompareAndSwap(nil, err)
				return
			}
			held.Add(1)
		}(c)
	}
	wg.Wait()
	if e := firstErr.Load(); e != nil {
		fmt.Fprintf(r.stderr, "%d connections failed, first: %v\n", r.connectFails.Load(), e)
	}
	return int(held.Load())
}

// closeAll closes every connection of the run.
func (r *runner) closeAll() {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 256)
	for _, m := range r.meetings {
		for _, c := range m.clients() {
			// Under sendMu: a reconnection either sees byUs before making
			// its connection the current one, or made it so already.
			c.sendMu.Lock()
			c.byUs.Store(true)
			s := c.sess.Load()
			c.sendMu.Unlock()
			if s == nil {
				continue
			}
			sem <- struct{}{}
			wg.Add(1)
			go func(s *session) {
				defer wg.Done()
				s.conn.Close(websocket.StatusNormalClosure, "")
				<-sem
			}(s)
		}
	}
	wg.Wait()
}

// writeOpsCSV writes one line per op: its index, whether it is a step
// change, its meeting, when it was sent and its edit→ack latency (ms), and
// its final state, to see when in the run the slow ones happened.
func (r *runner) writeOpsCSV(path string) error {
	var b bytes.Buffer
	b.WriteString("op,step,meeting,sentMs,ackMs,state\n")
	for i := range r.ops {
		op := &r.ops[i]
		fmt.Fprintf(&b, "%d,%t,%d,%.3f,%.3f,%d\n", i, op.step, op.meeting,
			float64(op.sentAt.Load()-1)/1e6, float64(op.ackLat.Load())/1e6, op.state.Load())
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}
