package hub

import (
	"runtime"
	"sync"
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

// next starts a worker for each free slot while connections wait.
func (b *bulkWriters) next() {
	for {
		s := b.take(true)
		if s == nil {
			return
		}
		go b.work(s)
	}
}

// take pops the oldest waiting connection whose writer is not running yet
// (an urgent frame may have started it meanwhile). With acquire it takes a
// free slot for it, and returns nil when there is none; without, the
// caller's slot goes on to it, and is given back when none waits.
func (b *bulkWriters) take(acquire bool) *subscriber {
	b.mu.Lock()
	defer b.mu.Unlock()
	if acquire && b.free == 0 {
		return nil
	}
	for len(b.queue) > 0 {
		s := b.queue[0]
		b.queue[0] = nil
		b.queue = b.queue[1:]
		if len(b.queue) == 0 {
			b.queue = nil // let the backing array go after a wave
		}
		if !s.state.CompareAndSwap(writerWaiting, writerRunning) {
			continue // started meanwhile for an urgent frame
		}
		if acquire {
			b.free--
		}
		return s
	}
	if !acquire {
		b.free++
	}
	return nil
}

// work holds one slot: it writes s's queue out, then the next waiting
// connection's, in this goroutine, until none waits (a goroutine and a
// timer per connection were a tenth of a wave's CPU). A write that takes
// longer than hold gives the slot to a new worker, and this one ends when
// the write returns.
//
// It yields between two connections: other goroutines waiting for this
// CPU, an edit's among them (its reader, its meeting, the committer, its
// writers: one such wait per hand-off), go first, and the wave goes out in
// the time they leave. Started anew for each connection without yielding,
// the writers of a wave ran one after the other, each inheriting what was
// left of the previous one's time slice, for up to 10 ms ahead of them.
// National peak, six pairs of runs alternated: edit→ack p99 36–138 →
// 31–53 ms (loadgen/README, run 2k).
func (b *bulkWriters) work(s *subscriber) {
	t := time.AfterFunc(b.hold, b.release)
	for {
		s.runWriter()
		if !t.Stop() {
			return // held too long: the slot went to another worker
		}
		runtime.Gosched()
		if s = b.take(false); s == nil {
			return
		}
		t.Reset(b.hold)
	}
}

// release gives back the slot of a worker stuck in a write.
func (b *bulkWriters) release() {
	b.mu.Lock()
	b.free++
	b.mu.Unlock()
	b.next()
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
