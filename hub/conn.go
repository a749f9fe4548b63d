package hub

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"
	"github.com/google/uuid"

	"github.com/boucle/designation/internal/strictjson"
	"github.com/boucle/designation/meeting"
)

// StatusCode is a WebSocket close code.
type StatusCode = websocket.StatusCode

// Close codes the server uses (docs/PROTOCOL.md). 1001 (going away) is sent
// on shutdown; 1009 when a frame exceeds the read limit; 1011 on an internal
// error.
const (
	// StatusProtocol: the client broke the protocol (no hello first, a frame
	// that is not JSON, an unknown frame type). Do not retry as is.
	StatusProtocol StatusCode = 4000
	// StatusUnauthorized: no token, or a token that does not open this
	// meeting. Do not retry with the same token.
	StatusUnauthorized StatusCode = 4001
	// StatusRoleChanged: the connection's role or view changed (rapporteur
	// set or cleared): reconnect at once with the same token and lastSeq 0.
	StatusRoleChanged StatusCode = 4003
	// StatusNotFound: no meeting with that id.
	StatusNotFound StatusCode = 4004
	// StatusRevoked: the token was revoked (or its member removed).
	StatusRevoked StatusCode = 4005
	// StatusTooSlow: the client did not read fast enough and its queue
	// filled up: reconnect at once with lastSeq, nothing is lost.
	StatusTooSlow StatusCode = 4008
	// StatusPingTimeout: the client did not answer a ping in time.
	StatusPingTimeout StatusCode = 4009
)

// answered releases one in-flight slot of the connection.
func (s *subscriber) answered() {
	select {
	case <-s.inflight:
	default:
	}
}

// A connection's writer: no goroutine (idle), queued for a slot of the
// hub's bulk writers (waiting), or a goroutine writes the queue out
// (running).
const (
	writerIdle int32 = iota
	writerWaiting
	writerRunning
)

// wake makes sure a goroutine writes the queue out now: a connection has
// one only while it has frames to write (most phones are idle most of the
// meeting, and an idle goroutine still holds its stack). A connection
// waiting for a bulk slot starts at once: an ack or an edit does not wait
// behind a step change.
func (s *subscriber) wake() {
	if s.startWriter == nil {
		return
	}
	if s.state.CompareAndSwap(writerIdle, writerRunning) || s.state.CompareAndSwap(writerWaiting, writerRunning) {
		s.startWriter()
	}
}

// wakeBulk is wake for a frame that goes to the whole meeting: unless a
// writer is already on it, the queue is written when b has a slot.
func (s *subscriber) wakeBulk(b *bulkWriters) {
	if s.startWriter != nil && s.state.CompareAndSwap(writerIdle, writerWaiting) {
		b.add(s)
	}
}

// subscriber is one connection as the room sees it. Fields other than send,
// kick, tokenHash and lang are owned by the room's loop.
type subscriber struct {
	send      chan []byte
	inflight  chan struct{}                        // one token per op sent and not yet answered
	kick      func(code StatusCode, reason string) // idempotent, never blocks
	tokenHash string
	lang      string
	// state is writerIdle, writerWaiting or writerRunning (see wake);
	// startWriter starts a goroutine that writes the queue out (runWriter
	// writes it in the caller's). All three are set before the room sees
	// the subscriber.
	state       atomic.Int32
	startWriter func()
	runWriter   func() // the bulk writers' loop (bulk.go)
	batch       bool   // the client reads several frames per message (hello.batch)
	lists       bool   // the client reads "list" changes (hello.lists)

	actor meeting.Actor
	lens  meeting.Lens // what it is sent (meeting.LensOf), kept current by the room
	gone  bool
}

// ConnInfo describes a finished connection, for the server's log line (no
// token, no personal data).
type ConnInfo struct {
	Meeting string
	Role    meeting.Role
	// Code is the close code: the one the server sent, or the client's, or
	// -1 when the connection just dropped.
	Code StatusCode
}

// TokenHash is the SHA-256 hex of a secret, the form in which the state
// keeps tokens.
func TokenHash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// Serve runs the protocol on an accepted WebSocket until it closes.
// cookieSecret returns the secret of a meeting carried by the handshake's
// cookies for role ("facilitator", "projector", or "" for the first found),
// "" when none; it is used when hello has no token.
//
// opened, when not nil, is called once the client is welcomed (for the
// server's "websocket open" log line).
func (h *Hub) Serve(ctx context.Context, c *websocket.Conn, cookieSecret func(meetingID, role string) string, opened func(ConnInfo)) (info ConnInfo) {
	info.Code = -1
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		c.Close(websocket.StatusGoingAway, "server stopping")
		info.Code = websocket.StatusGoingAway
		return info
	}
	h.connsWG.Add(1)
	h.mu.Unlock()
	defer h.connsWG.Done()

	c.SetReadLimit(h.opts.ReadLimit)
	var closeOnce sync.Once
	var sentCode StatusCode = -1
	var codeMu sync.Mutex
	closeWith := func(code StatusCode, reason string) {
		closeOnce.Do(func() {
			codeMu.Lock()
			sentCode = code
			codeMu.Unlock()
			go c.Close(code, reason)
		})
	}
	defer func() {
		codeMu.Lock()
		sent := sentCode
		codeMu.Unlock()
		if sent != -1 {
			info.Code = sent
		}
		// Counted here, once per connection: the full queue and the
		// blocked write may both notice the same slow client.
		if sent == StatusTooSlow {
			h.opts.Observer.SlowClientClosed()
		}
	}()
	stopOnShutdown := context.AfterFunc(h.ctx, func() { closeWith(websocket.StatusGoingAway, "server stopping") })
	defer stopOnShutdown()

	// hello
	hctx, cancel := context.WithTimeout(ctx, h.opts.HelloTimeout)
	_, data, err := c.Read(hctx)
	cancel()
	if err != nil {
		info.Code = websocket.CloseStatus(err)
		return info
	}
	var hello helloFrame
	if err := strictjson.Decode(data, &hello); err != nil || hello.Type != frameHello || hello.Meeting == "" {
		h.fail(ctx, c, closeWith, StatusProtocol, codeBadHello, "the first frame must be a hello with a meeting id")
		return info
	}
	room, ok := h.Room(hello.Meeting)
	if !ok {
		h.fail(ctx, c, closeWith, StatusNotFound, codeNotFound, "no such meeting")
		return info
	}
	// Only a meeting that exists is named in the log: a client may put
	// anything in hello, names and e-mails included.
	info.Meeting = hello.Meeting
	if hello.As != "" && hello.As != string(meeting.RoleFacilitator) && hello.As != string(meeting.RoleProjector) {
		h.fail(ctx, c, closeWith, StatusProtocol, codeBadHello, `"as" must be "facilitator" or "projector"`)
		return info
	}
	secret := hello.Token
	if secret == "" && cookieSecret != nil {
		secret = cookieSecret(hello.Meeting, hello.As)
	}
	if secret == "" {
		h.fail(ctx, c, closeWith, StatusUnauthorized, codeUnauthorized, "a token is required")
		return info
	}
	sub := &subscriber{
		send:      make(chan []byte, h.opts.SendQueue),
		inflight:  make(chan struct{}, h.opts.MaxInFlight),
		kick:      closeWith,
		tokenHash: TokenHash(secret),
		lang:      hello.Lang,
		batch:     hello.Batch,
		lists:     hello.Lists,
	}
	// The writer's goroutines end with the connection: cctx is cancelled
	// before out.stop waits for them.
	cctx, endConn := context.WithCancel(ctx)
	out := h.newWriter(cctx, c, sub, closeWith)
	defer out.stop()
	defer endConn()
	sub.startWriter, sub.runWriter = out.start, out.run
	var actor meeting.Actor
	var authed bool
	if err := room.call(ctx, func() { actor, authed = room.subscribe(sub, hello.LastSeq) }); err != nil {
		closeWith(websocket.StatusGoingAway, "meeting unavailable")
		return info
	}
	if !authed {
		h.fail(ctx, c, closeWith, StatusUnauthorized, codeUnauthorized, "this token does not open this meeting")
		return info
	}
	sub.wake() // the welcome and the catch-up
	info.Role = actor.Role
	if opened != nil {
		opened(info)
	}
	h.opts.Observer.ConnOpened(string(actor.Role))
	defer h.opts.Observer.ConnClosed(string(actor.Role))
	defer func() {
		// Unregister; if the room is gone there is nothing to undo.
		uctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = room.call(uctx, func() { room.unsubscribe(sub) })
	}()

	out.startPings()

	var bucket *opBucket // facilitators are not limited (bulk edits from the console)
	if actor.Role != meeting.RoleFacilitator {
		bucket = newOpBucket(h.opts.OpsPerSecond, h.opts.OpsBurst, time.Now)
	}
	for {
		msg, err := h.readMessage(ctx, c)
		if err != nil {
			if s := websocket.CloseStatus(err); s != -1 {
				info.Code = s
			}
			return info
		}
		if wait := bucket.take(); wait > 0 { // too many frames: slow this participant down
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				h.release(msg)
				return info
			}
		}
		at := time.Now()
		q, refusal, fatal := h.parseOp(msg.Bytes())
		h.release(msg) // parseOp copied what it kept
		if fatal != "" {
			h.fail(ctx, c, closeWith, StatusProtocol, codeBadFrame, fatal)
			// Keep reading until the close handshake finishes.
			continue
		}
		if refusal != nil {
			// Refused before reaching the room: answer through the room so
			// the frame is ordered with the others of this connection.
			res := Result{Err: refusal}
			id := q.op.ID
			if err := room.call(ctx, func() {
				if !sub.gone {
					room.reply(&request{op: &meeting.Op{ID: id}, sub: sub, at: at}, res)
				}
			}); err != nil {
				return info
			}
			continue
		}
		q.sub = sub
		q.at = at
		select { // bounded ops in flight: backpressure on this client only
		case sub.inflight <- struct{}{}:
			q.slot = true
		case <-ctx.Done():
			return info
		}
		if err := room.enqueue(ctx, q); err != nil {
			return info
		}
	}
}

// fail sends an error frame and closes the connection with code.
func (h *Hub) fail(ctx context.Context, c *websocket.Conn, closeWith func(StatusCode, string), code StatusCode, errCode, message string) {
	wctx, cancel := context.WithTimeout(ctx, h.opts.WriteTimeout)
	_ = c.Write(wctx, websocket.MessageText, mustJSON(errorFrame{Type: frameError, Code: errCode, Message: message}))
	cancel()
	closeWith(code, message)
}

// writer writes a connection's queue out, in order, each frame under the
// write timeout, on a goroutine that exists only while there are frames to
// write (subscriber.wake starts it), and pings every PingInterval to detect
// dead peers (a phone that lost its network without closing).
//
// The write timeout is one watchdog timer per connection, armed before each
// write and stopped after it, rather than a context.WithTimeout per write:
// a context with a deadline costs a timer, a goroutine-safe child
// registration and, inside the library, a context.AfterFunc per frame (10%
// of the server's CPU under load). Writes get a context that is never done,
// so the library registers nothing; the watchdog closes the connection when
// a write has not returned in time, which makes the write return.
type writer struct {
	h         *Hub
	ctx       context.Context // done when the connection ends
	c         *websocket.Conn
	queue     <-chan []byte
	state     *atomic.Int32 // the subscriber's (see wake)
	batch     bool          // several frames per message (coalesce)
	closeWith func(StatusCode, string)
	watchdog  *time.Timer
	inWrite   atomic.Bool // a frame is being written now
	stopOnEnd func() bool
	writeCtx  context.Context

	mu      sync.Mutex
	stopped bool
	running sync.WaitGroup // writing and pinging goroutines
	pinger  *time.Timer
}

func (h *Hub) newWriter(ctx context.Context, c *websocket.Conn, s *subscriber, closeWith func(StatusCode, string)) *writer {
	w := &writer{h: h, ctx: ctx, c: c, queue: s.send, state: &s.state, batch: s.batch, closeWith: closeWith, writeCtx: context.WithoutCancel(ctx)}
	w.watchdog = time.AfterFunc(time.Duration(math.MaxInt64), func() {
		// A write that cannot finish in time is a client that stopped
		// reading: same code as a full queue.
		closeWith(StatusTooSlow, "too slow: resume")
		c.CloseNow()
	})
	// A connection that ends mid-write is closed so that the write returns
	// at once (what a cancelled write context did).
	w.stopOnEnd = context.AfterFunc(ctx, func() {
		if w.inWrite.Load() {
			c.CloseNow()
		}
	})
	return w
}

// begin registers a goroutine of the writer; false once stopped.
func (w *writer) begin() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return false
	}
	w.running.Add(1)
	return true
}

// start runs a goroutine that writes the queue out (the caller moved
// subscriber.state to writerRunning).
func (w *writer) start() {
	if w.begin() {
		go w.drain()
	}
}

// run writes the queue out in the calling goroutine (the caller moved
// subscriber.state to writerRunning).
func (w *writer) run() {
	if w.begin() {
		w.drain()
	}
}

// drain writes frames until the queue is empty, then goes idle (and takes
// the queue back if a frame came in between). Frames that are already
// queued go out together, in one WebSocket message, one per line (see
// coalesce).
func (w *writer) drain() {
	defer w.running.Done()
	var carry []byte // a frame taken from the queue that did not fit
	for {
		frame := carry
		carry = nil
		if frame == nil {
			select {
			case frame = <-w.queue:
			default:
				w.state.Store(writerIdle)
				if len(w.queue) == 0 || !w.state.CompareAndSwap(writerIdle, writerRunning) {
					return
				}
				continue
			}
		}
		msg, n, next, buf := w.coalesce(frame)
		carry = next
		ok := w.write(msg, n)
		if buf != nil {
			*buf = msg[:0]
			w.h.buffers.Put(buf)
		}
		if !ok {
			return // stays running: no writer for a dead connection
		}
	}
}

// maxMessage bounds a message of several frames (a single frame may be
// bigger: a snapshot goes alone). Clients read at least 32 KiB messages by
// default (coder/websocket's limit); browsers have no limit.
const maxMessage = 16 << 10

// coalesce joins frame and the frames queued behind it, up to maxMessage,
// into one message, separated by newlines (a JSON frame has none: encoding
// escapes them). Under load, a connection's queue holds several frames and
// each WebSocket message is a write(2): the frames of a burst go in one. It
// returns the message, the number of frames in it, a frame taken from the
// queue that did not fit (sent next), and the pooled buffer used, if any.
func (w *writer) coalesce(frame []byte) (msg []byte, n int, next []byte, buf *[]byte) {
	if !w.batch || len(w.queue) == 0 || len(frame) >= maxMessage {
		return frame, 1, nil, nil
	}
	buf = w.h.buffers.Get().(*[]byte)
	msg = append((*buf)[:0], frame...)
	n = 1
	for len(w.queue) > 0 {
		f := <-w.queue // never blocks: this goroutine is the only reader
		if len(msg)+1+len(f) > maxMessage {
			return msg, n, f, buf
		}
		msg = append(append(msg, '\n'), f...)
		n++
	}
	return msg, n, nil, buf
}

func (w *writer) write(msg []byte, frames int) bool {
	if w.ctx.Err() != nil {
		return false
	}
	w.inWrite.Store(true)
	w.watchdog.Reset(w.h.opts.WriteTimeout)
	err := w.c.Write(w.writeCtx, websocket.MessageText, msg)
	w.inWrite.Store(false)
	if !w.watchdog.Stop() {
		// The watchdog fired: the write took the whole timeout.
		w.closeWith(StatusTooSlow, "too slow: resume")
		return false
	}
	if err != nil {
		// The connection is closed or broken: most often the client
		// closed it while a frame was on its way. The reader ends the
		// connection with the client's close code (or none, for a
		// dropped one); logging it as too slow would be untrue.
		w.c.CloseNow()
		return false
	}
	for range frames {
		w.h.opts.Observer.FrameSent()
	}
	return true
}

// startPings pings the peer about every PingInterval (pingDelay), on a timer's goroutine that
// lives for the ping only; an unanswered ping closes with 4009.
func (w *writer) startPings() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return
	}
	w.pinger = time.AfterFunc(pingDelay(w.h.opts.PingInterval), w.ping)
}

// pingDelay is the time before a connection's next ping: interval, give or
// take a quarter, at random. Without it, phones that connected together
// (everyone back within seconds after a restart) would be pinged together
// every interval for as long as they stay: at the national peak, 10,300
// pings and pongs at once, written all together where a step change's
// frames are paced (bulkWriters).
func pingDelay(interval time.Duration) time.Duration {
	return interval*3/4 + rand.N(interval/2+1)
}

func (w *writer) ping() {
	if !w.begin() {
		return
	}
	defer w.running.Done()
	pctx, cancel := context.WithTimeout(w.ctx, w.h.opts.PingInterval)
	err := w.c.Ping(pctx)
	cancel()
	if err != nil {
		// Only a ping that ran out of time says the peer is gone. One
		// also fails when the connection closes under it (the client's
		// own close, at the end of a meeting): the reader then ends the
		// connection with the client's code, which a 4009 would hide.
		if w.ctx.Err() == nil {
			if errors.Is(err, context.DeadlineExceeded) {
				w.closeWith(StatusPingTimeout, "ping timeout")
			}
			w.c.CloseNow()
		}
		return
	}
	w.mu.Lock()
	if !w.stopped {
		w.pinger.Reset(pingDelay(w.h.opts.PingInterval))
	}
	w.mu.Unlock()
}

// stop ends the writer once the connection is over (its ctx done) and
// waits for its goroutines.
func (w *writer) stop() {
	w.mu.Lock()
	w.stopped = true
	if w.pinger != nil {
		w.pinger.Stop()
	}
	w.mu.Unlock()
	w.running.Wait()
	w.watchdog.Stop()
	w.stopOnEnd()
}

// readMessage reads a client's next message into a buffer of the hub's
// pool, to give back with release once decoded. It is c.Read without a new
// slice for every message: at saturation those were 5 % of the bytes the
// server allocated.
func (h *Hub) readMessage(ctx context.Context, c *websocket.Conn) (*bytes.Buffer, error) {
	_, r, err := c.Reader(ctx)
	if err != nil {
		return nil, err
	}
	b := h.reads.Get().(*bytes.Buffer)
	b.Reset()
	if _, err := b.ReadFrom(r); err != nil {
		h.release(b)
		return nil, err
	}
	return b, nil
}

// release gives back a buffer of readMessage; nothing may use its bytes
// after. One grown by a big message (up to the 64 KiB read limit) is let go.
func (h *Hub) release(b *bytes.Buffer) {
	if b.Cap() <= maxMessage {
		h.reads.Put(b)
	}
}

// parseOp decodes an op frame. It keeps nothing of data: the hub reads the
// next message into the same bytes. fatal is set for a frame that is not an
// op frame at all; refusal for an op frame with a bad field (the op id is
// echoed back).
func (h *Hub) parseOp(data []byte) (q *request, refusal *meeting.Error, fatal string) {
	if !utf8.Valid(data) {
		return nil, nil, "frames must be UTF-8 JSON"
	}
	var f opFrame
	if err := strictjson.Decode(data, &f); err != nil {
		var probe struct {
			Type string `json:"type"`
			ID   string `json:"id"`
		}
		if json.Unmarshal(data, &probe) == nil && probe.Type == frameOp && probe.ID != "" {
			return &request{op: &meeting.Op{ID: probe.ID}}, &meeting.Error{Code: meeting.CodeInvalid, Detail: "malformed op frame"}, ""
		}
		return nil, nil, "a frame must be a JSON object of a known type"
	}
	if f.Type != frameOp {
		return nil, nil, "unknown frame type"
	}
	q = &request{op: &meeting.Op{ID: f.ID, Type: f.Op, Payload: f.Payload}}
	if _, err := uuid.Parse(f.ID); err != nil || len(f.ID) != 36 {
		if f.ID == "" {
			return nil, nil, "an op needs an id"
		}
		return q, &meeting.Error{Code: meeting.CodeInvalid, Field: "id", Detail: "op id must be a UUID"}, ""
	}
	if f.Op == "" {
		return q, &meeting.Error{Code: meeting.CodeUnknownOp, Field: "op", Detail: "op type missing"}, ""
	}
	p := bytes.TrimSpace(f.Payload)
	if len(p) == 0 || string(p) == "null" {
		q.op.Payload = json.RawMessage("{}")
	} else if p[0] != '{' {
		return q, &meeting.Error{Code: meeting.CodeInvalid, Field: "payload", Detail: "payload must be an object"}, ""
	}
	return q, nil, ""
}
