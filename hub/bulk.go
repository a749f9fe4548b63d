package hub

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// bulkWriters paces the writing of frames that go to a whole meeting (a
// step change, a timer, a check-in): at most slots connections at a time
// write such a frame, in the order the frames were queued, while the frames
// of edits and the acks are written at once.
//
// Every meeting of the evening changes step at about the same time: 10,300
// frames to write, one system call each. With a goroutine per connection
// started at once, an edit made meanwhile waited behind all of them (its
// reader, its meeting, the store's commit and its writers each queued for a
// CPU behind thousands of runnable writers): at the national peak, the
// edits sent in the 0.7 s after a step change had p50 97 ms, p90 283 ms.
// Paced, the step change takes about as long to reach every screen and the
// edits go through it (p50 28 ms, p90 71 ms; loadgen/README).
//
// A slot is given back when its writer has written what it had to, or after
// hold, whichever comes first: a phone whose network stalls (its write
// blocks until WriteTimeout) holds a slot for hold, not for seconds.
type bulkWriters struct {
	hold time.Duration

	mu    sync.Mutex
	queue []*subscriber // waiting for a slot, oldest first
	free  int
}

func newBulkWriters(slots int, hold time.Duration) *bulkWriters {
	return &bulkWriters{free: slots, hold: hold}
}

// add queues s, whose writer is not running (the caller moved it from idle
// to waiting), for a slot.
func (b *bulkWriters) add(s *subscriber) {
	b.mu.Lock()
	b.queue = append(b.queue, s)
	b.mu.Unlock()
	b.next()
}

// next starts the writers it has slots for.
func (b *bulkWriters) next() {
	for {
		b.mu.Lock()
		if b.free == 0 || len(b.queue) == 0 {
			b.mu.Unlock()
			return
		}
		s := b.queue[0]
		b.queue[0] = nil
		b.queue = b.queue[1:]
		if len(b.queue) == 0 {
			b.queue = nil // let the backing array go after a wave
		}
		if !s.state.CompareAndSwap(writerWaiting, writerRunning) {
			b.mu.Unlock()
			continue // started meanwhile for an urgent frame
		}
		b.free--
		b.mu.Unlock()
		slot := &bulkSlot{b: b}
		slot.timer = time.AfterFunc(b.hold, slot.release)
		s.startWriter(slot.done)
	}
}

// bulkSlot is one slot lent to one writer.
type bulkSlot struct {
	b        *bulkWriters
	timer    *time.Timer
	released atomic.Bool
}

// done is called when the writer has nothing left to write. It yields
// first: the next writer, started by release, would otherwise be the next
// goroutine its CPU runs, inheriting what is left of the time slice, so a
// wave of writers run one after the other, for up to 10 ms, ahead of
// every goroutine already waiting there, an edit's among them (its
// reader, its meeting, the committer, its writers: one such wait per
// hand-off). Yielded, the writer waits behind them, and the wave goes out
// in the time the rest leaves. National peak, six pairs of runs
// alternated: edit→ack p99 36–138 → 31–53 ms (loadgen/README, run 2k).
func (s *bulkSlot) done() {
	s.timer.Stop()
	runtime.Gosched()
	s.release()
}

func (s *bulkSlot) release() {
	if !s.released.CompareAndSwap(false, true) {
		return
	}
	s.b.mu.Lock()
	s.b.free++
	s.b.mu.Unlock()
	s.b.next()
}

// queued is how many connections wait for a slot (tests).
func (b *bulkWriters) queued() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.queue)
}

// bulkHold is how long a writer keeps a bulk slot at most: writing one
// frame takes tens of microseconds here.
const bulkHold = 5 * time.Millisecond
