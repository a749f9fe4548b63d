package hub

import "sync"

// frameQueue is a connection's queue of frames waiting to be written: the
// room pushes without ever blocking, the connection's writer pops. At most
// max frames wait. Its slice grows with what waits and is kept small, so a
// connection with nothing to write holds almost nothing: a channel of 128
// slots was 3 KiB of pointers per connection, 31 MB at 10,300 connections,
// that the garbage collector scanned at every cycle.
type frameQueue struct {
	mu     sync.Mutex
	frames [][]byte // frames[head:] wait, oldest first
	head   int
	max    int
}

// keptFrames is the largest slice a queue keeps once emptied: a burst's
// bigger one is let go.
const keptFrames = 16

func newFrameQueue(max int) *frameQueue {
	return &frameQueue{max: max}
}

// push queues f; false when max frames already wait.
func (q *frameQueue) push(f []byte) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.frames)-q.head >= q.max {
		return false
	}
	if q.head > 0 && len(q.frames) == cap(q.frames) {
		n := copy(q.frames, q.frames[q.head:])
		clear(q.frames[n:])
		q.frames = q.frames[:n]
		q.head = 0
	}
	q.frames = append(q.frames, f)
	return true
}

// pop takes the oldest frame; false when none waits.
func (q *frameQueue) pop() ([]byte, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.head == len(q.frames) {
		return nil, false
	}
	f := q.frames[q.head]
	q.frames[q.head] = nil
	q.head++
	if q.head == len(q.frames) {
		q.head = 0
		if cap(q.frames) > keptFrames {
			q.frames = nil
		} else {
			q.frames = q.frames[:0]
		}
	}
	return f, true
}

// len is how many frames wait.
func (q *frameQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.frames) - q.head
}
