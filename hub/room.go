package hub

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/boucle/designation/meeting"
	"github.com/boucle/designation/store"
)

// Result is the outcome of one submitted op.
type Result struct {
	// Seq is the op's place in the meeting's log (0 when refused before
	// being appended).
	Seq uint64
	// Dup is true when the op (same id) was already in the log: it was not
	// applied again and Seq is the original one.
	Dup bool
	// Err is the refusal, nil when the op was applied. Code CodeUnavailable
	// means it was not made durable: send it again later with the same id.
	Err *meeting.Error
}

// outcome is what became of an op that is in the log.
type outcome struct {
	seq uint64
	err *meeting.Error // refused by Apply (in the log, changed nothing)
}

// request is one op waiting for the actor.
type request struct {
	op    *meeting.Op
	sub   *subscriber // WebSocket: the ack or refusal goes to its queue
	slot  bool        // holds one of sub's in-flight slots
	reply chan Result // REST: buffered, receives exactly one Result
	// at is when the op reached the hub (read off its WebSocket, or
	// submitted): its answer reports the time since (Observer).
	at time.Time
}

// histEntry is one applied op, encoded once per lens (see lens.go).
type histEntry struct {
	seq      uint64
	full     []byte
	redacted []byte
	outsider []byte       // participants outside the changed groups (nil: nothing)
	insiders []groupFrame // participants of each changed group
	regroup  bool         // may have moved participants between groups
	// lists: a change names one list of a group (meeting.KindList), which
	// a subscriber that did not say "lists" cannot read (legacyFrames).
	lists bool
}

// Room is one live meeting: a goroutine (loop) owns its state and
// everything below "owned by the loop".
type Room struct {
	id       string
	hub      *Hub
	intake   chan *request
	calls    chan func()
	synced   chan uint64   // another instance appended up to this seq (0: maybe)
	storeUp  chan bool     // the store started (true) or stopped (false) answering
	stop     chan struct{} // closed to stop the loop (meeting removed)
	stopOnce sync.Once
	done     chan struct{} // closed when the loop has returned

	// Owned by the loop.
	state         *meeting.State
	ids           map[string]outcome // every op id of the log
	skip          map[string]bool    // ops whose Apply panicked: skipped on replay
	history       []histEntry
	subs          map[*subscriber]struct{}
	stale         bool // an append failed: the log may hold ops not applied here
	storeDown     bool // the clients were told the store does not answer
	sinceSnapshot int
	scrub         bool // the log still holds ops from before meeting.purge
	presenceDirty bool
	presenceTimer *time.Timer
	lastPresence  []byte
	saving        bool              // a snapshot is being saved (maybeSnapshot)
	saved         chan error        // its outcome
	outlines      map[string]string // group id → its last outline sent (lens.go)
	log           *slog.Logger
}

func newRoom(h *Hub, id string, r *replayed) *Room {
	if r.skip == nil {
		r.skip = map[string]bool{}
	}
	if r.ids == nil {
		r.ids = map[string]outcome{}
	}
	return &Room{
		id:            id,
		hub:           h,
		intake:        make(chan *request, h.opts.BatchMax),
		calls:         make(chan func()),
		synced:        make(chan uint64, 1),
		storeUp:       make(chan bool, 1),
		stop:          make(chan struct{}),
		done:          make(chan struct{}),
		state:         r.state,
		ids:           r.ids,
		skip:          r.skip,
		subs:          map[*subscriber]struct{}{},
		outlines:      map[string]string{},
		saved:         make(chan error, 1),
		sinceSnapshot: r.sinceSnapshot,
		scrub:         r.scrub,
		log:           h.opts.Logger.With("meeting", id),
	}
}

// ID is the meeting's id.
func (r *Room) ID() string { return r.id }

// Submit hands op to the meeting's actor and waits for its outcome. The
// caller sets op.ID, op.Type, op.Actor and op.Payload; the actor stamps At and
// Seq. The error is non-nil only when the hub stops or ctx ends first.
func (r *Room) Submit(ctx context.Context, op *meeting.Op) (Result, error) {
	q := &request{op: op, reply: make(chan Result, 1), at: time.Now()}
	if err := r.enqueue(ctx, q); err != nil {
		return Result{}, err
	}
	select {
	case res := <-q.reply:
		return res, nil
	case <-ctx.Done():
		return Result{}, ctx.Err()
	case <-r.done:
		// The loop may have answered just before returning.
		select {
		case res := <-q.reply:
			return res, nil
		default:
			return Result{}, ErrClosed
		}
	}
}

func (r *Room) enqueue(ctx context.Context, q *request) error {
	select {
	case r.intake <- q:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-r.done:
		return ErrClosed
	case <-r.hub.ctx.Done():
		return ErrClosed
	}
}

// Read runs fn inside the actor, with the meeting's current state. fn must
// not keep s or anything it points to, nor change it. A panic in fn is
// returned as an error.
func (r *Room) Read(ctx context.Context, fn func(s *meeting.State)) error {
	var perr error
	err := r.call(ctx, func() {
		defer func() {
			if p := recover(); p != nil {
				perr = fmt.Errorf("hub: read %s: panic: %v", r.id, p)
			}
		}()
		fn(r.state)
	})
	if err != nil {
		return err
	}
	return perr
}

// call runs fn on the loop and waits for it.
func (r *Room) call(ctx context.Context, fn func()) error {
	finished := make(chan struct{})
	wrapped := func() {
		defer close(finished)
		fn()
	}
	select {
	case r.calls <- wrapped:
	case <-ctx.Done():
		return ctx.Err()
	case <-r.done:
		return ErrClosed
	}
	select {
	case <-finished:
		return nil
	case <-r.done:
		return ErrClosed
	}
}

// loop is the actor. It stops when the hub closes or the room is removed.
func (r *Room) loop() {
	defer close(r.done)
	defer r.finishSnapshots()
	defer r.shutdown()
	if r.scrub {
		// Loaded purged but not scrubbed (the process stopped in
		// between): finish the scrub now.
		r.sinceSnapshot = r.hub.opts.SnapshotEvery
		r.maybeSnapshot()
	}
	var presenceC <-chan time.Time
	for {
		select {
		case <-r.hub.ctx.Done():
			return
		case <-r.stop:
			return
		case fn := <-r.calls:
			r.safely("call", fn)
		case q := <-r.intake:
			batch := []*request{q}
		drain:
			for len(batch) < r.hub.opts.BatchMax {
				select {
				case q := <-r.intake:
					batch = append(batch, q)
				default:
					break drain
				}
			}
			r.safely("batch", func() { r.process(batch) })
		case last := <-r.synced:
			if last == 0 || last > r.state.Seq {
				if err := r.catchUp(); err != nil {
					r.stale = true // retried before the next batch
					r.log.Warn("catch-up failed", "err", err)
				}
			}
		case up := <-r.storeUp:
			r.storeChanged(up)
		case err := <-r.saved:
			r.snapshotSaved(err)
		case <-presenceC:
			presenceC = nil
			r.presenceTimer = nil
			r.safely("presence", r.sendPresence)
		}
		if r.presenceDirty && r.presenceTimer == nil {
			r.presenceDirty = false
			r.presenceTimer = time.NewTimer(r.hub.opts.PresenceDelay)
			presenceC = r.presenceTimer.C
		}
	}
}

// poke tells the loop that the log may have ops it has not applied. It
// never blocks: a pending poke already covers a later one (0 covers all).
func (r *Room) poke(last uint64) {
	for {
		select {
		case r.synced <- last:
			return
		default:
		}
		select {
		case prev := <-r.synced:
			if prev == 0 || (last != 0 && prev > last) {
				last = prev
			}
		default:
		}
	}
}

// setStoreUp tells the loop whether the store answers. It never blocks: the
// latest news replaces a pending one.
func (r *Room) setStoreUp(up bool) {
	for {
		select {
		case r.storeUp <- up:
			return
		default:
		}
		select {
		case <-r.storeUp:
		default:
		}
	}
}

// storeChanged tells the clients that their edits cannot be saved for now
// (status frame, available false: they keep their state and their unsent
// ops) or can again (available true), after catching up with the ops other
// instances appended meanwhile.
func (r *Room) storeChanged(up bool) {
	if up {
		if err := r.catchUp(); err != nil {
			r.stale = true // retried before the next batch
			r.log.Warn("catch-up failed", "err", err)
		}
	}
	if r.storeDown == !up {
		return
	}
	r.storeDown = !up
	frame := statusFrameFor(up)
	for s := range r.subs {
		r.send(s, frame)
	}
}

func statusFrameFor(available bool) []byte {
	return mustJSON(statusFrame{Type: frameStatus, Available: available})
}

// shutdown answers the ops still queued and lets go of the subscribers (their
// connections are closed by the hub's context).
func (r *Room) shutdown() {
	if r.presenceTimer != nil {
		r.presenceTimer.Stop()
	}
	for {
		select {
		case q := <-r.intake:
			r.reply(q, Result{Err: unavailable("server stopping")})
		default:
			return
		}
	}
}

func unavailable(detail string) *meeting.Error {
	return &meeting.Error{Code: CodeUnavailable, Detail: detail}
}

// pending is an accepted op of a batch, with the requests that re-sent the
// same id within the batch.
type pending struct {
	reqs []*request
	op   *meeting.Op
}

// process checks, appends, applies and publishes one batch.
func (r *Room) process(batch []*request) {
	if r.stale {
		if err := r.catchUp(); err != nil {
			r.log.Warn("catch-up failed", "err", err)
			r.hub.checkStoreSoon()
			for _, q := range batch {
				r.reply(q, Result{Err: unavailable("store unavailable")})
			}
			return
		}
	}
	now := r.hub.opts.Now().UTC().Truncate(time.Millisecond)
	var accepted []*pending
	byID := map[string]*pending{}
	caughtUp := false // with a shared log: read it once when an op is refused
	for i, q := range batch {
		if q.sub != nil {
			if q.sub.gone {
				if q.slot {
					q.slot = false
					q.sub.answered()
				}
				continue // closed: the client resends after it reconnects
			}
			q.op.Actor = q.sub.actor
		}
		if o, ok := r.ids[q.op.ID]; ok {
			r.reply(q, Result{Seq: o.seq, Dup: true, Err: o.err})
			continue
		}
		if p, ok := byID[q.op.ID]; ok {
			p.reqs = append(p.reqs, q)
			continue
		}
		q.op.At = now
		q.op.Seq = 0
		err := r.check(q.op)
		if err != nil && len(accepted) > 0 {
			// The op may rest on an op accepted earlier in this batch and
			// not applied yet (a quality added, then edited): commit those
			// first, then check it again against the state they make.
			if !r.commit(accepted) {
				for _, rest := range batch[i:] {
					r.reply(rest, Result{Err: unavailable("store unavailable")})
				}
				return
			}
			accepted, byID = nil, map[string]*pending{}
			err = r.check(q.op)
		}
		if err != nil && r.hub.shared && !caughtUp {
			// The op may rest on what another instance appended a moment
			// ago (members imported there, then a join here): catch up
			// once, then check it again. Nothing accepted is pending here.
			caughtUp = true
			if r.catchUp() == nil {
				if o, ok := r.ids[q.op.ID]; ok {
					r.reply(q, Result{Seq: o.seq, Dup: true, Err: o.err})
					continue
				}
				err = r.check(q.op)
			}
		}
		if err != nil {
			if o, ok, lerr := r.lookupLogged(q.op.ID); lerr != nil {
				err = lerr
			} else if ok {
				r.reply(q, Result{Seq: o.seq, Dup: true, Err: o.err})
				continue
			}
			r.reply(q, Result{Err: err})
			continue
		}
		p := &pending{reqs: []*request{q}, op: q.op}
		accepted = append(accepted, p)
		byID[q.op.ID] = p
	}
	if len(accepted) > 0 {
		r.commit(accepted)
	}
}

// lookupLogged asks the store (store.IDLookup) whether an op refused against
// the state, and whose id the room does not know, is in fact in the log: a
// re-sent op whose first sending was saved and then trimmed behind a
// snapshot before this room was loaded (a restart), so the replay never read
// its id. Asked only after a refusal: accepted ops cost nothing.
//
// A found op is answered as a duplicate with its stored seq and no error (an
// ack), the same answer replay gives to every op behind the snapshot: the
// op is in the log and was ordered there, its effect (or its deterministic
// refusal by Apply at that seq) is already in the state the client gets; an
// ack only settles the client's pending op, whereas a refusal would show an
// error for an edit that, nearly always, was saved (the check fails now
// precisely because it was applied). When the store cannot answer, the
// refusal becomes "unavailable": the client keeps the op and sends it again,
// rather than dropping an edit that may have been saved.
func (r *Room) lookupLogged(id string) (outcome, bool, *meeting.Error) {
	finder, ok := r.hub.log.(store.IDLookup)
	if !ok {
		return outcome{}, false, nil
	}
	ctx, cancel := context.WithTimeout(r.hub.ctx, r.hub.opts.AppendTimeout)
	seq, found, err := finder.Lookup(ctx, r.id, id)
	cancel()
	if err != nil {
		r.log.Warn("op id lookup failed", "err", err)
		r.hub.checkStoreSoon()
		return outcome{}, false, unavailable("store unavailable")
	}
	if !found {
		return outcome{}, false, nil
	}
	if seq > r.state.Seq {
		// Appended by another instance after our last catch-up: apply
		// the log up to it and answer with the outcome found there.
		if err := r.catchUp(); err != nil {
			r.stale = true
			r.log.Warn("catch-up failed", "err", err)
		}
		if o, ok := r.ids[id]; ok {
			return o, true, nil
		}
	}
	o := outcome{seq: seq}
	if seq <= r.state.Seq {
		// The next re-send is answered without asking the store. (Never
		// ahead of the state: catchUp skips the ids it knows.)
		r.ids[id] = o
	}
	return o, true, nil
}

// commit appends the accepted ops of a batch in one durable Append, applies
// them in log order, publishes and answers them. It returns false when the
// room could not go on (store unavailable, catch-up failed, rebuild): every
// op passed to it has been answered either way.
func (r *Room) commit(accepted []*pending) bool {
	entries := make([]store.Entry, len(accepted))
	for i, p := range accepted {
		data, err := json.Marshal(p.op)
		if err != nil { // cannot happen: payload is valid JSON (checked)
			r.replyAll(accepted, Result{Err: &meeting.Error{Code: meeting.CodeInvalid, Detail: "encode op"}})
			return false
		}
		entries[i] = store.Entry{ID: p.op.ID, Data: data}
	}
	ctx, cancel := context.WithTimeout(r.hub.ctx, r.hub.opts.AppendTimeout)
	appended, err := r.hub.log.Append(ctx, r.id, entries)
	cancel()
	if err == nil && len(appended) != len(entries) {
		err = fmt.Errorf("store returned %d results for %d entries", len(appended), len(entries))
	}
	if err != nil {
		// Some entries may be durable anyway: catch up before the next batch.
		r.stale = true
		r.log.Warn("append failed", "ops", len(entries), "err", err)
		r.hub.checkStoreSoon()
		r.replyAll(accepted, Result{Err: unavailable("store unavailable")})
		return false
	}
	for i, p := range accepted {
		a := appended[i]
		if a.Dup && a.Seq <= r.state.Seq {
			if o, ok := r.ids[p.op.ID]; ok {
				r.replyTo(p, Result{Seq: o.seq, Dup: true, Err: o.err})
			} else {
				r.replyTo(p, Result{Seq: a.Seq, Dup: true})
			}
			continue
		}
		if a.Dup || a.Seq != r.state.Seq+1 {
			// Another writer appended to this meeting's log: apply the log
			// in its order.
			if err := r.catchUp(); err != nil {
				r.stale = true
				r.log.Warn("catch-up failed", "err", err)
				r.replyAll(accepted[i:], Result{Err: unavailable("store unavailable")})
				return false
			}
			if o, ok := r.ids[p.op.ID]; ok {
				r.replyTo(p, Result{Seq: o.seq, Dup: a.Dup, Err: o.err})
			} else {
				r.replyTo(p, Result{Err: unavailable("not applied")})
			}
			continue
		}
		p.op.Seq = a.Seq
		if !r.applyAndPublish(p.op) {
			// The room's state cannot be trusted: rebuild it from the log.
			r.replyAll(accepted[i:], Result{Err: unavailable("meeting reloading")})
			r.rebuild(p.op.ID)
			return false
		}
		o := r.ids[p.op.ID]
		r.replyTo(p, Result{Seq: o.seq, Err: o.err})
	}
	r.maybeSnapshot()
	return true
}

// safely runs one step of the actor; a panic in it (a bug in a view, in
// presence, in a batch) is logged and the meeting is rebuilt from its log,
// instead of taking the process and every other meeting down.
func (r *Room) safely(what string, fn func()) {
	defer func() {
		if p := recover(); p != nil {
			r.log.Error("actor step panicked: rebuilding the meeting from its log", "step", what, "panic", fmt.Sprint(p))
			r.rebuild("")
		}
	}()
	fn()
}

// check runs meeting.Check, turning a panic into a refusal.
func (r *Room) check(op *meeting.Op) (refusal *meeting.Error) {
	defer func() {
		if p := recover(); p != nil {
			r.log.Error("check panicked", "op", op.Type, "panic", fmt.Sprint(p))
			refusal = unavailable("internal error")
		}
	}()
	err := meeting.Check(r.state, op)
	if err == nil {
		return nil
	}
	return asMeetingError(err)
}

func asMeetingError(err error) *meeting.Error {
	var me *meeting.Error
	if errors.As(err, &me) {
		return me
	}
	return &meeting.Error{Code: meeting.CodeInvalid, Detail: err.Error()}
}

// applyAndPublish applies a logged op, records its outcome, encodes its
// changes once per audience, keeps them in the history and queues them to
// every subscriber. It returns false when Apply panicked (state untrusted).
func (r *Room) applyAndPublish(op *meeting.Op) bool {
	var e histEntry
	var ch meeting.Changes
	var applyErr error
	var legacy legacyFrames // made only for an op that changed a list
	ok := func() (ok bool) {
		defer func() {
			if p := recover(); p != nil {
				r.log.Error("apply panicked", "op", op.Type, "seq", op.Seq, "panic", fmt.Sprint(p))
				ok = false
			}
		}()
		ch, applyErr = r.hub.opts.apply(r.state, op)
		full := r.state.ChangesFor(ch, meeting.Full)
		e = histEntry{seq: op.Seq, full: encodeChanges(op, full), regroup: regroups(ch)}
		redacted := full
		if meeting.SameForEveryAudience(ch) {
			e.redacted = e.full // most ops hold no personal data: one frame, encoded once
		} else {
			redacted = r.state.ChangesFor(ch, meeting.Redacted)
			e.redacted = encodeChanges(op, redacted)
			if bytes.Equal(e.full, e.redacted) {
				e.redacted = e.full // keep one copy
			}
		}
		var outlines map[string]any
		e.outsider, e.insiders, outlines = r.participantFrames(op, redacted, e.redacted)
		if e.lists = slices.ContainsFunc(ch, func(c meeting.Ref) bool { return c.Kind == meeting.KindList }); e.lists {
			legacy = legacyFrames{r: r, op: op, full: full, redacted: redacted, outlines: outlines}
		}
		return true
	}()
	if !ok {
		return false
	}
	o := outcome{seq: op.Seq}
	if applyErr != nil {
		o.err = asMeetingError(applyErr)
	}
	r.ids[op.ID] = o
	r.sinceSnapshot++
	r.publish(&e, &legacy)
	if e.regroup {
		// A participant catching up across it gets a snapshot: its
		// participants' frames (one per group for groups.split, as big as
		// the meeting) are not kept.
		e.outsider, e.insiders = nil, nil
	}
	r.pushHistory(e)
	if op.Type == meeting.OpMeetingCreate && r.state.JoinCode != "" {
		r.hub.registerCode(r.state.JoinCode, r.id)
	}
	if op.Type == meeting.OpMeetingPurge && applyErr == nil {
		// Forget the frames that carried personal data (a resume now gets
		// a snapshot), and snapshot at once so a log that can trim (Redis)
		// drops the ops that held it.
		r.history = []histEntry{e}
		r.sinceSnapshot = r.hub.opts.SnapshotEvery
		r.scrub = true
	}
	if meeting.AccessMayChange(op.Type, ch) {
		r.recheckSubscribers()
	}
	if e.regroup {
		r.presenceDirty = true // presence lists who is in which group
	}
	return true
}

// publish hands an op's frame to every subscriber: the one of its lens,
// made once and shared, never copied or encoded per subscriber. It never
// blocks: a subscriber whose queue is full is dropped (and resumes). A
// participant moved to another group by this op gets a snapshot of its new
// view instead (encoded once per group). A subscriber that did not say
// "lists" gets legacy's frame for an op that changed a list.
func (r *Room) publish(e *histEntry, legacy *legacyFrames) {
	// An op whose frame reaches every connection of the meeting (a step, a
	// timer, a check-in: its participants outside the changed groups get
	// one) is written at the bulk writers' pace; list edits and acks at once.
	wide := e.outsider != nil
	var regrouped map[string][]byte
	for s := range r.subs {
		if e.regroup && s.lens.OwnGroupOnly {
			if l := r.state.LensOf(s.actor); l.OwnGroupOnly && l.Group != s.lens.Group {
				s.lens = l
				if regrouped == nil {
					regrouped = map[string][]byte{}
				}
				f, ok := regrouped[l.Group]
				if !ok {
					f = r.snapshotFrame(l)
					regrouped[l.Group] = f
				}
				r.send(s, f)
				continue
			}
		}
		f := e.frameFor(s.lens)
		if f != nil && e.lists && !s.lists {
			f = legacy.frameFor(s.lens)
		}
		if f != nil {
			r.queue(s, f, wide)
		}
	}
}

func encodeChanges(op *meeting.Op, ch []meeting.Change) []byte {
	if ch == nil {
		ch = []meeting.Change{}
	}
	return mustJSON(changesFrame{Type: frameChanges, Seq: op.Seq, OpID: op.ID, OpType: op.Type, Changes: ch})
}

// pushHistory keeps e. Past HistorySize and a quarter, the oldest entries
// are dropped in place: the array is made once per room and reused, and
// the dropped entries are cleared so that their frames can be collected.
func (r *Room) pushHistory(e histEntry) {
	n := r.hub.opts.HistorySize
	if r.history == nil {
		r.history = make([]histEntry, 0, n+n/4+2)
	}
	r.history = append(r.history, e)
	if len(r.history) > n+n/4+1 {
		kept := copy(r.history, r.history[len(r.history)-n:])
		clear(r.history[kept:])
		r.history = r.history[:kept]
	}
}

// recheckSubscribers closes the connections whose token no longer gives the
// role they were welcomed with (rapporteur set or cleared, token revoked,
// member removed): they reconnect and get the view of their new role.
func (r *Room) recheckSubscribers() {
	for s := range r.subs {
		actor, ok := r.state.Authenticate(s.tokenHash)
		if ok && actor == s.actor && r.state.AudienceOf(actor) == s.lens.Audience {
			continue
		}
		code, reason := StatusRoleChanged, "role changed: reconnect"
		if !ok {
			code, reason = StatusRevoked, "access revoked"
		}
		r.drop(s, code, reason)
	}
}

// send queues a frame without ever blocking: a full queue closes the
// connection (the client resumes from its lastSeq).
func (r *Room) send(s *subscriber, frame []byte) {
	r.queue(s, frame, false)
}

// queue is send; a frame of a change that goes to the whole meeting (wide)
// is written when the hub's bulk writers have a slot (see bulkWriters).
func (r *Room) queue(s *subscriber, frame []byte, wide bool) {
	select {
	case s.send <- frame:
		if wide {
			s.wakeBulk(r.hub.bulk)
		} else {
			s.wake()
		}
	default:
		r.drop(s, StatusTooSlow, "too slow: resume")
	}
}

// drop closes a subscriber's connection and forgets it.
func (r *Room) drop(s *subscriber, code StatusCode, reason string) {
	s.gone = true
	delete(r.subs, s)
	s.kick(code, reason)
	r.presenceDirty = true
}

// reply answers one request.
func (r *Room) reply(q *request, res Result) {
	took := time.Since(q.at)
	if res.Err != nil {
		r.hub.opts.Observer.OpRefused(string(res.Err.Code), took)
	} else {
		r.hub.opts.Observer.OpAcked(took)
	}
	if q.reply != nil {
		q.reply <- res
		return
	}
	if q.sub == nil {
		return
	}
	if q.slot {
		q.slot = false
		q.sub.answered()
	}
	if q.sub.gone {
		return
	}
	if res.Err != nil {
		r.send(q.sub, mustJSON(refusedFrame{
			Type:    frameRefused,
			ID:      q.op.ID,
			Code:    res.Err.Code,
			Field:   res.Err.Field,
			Message: refusalMessage(res.Err, q.sub.lang),
		}))
		return
	}
	r.send(q.sub, mustJSON(ackFrame{Type: frameAck, ID: q.op.ID, Seq: res.Seq}))
}

func (r *Room) replyTo(p *pending, res Result) {
	for _, q := range p.reqs {
		r.reply(q, res)
	}
}

func (r *Room) replyAll(ps []*pending, res Result) {
	for _, p := range ps {
		r.replyTo(p, res)
	}
}

// refusalMessage is the user-facing text of a refusal.
func refusalMessage(e *meeting.Error, lang string) (msg string) {
	if e.Code == CodeUnavailable {
		if lang == "en" {
			return "Temporarily unavailable: your change will be sent again."
		}
		return "Service momentanément indisponible : votre modification sera renvoyée."
	}
	defer func() {
		if p := recover(); p != nil {
			msg = string(e.Code)
		}
	}()
	return e.MessageFor(lang)
}

// catchUp applies the ops of the log this room has not applied yet.
func (r *Room) catchUp() error {
	ctx, cancel := context.WithTimeout(r.hub.ctx, r.hub.opts.AppendTimeout)
	defer cancel()
	var panicked string
	err := r.hub.log.Read(ctx, r.id, r.state.Seq, func(rec store.Record) error {
		if rec.Seq != r.state.Seq+1 {
			return fmt.Errorf("gap in log: seq %d after %d", rec.Seq, r.state.Seq)
		}
		op, err := meeting.DecodeOp(rec.Data)
		if err != nil {
			return fmt.Errorf("decode seq %d: %w", rec.Seq, err)
		}
		op.Seq = rec.Seq
		if _, dup := r.ids[op.ID]; dup || r.skip[op.ID] {
			r.state.Seq = rec.Seq
			return nil
		}
		if !r.applyAndPublish(op) {
			panicked = op.ID
			return errPanicked
		}
		return nil
	})
	if errors.Is(err, errPanicked) {
		r.rebuild(panicked)
		return nil
	}
	if errors.Is(err, store.ErrTrimmed) {
		// Another instance snapshotted and trimmed past us: reload from
		// its snapshot.
		r.rebuild("")
		return nil
	}
	if err != nil {
		return fmt.Errorf("hub: catch up %s: %w", r.id, err)
	}
	r.stale = false
	r.maybeSnapshot()
	return nil
}

var errPanicked = errors.New("apply panicked")

// skippedError is the outcome of an op whose apply panicked: it stays in
// the log but is skipped, and is refused for good when sent again.
func skippedError() *meeting.Error {
	return &meeting.Error{Code: meeting.CodeInvalid, Detail: "this op could not be applied"}
}

// rebuild discards the state (an Apply panicked on op poison, so it may be
// half changed) and replays the log without that op. Every subscriber gets a
// fresh snapshot, since what it was sent may not match the rebuilt state.
func (r *Room) rebuild(poison string) {
	if poison != "" {
		r.skip[poison] = true
	}
	ctx, cancel := context.WithTimeout(r.hub.ctx, time.Minute)
	defer cancel()
	rp, err := replay(ctx, r.hub.log, r.id, r.skip, r.hub.opts)
	if err != nil {
		// Keep serving the last good state we can get: mark stale so the
		// next batch retries through catch-up.
		r.log.Error("rebuild failed", "err", err)
		r.state = meeting.New(r.id)
		r.ids = map[string]outcome{}
		r.stale = true
		r.history = nil
		return
	}
	r.state, r.ids, r.skip = rp.state, rp.ids, rp.skip
	r.scrub = r.scrub || rp.scrub
	r.history = nil
	r.stale = false
	r.sinceSnapshot = 0
	if r.scrub {
		r.sinceSnapshot = r.hub.opts.SnapshotEvery
	}
	r.log.Warn("meeting rebuilt from the log", "seq", r.state.Seq, "skipped", len(r.skip))
	r.outlines = map[string]string{}
	for s := range r.subs {
		s.lens = r.state.LensOf(s.actor)
		r.send(s, r.snapshotFrame(s.lens))
	}
	r.recheckSubscribers()
}

func (r *Room) snapshotFrame(l meeting.Lens) []byte {
	return mustJSON(snapshotFrame{Type: frameSnapshot, Seq: r.state.Seq, State: r.state.ViewFor(l)})
}

// maybeSnapshot saves a snapshot every SnapshotEvery applied ops. The
// state is encoded here; the save and the trim that follows are done on
// another goroutine (they wait for the store's commits, and the meeting's
// ops should not: a hundred meetings reaching their snapshot together made
// every edit wait), whose outcome comes back on r.saved. The snapshot
// after a purge is saved and scrubbed here: nothing must go out before.
func (r *Room) maybeSnapshot() {
	if r.sinceSnapshot < r.hub.opts.SnapshotEvery || r.saving {
		return
	}
	data, err := r.encodeState()
	if err != nil {
		r.log.Warn("snapshot not encoded", "seq", r.state.Seq, "err", err)
		return
	}
	seq := r.state.Seq
	if !r.scrub || r.hub.opts.Scrubber == nil {
		r.scrub = false
		r.sinceSnapshot = 0
		r.saving = true
		go func() { r.saved <- r.saveSnapshot(seq, data) }()
		return
	}
	ctx, cancel := context.WithTimeout(r.hub.ctx, r.hub.opts.AppendTimeout)
	err = r.hub.log.SaveSnapshot(ctx, r.id, seq, data)
	cancel()
	if err != nil {
		r.log.Warn("snapshot not saved", "seq", seq, "err", err)
		return
	}
	r.sinceSnapshot = 0
	// After a purge: the trimmed ops must leave the file too (a
	// compaction, rare enough to afford). Retried at the next snapshot on
	// failure. Not under the hub's context: a shutdown waits for the scrub
	// rather than leave the log half rewritten.
	ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
	err = r.hub.opts.Scrubber.Scrub(ctx, r.id)
	cancel()
	if err != nil {
		r.log.Warn("log not scrubbed after the purge", "err", err)
		return
	}
	r.scrub = false
}

// encodeState encodes the state for a snapshot, a panic in it (a bug)
// turned into an error.
func (r *Room) encodeState() (data []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("encode panicked: %v", p)
		}
	}()
	return r.state.Encode(), nil
}

// saveSnapshot saves a snapshot of the meeting at seq and trims the log
// behind it. It runs on its own goroutine: it touches nothing of the room
// but its id and the hub's (concurrency-safe) log and logger.
func (r *Room) saveSnapshot(seq uint64, data []byte) error {
	ctx, cancel := context.WithTimeout(r.hub.ctx, r.hub.opts.AppendTimeout)
	defer cancel()
	if err := r.hub.log.SaveSnapshot(ctx, r.id, seq, data); err != nil {
		return err
	}
	_, findsIDs := r.hub.log.(store.IDLookup)
	if t, ok := r.hub.log.(store.Trimmer); ok && (r.hub.shared || findsIDs) {
		// The log drops what the snapshot covers (Redis keeps it in
		// memory; bolt would grow for ever). The op ids stay known to the
		// store: a room rebuilt from a trimmed log does not know the
		// trimmed ops' ids, so a phone re-sending one after a restart is
		// acked through store.IDLookup (lookupLogged) rather than
		// refused (conflict, not_found). A log that cannot look ids up
		// is trimmed only when shared.
		if err := t.Trim(ctx, r.id); err != nil {
			r.log.Warn("log not trimmed", "err", err)
		}
	}
	return nil
}

// finishSnapshots, when the loop ends, waits for a snapshot being saved
// (the store is closed after the rooms) and, when the hub is shutting down
// (not when the meeting is being removed: it is about to be deleted), saves
// one of the last state if enough ops went by, so the next start replays
// fewer ops.
func (r *Room) finishSnapshots() {
	if r.saving {
		if err := <-r.saved; err != nil {
			r.sinceSnapshot = max(r.sinceSnapshot, r.hub.opts.SnapshotEvery)
		}
		r.saving = false
	}
	select {
	case <-r.stop:
		return
	default:
	}
	if r.hub.ctx.Err() == nil || r.scrub || r.stale || r.sinceSnapshot < r.hub.opts.SnapshotEvery {
		return
	}
	data, err := r.encodeState()
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err = r.hub.log.SaveSnapshot(ctx, r.id, r.state.Seq, data)
		cancel()
	}
	if err != nil {
		r.log.Warn("snapshot not saved at shutdown", "seq", r.state.Seq, "err", err)
	}
}

// snapshotSaved takes the outcome of a snapshot save: a failed one is
// tried again at the next op; if enough ops went by meanwhile (or a purge
// waits for its scrub) the next one starts now.
func (r *Room) snapshotSaved(err error) {
	r.saving = false
	if err != nil {
		r.log.Warn("snapshot not saved", "err", err)
		r.sinceSnapshot = max(r.sinceSnapshot, r.hub.opts.SnapshotEvery)
		return
	}
	r.maybeSnapshot() // ops went by meanwhile, or a purge waits
}

// subscribe authenticates a connection and registers it, queueing the welcome
// and the catch-up (changes from the history, or a snapshot) before any live
// frame: no gap, no duplicate.
func (r *Room) subscribe(s *subscriber, lastSeq uint64) (meeting.Actor, bool) {
	actor, ok := r.state.Authenticate(s.tokenHash)
	if !ok {
		return meeting.Actor{}, false
	}
	s.actor = actor
	s.lens = r.state.LensOf(actor)
	s.send <- mustJSON(welcomeFrame{
		Type:     frameWelcome,
		Meeting:  r.id,
		Role:     actor.Role,
		MemberID: actor.MemberID,
		Audience: s.lens.Audience.String(),
		Seq:      r.state.Seq,
		Now:      r.hub.opts.Now().UTC().Truncate(time.Millisecond),
	})
	frames, fromHistory := r.catchUpFrames(s.lens, s.lists, lastSeq, cap(s.send)/2)
	for _, frame := range frames {
		s.send <- frame
	}
	if r.storeDown {
		select {
		case s.send <- statusFrameFor(false):
		default: // a tiny queue: the refusals will tell
		}
	}
	if lastSeq > 0 {
		r.hub.opts.Observer.Resumed(fromHistory)
	}
	r.subs[s] = struct{}{}
	r.presenceDirty = true
	return actor, true
}

// catchUpFrames returns what a client of lens l at lastSeq misses: the
// history frames after lastSeq (those of its lens) when the history holds
// them all and they fit in max frames, else a snapshot. A participant
// catching up across an op that may have moved it to another group gets a
// snapshot: the frames it missed were made for the group it was in; so
// does a client that did not say "lists" (lists false) across a list
// change, whose frame for it was not kept.
func (r *Room) catchUpFrames(l meeting.Lens, lists bool, lastSeq uint64, max int) (frames [][]byte, fromHistory bool) {
	seq := r.state.Seq
	if lastSeq == seq && lastSeq > 0 {
		return nil, true
	}
	if lastSeq > 0 && lastSeq < seq && int(seq-lastSeq) <= max && len(r.history) > 0 &&
		r.history[0].seq <= lastSeq+1 && r.history[len(r.history)-1].seq == seq {
		i, _ := slices.BinarySearchFunc(r.history, lastSeq+1, func(e histEntry, t uint64) int {
			return cmpUint(e.seq, t)
		})
		frames = make([][]byte, 0, len(r.history)-i)
		for j := range r.history[i:] {
			e := &r.history[i+j]
			if (e.regroup && l.OwnGroupOnly) || (e.lists && !lists) {
				return [][]byte{r.snapshotFrame(l)}, false
			}
			if f := e.frameFor(l); f != nil {
				frames = append(frames, f)
			}
		}
		return frames, true
	}
	return [][]byte{r.snapshotFrame(l)}, false
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (r *Room) unsubscribe(s *subscriber) {
	if _, ok := r.subs[s]; ok {
		delete(r.subs, s)
		r.presenceDirty = true
	}
	s.gone = true
}

// presence is who is connected now.
func (r *Room) presence() []byte {
	f := presenceFrame{Type: framePresence, Connected: len(r.subs), Members: []string{}, Groups: map[string][]string{}}
	seen := map[string]bool{}
	for s := range r.subs {
		switch s.actor.Role {
		case meeting.RoleProjector:
			f.Screens++
		case meeting.RoleFacilitator:
			f.Facilit++
		default:
			id := s.actor.MemberID
			if id == "" || seen[id] {
				continue
			}
			seen[id] = true
			f.Members = append(f.Members, id)
			if m := r.state.Members[id]; m != nil && m.GroupID != "" {
				f.Groups[m.GroupID] = append(f.Groups[m.GroupID], id)
			}
		}
	}
	slices.Sort(f.Members)
	for _, ids := range f.Groups {
		slices.Sort(ids)
	}
	return mustJSON(f)
}

func (r *Room) sendPresence() {
	frame := r.presence()
	if string(frame) == string(r.lastPresence) {
		return
	}
	r.lastPresence = frame
	for s := range r.subs {
		r.send(s, frame)
	}
}

// replayed is a meeting rebuilt from the log.
type replayed struct {
	state         *meeting.State
	ids           map[string]outcome
	skip          map[string]bool
	sinceSnapshot int
	// scrub: the meeting is purged but its log still holds ops from
	// before the purge (the process stopped before the scrub).
	scrub bool
}

// replay rebuilds a meeting from its snapshot and the ops after it, skipping
// the ops of skip. An op whose Apply panics is added to skip and the replay
// starts over, so one bad op cannot keep a meeting down.
func replay(ctx context.Context, log store.Log, id string, skip map[string]bool, opts Options) (*replayed, error) {
	for range 16 {
		rp, poison, err := replayOnce(ctx, log, id, skip, opts.apply)
		if err != nil {
			return nil, err
		}
		if poison == "" {
			return rp, nil
		}
		opts.Logger.Error("op skipped: apply panicked during replay", "meeting", id, "op", poison)
		skip[poison] = true
	}
	return nil, fmt.Errorf("hub: replay %s: too many ops panicked", id)
}

func replayOnce(ctx context.Context, log store.Log, id string, skip map[string]bool,
	apply func(*meeting.State, *meeting.Op) (meeting.Changes, error)) (_ *replayed, poison string, _ error) {
	rp := &replayed{state: meeting.New(id), ids: map[string]outcome{}, skip: skip}
	behind, purged := false, false // ops at or behind the snapshot read; meeting.purge applied
	snapSeq, data, ok, err := log.Snapshot(ctx, id)
	if err != nil {
		return nil, "", fmt.Errorf("hub: snapshot of %s: %w", id, err)
	}
	if ok {
		st, err := meeting.Decode(data)
		if err == nil && st.Seq == snapSeq {
			rp.state = st
		} else {
			snapSeq = 0 // unusable snapshot: replay everything
		}
	}
	readFrom := uint64(0) // from 0 to learn every op id (re-sent ops stay duplicates)
again:
	err = log.Read(ctx, id, readFrom, func(rec store.Record) error {
		if rec.Seq <= snapSeq {
			rp.ids[rec.ID] = outcome{seq: rec.Seq}
			behind = true
			return nil
		}
		if rec.Seq != rp.state.Seq+1 {
			return fmt.Errorf("gap in log: seq %d after %d", rec.Seq, rp.state.Seq)
		}
		if skip[rec.ID] {
			rp.state.Seq = rec.Seq
			rp.ids[rec.ID] = outcome{seq: rec.Seq, err: skippedError()}
			return nil
		}
		op, err := meeting.DecodeOp(rec.Data)
		if err != nil {
			return fmt.Errorf("decode seq %d: %w", rec.Seq, err)
		}
		op.Seq = rec.Seq
		panicked := false
		var applyErr error
		func() {
			defer func() {
				if p := recover(); p != nil {
					panicked = true
				}
			}()
			_, applyErr = apply(rp.state, op)
		}()
		if panicked {
			poison = rec.ID
			return errPanicked
		}
		o := outcome{seq: rec.Seq}
		if applyErr != nil {
			o.err = asMeetingError(applyErr)
		}
		purged = purged || op.Type == meeting.OpMeetingPurge && applyErr == nil
		rp.ids[rec.ID] = o
		rp.sinceSnapshot++
		return nil
	})
	if errors.Is(err, errPanicked) {
		return nil, poison, nil
	}
	if errors.Is(err, store.ErrTrimmed) && readFrom < snapSeq && rp.state.Seq == snapSeq {
		// The ops behind the snapshot are gone (and the store keeps their
		// ids for de-duplication): read only what follows it. For a
		// purged meeting, read the snapshot's own op too if it is still
		// there: then the log was not scrubbed after the purge.
		if readFrom == 0 && rp.state.Purged && snapSeq > 1 {
			readFrom = snapSeq - 1
		} else {
			readFrom = snapSeq
		}
		goto again
	}
	if err != nil {
		return nil, "", fmt.Errorf("hub: replay %s: %w", id, err)
	}
	rp.scrub = rp.state.Purged && (behind || purged)
	return rp, "", nil
}
