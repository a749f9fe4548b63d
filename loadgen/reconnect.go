package main

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// session is one WebSocket of a client: its first, or one that resumes
// after the target closed the one before (-reconnect).
type session struct {
	conn      *websocket.Conn
	rx        rxStamper     // its TCP connection, when reads are time-stamped
	resume    bool          // a reconnection
	ready     chan struct{} // closed once it can carry ops (see markReady)
	readyOnce sync.Once
	dead      chan struct{} // closed when its reader ended
	subsOK    atomic.Int32  // centrifuge: subscriptions confirmed
}

// markReady: the first connection is ready with its snapshot (centrifuge:
// every subscription confirmed); a resume on our server with its welcome,
// since the missed changes follow in order, before anything sent after.
func (s *session) markReady() { s.readyOnce.Do(func() { close(s.ready) }) }

// Reconnection, as our pages do it (static/sync.js): at once when the
// server closed the connection as too slow (nothing is lost, the client
// resumes), otherwise after a backoff of 0.5 s doubling up to 5 s, with
// jitter. A client gives up after maxReconnects attempts in a row.
const (
	backoffMin    = 500 * time.Millisecond
	backoffMax    = 5 * time.Second
	maxReconnects = 10
)

// tooSlow tells whether err closed a connection because the target found
// the client too slow: our server's 4008, centrifuge's 3008, the bare
// hub's policy violation "too slow".
func tooSlow(err error) bool {
	var ce websocket.CloseError
	if !errors.As(err, &ce) {
		return false
	}
	return ce.Code == 4008 || ce.Code == 3008 || (ce.Code == websocket.StatusPolicyViolation && ce.Reason == "too slow")
}

// backoff is the wait before reconnection attempt n (0 first).
func backoff(n int, slow bool) time.Duration {
	if slow {
		if n == 0 {
			return 0
		}
		n--
	}
	base := min(backoffMax, backoffMin<<min(n, 8))
	return base/2 + rand.N(base/2+1)
}

// ended is the end of session s's reader. When s is c's current
// connection and the target (or the network) ended it during the measured
// phase, c reconnects with -reconnect; otherwise c is gone.
func (c *client) ended(s *session, err error) {
	r := c.r
	c.sendMu.Lock()
	current := c.sess.Load() == s
	close(s.dead)
	retry := false
	if current {
		switch {
		case c.byUs.Load():
			c.gone.Store(true)
		default:
			r.disconnects.Add(1)
			if r.cfg.reconnect && r.measure.Load() {
				c.down, retry = true, true
			} else {
				c.gone.Store(true)
			}
		}
	}
	c.sendMu.Unlock()
	if !current {
		return // a reconnection attempt: reconnect sees it end
	}
	c.mu.Lock()
	for id, ch := range c.pending {
		ch <- "disconnected"
		delete(c.pending, id)
	}
	c.mu.Unlock()
	if retry {
		go c.reconnect(tooSlow(err), time.Now())
	}
}

// reconnect opens a new connection for c that resumes where the last one
// ended, then sends again, in order, every op not answered yet (the same
// ids: our server answers an op it already has with its ack) and the ops
// made meanwhile. It gives up when the measured phase is over, when we
// close c, or after maxReconnects attempts. dropped is when the connection
// before ended.
func (c *client) reconnect(slow bool, dropped time.Time) {
	r := c.r
	for n := 0; n < maxReconnects; n++ {
		wait := backoff(n, slow)
		if r.cfg.reconnectWait > 0 {
			wait = r.cfg.reconnectWait
		}
		if wait > 0 {
			time.Sleep(wait)
		}
		if !r.measure.Load() || c.byUs.Load() {
			break
		}
		ctx, cancel := context.WithTimeout(context.Background(), r.cfg.connectTimeout)
		s, err := c.open(ctx, true)
		if err != nil {
			cancel()
			continue
		}
		go c.readLoop(s)
		select {
		case <-s.ready:
		case <-s.dead:
		case <-ctx.Done():
		}
		cancel()
		c.sendMu.Lock()
		select {
		case <-s.ready:
		default:
			c.sendMu.Unlock()
			s.conn.CloseNow()
			<-s.dead // its reader no longer touches c
			continue
		}
		select {
		case <-s.dead:
			c.sendMu.Unlock()
			continue
		default:
		}
		if c.byUs.Load() || !r.measure.Load() {
			c.sendMu.Unlock()
			s.conn.CloseNow()
			break
		}
		c.sess.Store(s)
		c.down = false
		c.resendLocked(s)
		c.sendMu.Unlock()
		r.reconnects.Add(1)
		r.hAway.Record(time.Since(dropped))
		return
	}
	c.sendMu.Lock()
	c.gone.Store(true)
	c.sendMu.Unlock()
}

// resendLocked writes on s, in order, every op of c still waiting for its
// answer. A failed write ends s: its reader then reconnects again.
func (c *client) resendLocked(s *session) {
	r := c.r
	kept := c.inflight[:0]
	for _, i := range c.inflight {
		if r.ops[i].state.Load() == opSent {
			kept = append(kept, i)
		}
	}
	c.inflight = kept
	for _, i := range kept {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := s.conn.Write(ctx, websocket.MessageText, r.opFrame(c, i))
		cancel()
		if err != nil {
			return
		}
		r.resent.Add(1)
	}
}

// resumeSnap is a reconnection of client c that our server answered with a
// snapshot at seq upto rather than the changes after before (the client
// was too far behind): c never gets the changes of the ops in between, and
// sees them in the snapshot, at since() = at.
type resumeSnap struct {
	c            *client
	before, upto uint64
	at           int64
}

// resumedBySnapshot records such a resume: the ops of c's meeting whose
// seq is known (acked) and in (before, upto] are seen by c now; those
// acked later are seen by c as their ack comes (noteSeq).
func (r *runner) resumedBySnapshot(c *client, before, upto uint64) {
	rs := resumeSnap{c: c, before: before, upto: upto, at: r.since()}
	r.bySnapshot.Add(1)
	m := c.m
	m.resumeMu.Lock()
	defer m.resumeMu.Unlock()
	m.resumes = append(m.resumes, rs)
	for _, i := range r.meetingOps[m.idx] {
		if seq := r.ops[i].seq; seq > before && seq <= upto {
			c.seenAt(i, rs.at, rs.at)
		}
	}
}

// noteSeq records op i's seq on our server, and that the clients of its
// meeting that resumed by a snapshot covering it saw it then.
func (r *runner) noteSeq(i int, seq uint64) {
	op := &r.ops[i]
	m := r.meetings[op.meeting]
	m.resumeMu.Lock()
	defer m.resumeMu.Unlock()
	if op.seq != 0 {
		return // a re-sent op's second ack
	}
	op.seq = seq
	for _, rs := range m.resumes {
		if seq > rs.before && seq <= rs.upto {
			rs.c.seenAt(i, rs.at, rs.at)
		}
	}
}

// cfPosition is where a centrifuge subscription is in its channel's
// stream: what a resubscription asks to recover from.
type cfPosition struct {
	epoch  string
	offset uint64
}

// channelIndex is the subscription of c that channel is (see
// centrifugeChannels): 0 the meeting's, then a phone's group or, for the
// projector and the facilitators, each group in order; -1 if none.
func (c *client) channelIndex(ch []byte) int {
	id := c.m.id
	if len(ch) < 2+len(id) || string(ch[:2]) != "m:" || string(ch[2:2+len(id)]) != id {
		return -1
	}
	rest := ch[2+len(id):]
	if len(rest) == 0 {
		return 0
	}
	if len(rest) < 4 || string(rest[:3]) != ":g:" {
		return -1
	}
	for g, gid := range c.m.groupIDs {
		if string(rest[3:]) == gid {
			if c.role == roleParticipant {
				return 1
			}
			return 1 + g
		}
	}
	return -1
}

// publication is one centrifuge publication of subscription k (a push, or
// one recovered on resubscribing): the op it carries is seen, and k's
// stream position moves past it.
func (c *client) publication(k int, pub []byte) {
	if data := topField(pub, "data"); data != nil {
		if i := c.r.opIndex(topString(data, "opId")); i >= 0 {
			c.seen(i)
		}
	}
	if off, ok := topUint(pub, "offset"); ok && k >= 0 && k < len(c.cfPos) {
		c.cfPos[k].offset = off
	}
}

// subscribed is centrifuge's answer to subscription k: its stream's epoch
// and position, and on a resubscription the publications it missed.
func (c *client) subscribed(k int, res []byte) {
	if k < 0 || k >= len(c.cfPos) || res == nil {
		return
	}
	if epoch := topString(res, "epoch"); epoch != nil {
		c.cfPos[k].epoch = string(epoch)
	}
	if off, ok := topUint(res, "offset"); ok {
		c.cfPos[k].offset = off
	}
	forEachElement(topField(res, "publications"), func(pub []byte) { c.publication(k, pub) })
}

// forEachElement calls fn with each element of the JSON array arr.
func forEachElement(arr []byte, fn func([]byte)) {
	i := skipSpace(arr, 0)
	if i >= len(arr) || arr[i] != '[' {
		return
	}
	i = skipSpace(arr, i+1)
	for i < len(arr) && arr[i] != ']' {
		end := skipValue(arr, i)
		if end < 0 {
			return
		}
		fn(arr[i:end])
		i = skipSpace(arr, end)
		if i < len(arr) && arr[i] == ',' {
			i = skipSpace(arr, i+1)
		}
	}
}
