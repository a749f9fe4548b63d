package hub

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
)

// TestFrameQueue: frames come out in the order they went in, at most max
// wait (a push past it is refused and changes nothing), and after a burst
// an empty queue lets its big slice go.
func TestFrameQueue(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	q := newFrameQueue(128)
	var model [][]byte
	next := 0
	for i := 0; i < 20000; i++ {
		if rng.IntN(100) < 55 { // slightly more pushes than pops: the queue fills up at times
			f := []byte(fmt.Sprint(next))
			ok := q.push(f)
			if ok != (len(model) < 128) {
				t.Fatalf("push with %d waiting: %v", len(model), ok)
			}
			if ok {
				model = append(model, f)
				next++
			}
		} else {
			f, ok := q.pop()
			if ok != (len(model) > 0) {
				t.Fatalf("pop with %d waiting: %v", len(model), ok)
			}
			if ok {
				if string(f) != string(model[0]) {
					t.Fatalf("popped %s, want %s", f, model[0])
				}
				model = model[1:]
			}
		}
		if q.len() != len(model) {
			t.Fatalf("len %d, want %d", q.len(), len(model))
		}
	}
	for range model {
		q.pop()
	}
	if _, ok := q.pop(); ok {
		t.Fatal("popped from an empty queue")
	}
	// A burst of 100, emptied: the slice is let go.
	for i := 0; i < 100; i++ {
		q.push([]byte("f"))
	}
	for q.len() > 0 {
		q.pop()
	}
	if cap(q.frames) > keptFrames {
		t.Fatalf("an empty queue keeps a slice of %d after a burst (at most %d)", cap(q.frames), keptFrames)
	}
}

// TestFrameQueueConcurrent: a room pushing while a writer pops (run with
// -race) loses nothing and keeps the order.
func TestFrameQueueConcurrent(t *testing.T) {
	q := newFrameQueue(64)
	const n = 50000
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < n; {
			if q.push([]byte(fmt.Sprint(i))) {
				i++
			}
		}
	}()
	for want := 0; want < n; {
		f, ok := q.pop()
		if !ok {
			continue
		}
		if string(f) != fmt.Sprint(want) {
			t.Fatalf("popped %s, want %d", f, want)
		}
		want++
	}
	wg.Wait()
}
