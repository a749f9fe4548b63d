// Package hub runs the live meetings: one actor goroutine per meeting owns
// its state, orders the ops it receives (from WebSockets and from the REST
// handlers), makes them durable in the op log, applies them, and fans the
// resulting changes out to the connections of the meeting that see them,
// encoded once per lens (lens.go). It also serves the WebSocket protocol of docs/PROTOCOL.md on an
// accepted connection: hello, resume, ops, acks, presence.
package hub

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/boucle/designation/meeting"
	"github.com/boucle/designation/store"
)

// Scrubber is a log whose files keep the bytes of deleted ops until it
// rewrites them (store/bolt: free pages until compaction). Scrub trims the
// meeting's log behind its snapshot, like store.Trimmer, and then makes
// sure none of the deleted bytes remain.
type Scrubber interface {
	Scrub(ctx context.Context, meeting string) error
}

// Options tunes a Hub. Zero values take the documented defaults.
type Options struct {
	// HistorySize is how many applied ops per meeting are kept encoded in
	// memory (at least; up to a quarter more) to resume a client without a
	// snapshot. Default SendQueue/2: a catch-up from the history is at most
	// SendQueue/2 frames, so older frames would never be sent.
	HistorySize int
	// SnapshotEvery is how many applied ops go by between two snapshots of a
	// meeting in the store (cold start replays at most that many). Default 500.
	SnapshotEvery int
	// SendQueue is how many frames may wait for one connection before it is
	// closed as too slow (it then resumes). Default 128 (a meeting's
	// projector gets about ten frames a second at steps IV–V).
	SendQueue int
	// BatchMax is the most ops appended in one store call. Default 64, but
	// at most SendQueue/4 so that one batch cannot fill a reading client's
	// queue.
	BatchMax int
	// MaxInFlight is how many ops one connection may have sent and not yet
	// had answered; past it the server stops reading that connection until
	// answers go out. Default 32, at most SendQueue/4.
	MaxInFlight int
	// PresenceDelay coalesces bursts of (dis)connections into one presence
	// frame. Default 200 ms.
	PresenceDelay time.Duration
	// WriteTimeout bounds each WebSocket write. Default 5 s.
	WriteTimeout time.Duration
	// PingInterval is the mean time between two pings to detect dead
	// phones (each wait is drawn within ±25%, so that phones that connected
	// together are not pinged together); a ping unanswered within
	// PingInterval closes the connection. Default 20 s.
	PingInterval time.Duration
	// HelloTimeout is how long a new connection has to send hello. Default 10 s.
	HelloTimeout time.Duration
	// ReadLimit is the largest frame a client may send, in bytes. Default 64 KiB.
	ReadLimit int64
	// AppendTimeout bounds one store append. Default 10 s.
	AppendTimeout time.Duration
	// OpsPerSecond and OpsBurst limit the frames one participant's or the
	// projector's connection may send (a token bucket): past them the
	// server stops reading that connection until the bucket refills, so a
	// flooding client slows only itself. Facilitators are not limited.
	// Defaults 20 per second, bursts of 60.
	OpsPerSecond float64
	OpsBurst     int
	// StoreCheckInterval is how often the store is pinged, so that the
	// connected clients are told (a "status" frame) when their edits cannot
	// be saved and again when they can, even where nobody edits. Default 1 s.
	StoreCheckInterval time.Duration
	// ResyncInterval is, with a log shared with other instances, how often
	// every room reads the log for ops it was not told of (a lost notice
	// that no later one revealed). Default 10 s.
	ResyncInterval time.Duration
	// Now is the clock that stamps ops. Default time.Now.
	Now func() time.Time
	// Logger receives operational events (never personal data). Default slog.Default().
	Logger *slog.Logger

	// Observer receives the hub's counters (metrics). Default: none.
	Observer Observer

	// Scrubber, when set, replaces the log's Trim after the snapshot that
	// follows meeting.purge, so the ops carrying the personal data the
	// purge removed leave the store's files too. Default: the log given
	// to New when it is a Scrubber (store/bolt); set it when that log is
	// wrapped (metrics) and the wrapper hides it.
	Scrubber Scrubber

	// apply is meeting.Apply; the package's tests replace it to make an
	// apply panic.
	apply func(*meeting.State, *meeting.Op) (meeting.Changes, error)
}

func (o Options) withDefaults() Options {
	if o.SnapshotEvery <= 0 {
		o.SnapshotEvery = 500
	}
	if o.SendQueue <= 0 {
		o.SendQueue = 128
	}
	if o.HistorySize <= 0 {
		o.HistorySize = max(1, o.SendQueue/2)
	}
	if o.BatchMax <= 0 {
		o.BatchMax = 64
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = 32
	}
	o.BatchMax = max(1, min(o.BatchMax, o.SendQueue/4))
	o.MaxInFlight = max(1, min(o.MaxInFlight, o.SendQueue/4))
	if o.PresenceDelay <= 0 {
		o.PresenceDelay = 200 * time.Millisecond
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 5 * time.Second
	}
	if o.PingInterval <= 0 {
		o.PingInterval = 20 * time.Second
	}
	if o.HelloTimeout <= 0 {
		o.HelloTimeout = 10 * time.Second
	}
	if o.ReadLimit <= 0 {
		o.ReadLimit = 64 << 10
	}
	if o.AppendTimeout <= 0 {
		o.AppendTimeout = 10 * time.Second
	}
	if o.OpsPerSecond <= 0 {
		o.OpsPerSecond = 20
	}
	if o.OpsBurst <= 0 {
		o.OpsBurst = 60
	}
	if o.StoreCheckInterval <= 0 {
		o.StoreCheckInterval = time.Second
	}
	if o.ResyncInterval <= 0 {
		o.ResyncInterval = 10 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.apply == nil {
		o.apply = meeting.Apply
	}
	if o.Observer == nil {
		o.Observer = noObserver{}
	}
	return o
}

// Observer is what the hub reports for monitoring (package metrics
// implements it). Its methods are called from the rooms' and connections'
// goroutines and must not block. Labels are fixed sets: roles and codes.
type Observer interface {
	ConnOpened(role string) // a WebSocket was welcomed
	ConnClosed(role string) // a welcomed WebSocket ended
	SlowClientClosed()      // a connection was closed as too slow (4008)
	// OpAcked: an op was answered with an ack; OpRefused: with a refusal.
	// took is the time from the op reaching the hub (read off its
	// WebSocket, or submitted over HTTP) to its answer: the checking, the
	// wait for its meeting, the durable append and the fan-out before the
	// answer is queued (not its writing to the socket).
	OpAcked(took time.Duration)
	OpRefused(code string, took time.Duration)
	FrameSent()               // a frame was written to a WebSocket
	Resumed(fromHistory bool) // a hello with a lastSeq was caught up from the history (or had nothing to catch up), or needed a snapshot
}

// noObserver is the default Observer: it counts nothing.
type noObserver struct{}

func (noObserver) ConnOpened(string)               {}
func (noObserver) ConnClosed(string)               {}
func (noObserver) SlowClientClosed()               {}
func (noObserver) OpAcked(time.Duration)           {}
func (noObserver) OpRefused(string, time.Duration) {}
func (noObserver) FrameSent()                      {}
func (noObserver) Resumed(bool)                    {}

// Errors of the hub's methods.
var (
	// ErrClosed: the hub (or the room) is shut down.
	ErrClosed = errors.New("hub: closed")
	// ErrExists: a meeting with that id is already loaded.
	ErrExists = errors.New("hub: meeting already exists")
	// ErrCodeTaken: another loaded meeting already has that join code.
	ErrCodeTaken = errors.New("hub: join code taken")
)

// Hub holds every loaded meeting.
type Hub struct {
	log  store.Log
	opts Options

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc

	mu       sync.Mutex
	closed   bool
	rooms    map[string]*Room
	codes    map[string]string        // join code -> meeting id
	loading  map[string]chan struct{} // meetings being loaded on demand; closed when done
	failed   map[string]time.Time     // meetings whose on-demand load failed, and when (retried after a while)
	lastScan time.Time                // last listing of the store's meetings (Lookup misses)

	// shared is true when other instances append to the same log
	// (store.Notifier): rooms then follow the log, and meetings created
	// elsewhere are loaded on demand.
	shared bool

	// storeDown is true while the store does not answer (see watchStore);
	// checkStore asks watchStore to check at once (an append failed).
	storeDown  bool
	checkStore chan struct{}

	roomsWG sync.WaitGroup
	connsWG sync.WaitGroup

	// buffers holds the buffers messages of several frames are built in
	// (conn.go, coalesce): one per connection writing such a message at
	// that moment, not one per connection.
	buffers sync.Pool
	// reads holds the buffers client messages are read into (readMessage).
	reads sync.Pool

	// bulk paces the writing of frames that go to whole meetings.
	bulk *bulkWriters
}

// New loads every meeting of the log (snapshot, then the ops after it) and
// starts its actor. A meeting whose log cannot be replayed is logged and
// left out rather than keeping every other meeting down.
func New(ctx context.Context, log store.Log, opts Options) (*Hub, error) {
	opts = opts.withDefaults()
	if s, ok := log.(Scrubber); ok && opts.Scrubber == nil {
		opts.Scrubber = s
	}
	if opts.Scrubber == nil { // Redis: purge and rewrite through the Log
		opts.Scrubber = logRewriter{log: log, now: opts.Now}
	}
	hctx, cancel := context.WithCancel(context.Background())
	h := &Hub{
		log:     log,
		opts:    opts,
		ctx:     hctx,
		cancel:  cancel,
		rooms:   map[string]*Room{},
		codes:   map[string]string{},
		loading: map[string]chan struct{}{},
		failed:  map[string]time.Time{},

		checkStore: make(chan struct{}, 1),
	}
	h.buffers.New = func() any { b := make([]byte, 0, maxMessage); return &b }
	h.reads.New = func() any { return new(bytes.Buffer) }
	h.bulk = newBulkWriters(runtime.GOMAXPROCS(0), bulkHold)
	// Subscribe first, then load, then catch up: no append of another
	// instance can fall between the two.
	var pending chan string
	if n, ok := log.(store.Notifier); ok {
		h.shared = true
		pending = make(chan string, 1024)
		notices := make(chan struct{})
		if err := n.Subscribe(hctx, func(meeting string, last uint64) {
			select {
			case <-notices:
				h.notice(meeting, last)
			default:
				// Still loading: remember, handled once loaded.
				select {
				case pending <- meeting:
				default: // overflow: the catch-up of every room below covers it
				}
			}
		}); err != nil {
			cancel()
			return nil, fmt.Errorf("hub: subscribe to appends: %w", err)
		}
		defer func() {
			close(notices)
			// Everything that may have been missed while loading.
			h.notice("", 0)
			for {
				select {
				case id := <-pending:
					h.notice(id, 0)
				default:
					return
				}
			}
		}()
	}
	ids, err := log.Meetings(ctx)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("hub: list meetings: %w", err)
	}
	type loaded struct {
		id  string
		r   *replayed
		err error
	}
	jobs := make(chan string)
	results := make(chan loaded)
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range jobs {
				r, err := replay(ctx, log, id, map[string]bool{}, opts)
				results <- loaded{id, r, err}
			}
		}()
	}
	go func() {
		defer close(jobs)
		for _, id := range ids {
			select {
			case jobs <- id:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(results) }()
	var firstErr error
	for l := range results {
		if l.err != nil {
			if ctx.Err() != nil && firstErr == nil {
				firstErr = ctx.Err()
			}
			opts.Logger.Error("meeting not loaded", "meeting", l.id, "err", l.err)
			continue
		}
		if !l.r.state.Created {
			continue
		}
		h.startRoom(l.id, l.r)
	}
	if firstErr != nil {
		h.Close()
		return nil, fmt.Errorf("hub: load: %w", firstErr)
	}
	opts.Logger.Info("meetings loaded", "count", len(h.rooms))
	h.roomsWG.Add(1)
	go h.watchStore()
	return h, nil
}

// watchStore pings the store every StoreCheckInterval, and at once when an
// append failed, and tells every room when the store stops or starts
// answering again: the rooms tell their clients, and catch up with the log
// once it is back (other instances may have appended meanwhile). With a
// shared log it also has every room check the log every ResyncInterval.
func (h *Hub) watchStore() {
	defer h.roomsWG.Done()
	t := time.NewTicker(h.opts.StoreCheckInterval)
	defer t.Stop()
	var resync <-chan time.Time
	if h.shared {
		rt := time.NewTicker(h.opts.ResyncInterval)
		defer rt.Stop()
		resync = rt.C
	}
	for {
		select {
		case <-h.ctx.Done():
			return
		case <-resync:
			h.notice("", 0) // every room compares itself with the log
			continue
		case <-t.C:
		case <-h.checkStore:
		}
		ctx, cancel := context.WithTimeout(h.ctx, max(h.opts.StoreCheckInterval, time.Second))
		err := h.log.Ping(ctx)
		cancel()
		if h.ctx.Err() != nil {
			return
		}
		h.setStoreUp(err == nil, err)
	}
}

// checkStoreSoon asks watchStore for a check now (never blocks).
func (h *Hub) checkStoreSoon() {
	select {
	case h.checkStore <- struct{}{}:
	default:
	}
}

// setStoreUp records whether the store answers and, on a change, tells
// every room.
func (h *Hub) setStoreUp(up bool, err error) {
	h.mu.Lock()
	if h.closed || h.storeDown == !up { // no change
		h.mu.Unlock()
		return
	}
	h.storeDown = !up
	rooms := make([]*Room, 0, len(h.rooms))
	for _, r := range h.rooms {
		rooms = append(rooms, r)
	}
	h.mu.Unlock()
	if up {
		h.opts.Logger.Info("store available again")
	} else {
		h.opts.Logger.Warn("store unavailable: edits refused until it answers", "err", err)
	}
	for _, r := range rooms {
		r.setStoreUp(up)
	}
}

// startRoom registers a room and starts its actor. The caller makes sure the
// id is free.
func (h *Hub) startRoom(id string, r *replayed) *Room {
	room := newRoom(h, id, r)
	h.mu.Lock()
	room.storeDown = h.storeDown // before the loop starts; later changes go through setStoreUp
	h.rooms[id] = room
	if code := r.state.JoinCode; code != "" {
		h.codes[code] = id
	}
	h.mu.Unlock()
	h.roomsWG.Add(1)
	go func() {
		defer h.roomsWG.Done()
		room.loop()
	}()
	return room
}

// Room returns the meeting id. With a shared log, a meeting created by
// another instance is loaded on first use.
func (h *Hub) Room(id string) (*Room, bool) {
	h.mu.Lock()
	r, ok := h.rooms[id]
	h.mu.Unlock()
	if ok || !h.shared || id == "" {
		return r, ok
	}
	return h.loadMeeting(id)
}

// loadMeeting loads one meeting from the shared log (created by another
// instance) and starts its room.
func (h *Hub) loadMeeting(id string) (*Room, bool) {
	if store.CheckMeetingID(id) != nil {
		return nil, false
	}
	h.mu.Lock()
	if r, ok := h.rooms[id]; ok || h.closed {
		h.mu.Unlock()
		return r, ok
	}
	if at, ok := h.failed[id]; ok && time.Since(at) < 30*time.Second {
		h.mu.Unlock() // failed a moment ago: do not replay it on every notice
		return nil, false
	}
	if wait, ok := h.loading[id]; ok { // another caller is loading it
		h.mu.Unlock()
		select {
		case <-wait:
		case <-h.ctx.Done():
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		r, ok := h.rooms[id]
		return r, ok
	}
	done := make(chan struct{})
	h.loading[id] = done
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.loading, id)
		h.mu.Unlock()
		close(done)
	}()
	ctx, cancel := context.WithTimeout(h.ctx, 30*time.Second)
	defer cancel()
	rp, err := replay(ctx, h.log, id, map[string]bool{}, h.opts)
	if err != nil || !rp.state.Created {
		if err != nil {
			h.opts.Logger.Warn("meeting not loaded", "meeting", id, "err", err)
		}
		h.mu.Lock()
		if len(h.failed) >= 1000 { // unknown ids probed by clients: keep the set small
			for k, at := range h.failed {
				if time.Since(at) >= 30*time.Second {
					delete(h.failed, k)
				}
			}
			if len(h.failed) >= 1000 {
				clear(h.failed)
			}
		}
		h.failed[id] = time.Now()
		h.mu.Unlock()
		return nil, false
	}
	h.mu.Lock()
	delete(h.failed, id)
	if r, ok := h.rooms[id]; ok { // loaded meanwhile
		h.mu.Unlock()
		return r, true
	}
	h.mu.Unlock()
	return h.startRoom(id, rp), true
}

// notice is called when another instance appended to a meeting's log (or,
// with meeting "", when notices may have been lost): the rooms concerned
// catch up with the log, and an unknown meeting is loaded. A meeting being
// loaded is poked once loaded: its replay may have read the log before this
// append, and no later notice may come to reveal the gap.
func (h *Hub) notice(meeting string, last uint64) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	var rooms []*Room
	var pending []string // unknown, or being loaded
	if meeting == "" {
		for _, r := range h.rooms {
			rooms = append(rooms, r)
		}
		for id := range h.loading {
			pending = append(pending, id)
		}
	} else if r, ok := h.rooms[meeting]; ok {
		rooms = append(rooms, r)
	} else {
		pending = append(pending, meeting)
	}
	h.mu.Unlock()
	for _, id := range pending {
		go func() {
			if r, ok := h.loadMeeting(id); ok {
				r.poke(last) // a no-op when this load read the append
			}
		}()
	}
	for _, r := range rooms {
		r.poke(last)
	}
}

// Lookup returns the id of the meeting whose join code is code. With a
// shared log, a miss lists the log's meetings (at most every 2 s) to find
// one created by another instance.
func (h *Hub) Lookup(code string) (string, bool) {
	h.mu.Lock()
	id, ok := h.codes[code]
	scan := !ok && h.shared && time.Since(h.lastScan) > 2*time.Second
	if scan {
		h.lastScan = time.Now()
	}
	h.mu.Unlock()
	if !scan {
		return id, ok
	}
	ctx, cancel := context.WithTimeout(h.ctx, 10*time.Second)
	defer cancel()
	ids, err := h.log.Meetings(ctx)
	if err != nil {
		return "", false
	}
	for _, mid := range ids {
		h.mu.Lock()
		_, known := h.rooms[mid]
		h.mu.Unlock()
		if !known {
			h.loadMeeting(mid)
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	id, ok = h.codes[code]
	return id, ok
}

// CodeTaken says whether a loaded meeting already uses the join code.
func (h *Hub) CodeTaken(code string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, ok := h.codes[code]
	return ok
}

// Meetings returns the number of loaded meetings.
func (h *Hub) Meetings() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.rooms)
}

// Create starts meeting id with its meeting.create op (built by the
// server, actor RoleSystem) and returns the op's outcome. The join code in the
// payload must be unique among loaded meetings (ErrCodeTaken otherwise). A
// refused create leaves nothing behind.
func (h *Hub) Create(ctx context.Context, id string, op *meeting.Op) (*Room, Result, error) {
	if op.Type != meeting.OpMeetingCreate {
		return nil, Result{}, fmt.Errorf("hub: create with op %q", op.Type)
	}
	var p meeting.MeetingCreate
	if err := json.Unmarshal(op.Payload, &p); err != nil {
		return nil, Result{}, fmt.Errorf("hub: create payload: %w", err)
	}
	if id == "" {
		return nil, Result{}, errors.New("hub: create without a meeting id")
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, Result{}, ErrClosed
	}
	if _, ok := h.rooms[id]; ok {
		h.mu.Unlock()
		return nil, Result{}, ErrExists
	}
	if _, ok := h.codes[p.JoinCode]; ok {
		h.mu.Unlock()
		return nil, Result{}, ErrCodeTaken
	}
	h.codes[p.JoinCode] = id // reserved until the create is refused
	h.mu.Unlock()

	room := h.startRoom(id, &replayed{state: meeting.New(id), ids: map[string]outcome{}})
	res, err := room.Submit(ctx, op)
	if err != nil || res.Err != nil {
		h.remove(room)
		if err == nil && res.Err.Code == CodeUnavailable {
			err = fmt.Errorf("hub: create: %w", store.ErrUnavailable)
		}
		return nil, res, err
	}
	return room, res, nil
}

// remove stops a room and forgets it (a meeting whose creation was refused).
func (h *Hub) remove(room *Room) {
	h.mu.Lock()
	if h.rooms[room.id] == room {
		delete(h.rooms, room.id)
	}
	for code, id := range h.codes {
		if id == room.id {
			delete(h.codes, code)
		}
	}
	h.mu.Unlock()
	room.stopOnce.Do(func() { close(room.stop) })
}

// registerCode indexes a meeting's join code once its create op is applied.
func (h *Hub) registerCode(code, id string) {
	h.mu.Lock()
	h.codes[code] = id
	h.mu.Unlock()
}

// Close stops every room and closes every WebSocket with "going away", then
// waits for them. It does not close the store.
func (h *Hub) Close() {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	h.cancel()
	h.connsWG.Wait()
	h.roomsWG.Wait()
}

// Done is closed when the hub starts shutting down.
func (h *Hub) Done() <-chan struct{} { return h.ctx.Done() }
