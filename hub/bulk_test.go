package hub

import (
	"testing"
	"time"
)

// bulkProbe is a subscriber whose writer only records that it started.
type bulkProbe struct {
	s     *subscriber
	id    int
	dones chan func() // one per paced start: ends the writer's write
}

func newBulkProbes(n int, started chan<- int) []*bulkProbe {
	ps := make([]*bulkProbe, n)
	for i := range ps {
		p := &bulkProbe{s: &subscriber{}, id: i, dones: make(chan func(), 4)}
		p.s.startWriter = func() { started <- p.id } // unpaced: holds no slot
		// A paced writer writes until the test calls its done.
		p.s.runWriter = func() {
			finished := make(chan struct{})
			p.dones <- func() { close(finished) }
			started <- p.id
			<-finished
		}
		ps[i] = p
	}
	return ps
}

func waitStart(t *testing.T, started <-chan int) int {
	t.Helper()
	select {
	case id := <-started:
		return id
	case <-time.After(5 * time.Second):
		t.Fatal("no writer started")
		return -1
	}
}

func noStart(t *testing.T, started <-chan int) {
	t.Helper()
	select {
	case id := <-started:
		t.Fatalf("writer %d started without a free slot", id)
	case <-time.After(50 * time.Millisecond):
	}
}

// TestBulkWritersPace: frames that go to the whole meeting are written by
// at most slots writers at a time, in the order they were queued; an ack or
// an edit for a waiting connection starts its writer at once, and the queue
// then skips it.
func TestBulkWritersPace(t *testing.T) {
	b := newBulkWriters(2, time.Hour)
	started := make(chan int, 100)
	ps := newBulkProbes(6, started)
	for _, p := range ps {
		p.s.wakeBulk(b)
	}
	// Two workers start at once: either may report first.
	if a, c := waitStart(t, started), waitStart(t, started); a+c != 1 || a*c != 0 {
		t.Fatalf("first writers %d, %d; want 0 and 1", a, c)
	}
	noStart(t, started)
	if q := b.queued(); q != 4 {
		t.Fatalf("%d connections wait for a slot, want 4", q)
	}
	// A connection already queued is not queued twice.
	ps[3].s.wakeBulk(b)
	if q := b.queued(); q != 4 {
		t.Fatalf("%d connections wait after a second frame for the same one, want 4", q)
	}

	// An edit for connection 4: its writer starts now, unpaced.
	ps[4].s.wake()
	if id := waitStart(t, started); id != 4 {
		t.Fatalf("writer %d started for an urgent frame of 4", id)
	}

	// Each slot given back starts the next in order, skipping 4.
	(<-ps[0].dones)()
	if id := waitStart(t, started); id != 2 {
		t.Fatalf("writer %d started after 0 finished, want 2", id)
	}
	(<-ps[1].dones)()
	if id := waitStart(t, started); id != 3 {
		t.Fatalf("writer %d started after 1 finished, want 3", id)
	}
	(<-ps[2].dones)()
	if id := waitStart(t, started); id != 5 {
		t.Fatalf("writer %d started after 2 finished, want 5 (4 was started already)", id)
	}
	noStart(t, started)
	(<-ps[3].dones)()
	(<-ps[5].dones)()
	waitFree(t, b, 2, "after every writer finished")
}

// waitFree waits until b has want free slots and none queued: a worker
// gives its slot back once its writer returns, in its own goroutine.
func waitFree(t *testing.T, b *bulkWriters, want int, when string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		b.mu.Lock()
		free, queued := b.free, len(b.queue)
		b.mu.Unlock()
		if free == want && queued == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d free slots, %d queued; want %d, 0", when, free, queued, want)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestBulkSlotHeldAtMostHold: a writer stuck in a write (a phone whose
// network stalls) gives its slot back after hold, so that the other
// meetings' step changes go on; when it finishes later, it does not give
// the slot back twice.
func TestBulkSlotHeldAtMostHold(t *testing.T) {
	b := newBulkWriters(1, 20*time.Millisecond)
	started := make(chan int, 10)
	ps := newBulkProbes(3, started)
	for _, p := range ps {
		p.s.wakeBulk(b)
	}
	if id := waitStart(t, started); id != 0 {
		t.Fatalf("first writer %d, want 0", id)
	}
	// 0 never finishes: 1 and then 2 start, hold apart.
	if id := waitStart(t, started); id != 1 {
		t.Fatalf("writer %d started after 0 held its slot too long, want 1", id)
	}
	(<-ps[1].dones)() // 1 finishes quickly: 2 starts at once
	if id := waitStart(t, started); id != 2 {
		t.Fatalf("writer %d started after 1, want 2", id)
	}
	(<-ps[0].dones)() // the stuck write returns at last
	(<-ps[2].dones)()
	waitFree(t, b, 1, "at the end")
	// and no more than that, a while later (a slot given back twice?)
	time.Sleep(50 * time.Millisecond)
	waitFree(t, b, 1, "50 ms later")
}
