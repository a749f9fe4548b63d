package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/boucle/designation/hub"
	"github.com/boucle/designation/internal/testredis"
	"github.com/boucle/designation/store"
	"github.com/boucle/designation/store/redis"
)

// droppingNotices is a Redis log whose notices to this instance can be
// dropped on purpose, as Redis Pub/Sub may lose them (it is at most once),
// and whose next Read can be held after it has read the log.
type droppingNotices struct {
	*redis.Log

	mu      sync.Mutex
	toDrop  int // how many of the next notices of a meeting to drop
	dropped int
	heard   uint64    // the highest seq of a notice handed to the hub
	hold    *heldRead // the next Read to hold, if any
}

// heldRead holds a Read once it has read the log, before its caller gets
// the outcome: read is closed then, and the Read returns once release is
// (or its context is done).
type heldRead struct{ read, release chan struct{} }

func (d *droppingNotices) Subscribe(ctx context.Context, fn func(meeting string, last uint64)) error {
	return d.Log.Subscribe(ctx, func(meeting string, last uint64) {
		d.mu.Lock()
		drop := meeting != "" && d.toDrop > 0
		if drop {
			d.toDrop--
			d.dropped++
		}
		d.mu.Unlock()
		if drop {
			return
		}
		fn(meeting, last)
		d.mu.Lock()
		d.heard = max(d.heard, last)
		d.mu.Unlock()
	})
}

func (d *droppingNotices) Read(ctx context.Context, meeting string, after uint64, fn func(store.Record) error) error {
	err := d.Log.Read(ctx, meeting, after, fn)
	d.mu.Lock()
	h := d.hold
	d.hold = nil
	d.mu.Unlock()
	if h != nil {
		close(h.read)
		select {
		case <-h.release:
		case <-ctx.Done(): // the hub closed (a failed test)
		}
	}
	return err
}

// holdNextRead holds the next Read (see heldRead).
func (d *droppingNotices) holdNextRead() *heldRead {
	h := &heldRead{read: make(chan struct{}), release: make(chan struct{})}
	d.mu.Lock()
	d.hold = h
	d.mu.Unlock()
	return h
}

// heardUpTo is the highest seq of a notice handed to the hub, once the hub
// has handled it.
func (d *droppingNotices) heardUpTo() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return int(d.heard)
}

// dropNext drops the next n notices and returns how many were dropped
// before.
func (d *droppingNotices) dropNext(n int) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.toDrop += n
	return d.dropped
}

func (d *droppingNotices) droppedCount() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.dropped
}

// waitCount waits until count() reaches n.
func waitCount(t *testing.T, what string, count func() int, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for count() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d %s, want %d", count(), what, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// twoInstances serves the app twice over one Redis; the second instance's
// notices can be dropped.
func twoInstances(t *testing.T, url string, opts hub.Options) (a, b *testApp, bLog *droppingNotices) {
	t.Helper()
	open := func() *redis.Log {
		l, err := redis.Open(context.Background(), url, redis.Options{OpTimeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	bLog = &droppingNotices{Log: open()}
	return newTestAppWithLog(t, open(), opts), newTestAppWithLog(t, bLog, opts), bLog
}

func setBilan(c *wsClient, text string) uint64 {
	return c.mustAck("bilan.set", map[string]any{"binome": "communication", "text": text})
}

// bilanOf is the client's current "communication" bilan.
func bilanOf(c *wsClient) string {
	var text string
	c.mu.Lock()
	raw := c.view["bilans"]["communication"]
	c.mu.Unlock()
	if raw != nil {
		_ = json.Unmarshal(raw, &text)
	}
	return text
}

// TestLostNoticesAreRepairedFromTheStream: Pub/Sub only wakes instances
// up; the ops come from the stream. A notice dropped on purpose leaves a
// gap that the next notice reveals and the instance fills from the stream
// (its clients get every op, in order, none missing); a subscription cut
// with CLIENT KILL TYPE pubsub is re-established and the instance catches
// up, so an edit made right after the cut reaches the other instance's
// clients.
func TestLostNoticesAreRepairedFromTheStream(t *testing.T) {
	url, _ := testredis.Start(t)
	// No periodic resync during the test: only the repairs under test.
	a, b, bLog := twoInstances(t, url, hub.Options{ResyncInterval: time.Hour})
	m := a.createMeeting()
	facA := dial(t, a, map[string]any{"meeting": m.ID, "token": m.FacSecret, "lastSeq": uint64(0)}, nil)
	facB := dial(t, b, map[string]any{"meeting": m.ID, "token": m.FacSecret, "lastSeq": uint64(0)}, nil)
	facB.waitSeq(setBilan(facA, "zero"))

	// A dropped notice: instance b does not hear of the op...
	before := bLog.dropNext(1)
	s1 := setBilan(facA, "one")
	waitCount(t, "notices dropped", bLog.droppedCount, before+1)
	if got := facB.seq(); got >= s1 {
		t.Fatalf("instance b reached seq %d without the notice of seq %d: the test is blind", got, s1)
	}
	// ...until the next notice shows the gap, filled from the stream.
	s2 := setBilan(facA, "two")
	facB.waitSeq(s2)
	if got := bilanOf(facB); got != "two" {
		t.Fatalf("instance b's client has bilan %q, want %q", got, "two")
	}

	// The subscriptions of both instances cut: an edit made right away,
	// whose notice is lost with them, still reaches b's clients.
	killer, err := redis.Open(context.Background(), url, redis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer killer.Close()
	for round := range 3 {
		n, err := killer.Client().ClientKillByFilter(context.Background(), "TYPE", "pubsub").Result()
		if err != nil || n < 2 {
			t.Fatalf("CLIENT KILL TYPE pubsub: %d killed, %v; want both instances' subscriptions", n, err)
		}
		text := fmt.Sprintf("after cut %d", round)
		seq := setBilan(facA, text)
		facB.waitSeq(seq)
		if got := bilanOf(facB); got != text {
			t.Fatalf("instance b's client has bilan %q, want %q", got, text)
		}
		// And the other way round, through the re-established subscription.
		seq = setBilan(facB, text+" from b")
		facA.waitSeq(seq)
	}
	sameView(t, "the clients of the two instances", facA.normalized(), facB.normalized())
}

// TestNoticeDuringLoadIsNotLost: an instance loads a meeting another one
// created (on its notice); an op appended after the load has read the log
// but before its room is up has its notice arrive during the load. That
// notice must not be lost: the room catches up once loaded, with no later
// op to reveal the gap and no periodic resync to repair it.
func TestNoticeDuringLoadIsNotLost(t *testing.T) {
	url, _ := testredis.Start(t)
	a, b, bLog := twoInstances(t, url, hub.Options{ResyncInterval: time.Hour})
	hold := bLog.holdNextRead()
	m := a.createMeeting() // its notice makes b load it: the load's read is held
	select {
	case <-hold.read:
	case <-time.After(10 * time.Second):
		t.Fatal("instance b did not load the meeting on its creation's notice")
	}
	facA := dial(t, a, map[string]any{"meeting": m.ID, "token": m.FacSecret, "lastSeq": uint64(0)}, nil)
	seq := setBilan(facA, "during the load")
	waitCount(t, "the seq b heard of", bLog.heardUpTo, int(seq))
	close(hold.release)
	facB := dial(t, b, map[string]any{"meeting": m.ID, "token": m.FacSecret, "lastSeq": uint64(0)}, nil)
	facB.waitSeq(seq)
	if got := bilanOf(facB); got != "during the load" {
		t.Fatalf("instance b's client has bilan %q", got)
	}
}

// TestLastLostNoticeIsRepaired: when the lost notice is the meeting's last
// one (nothing follows to reveal the gap), the instance still catches up,
// within ResyncInterval.
func TestLastLostNoticeIsRepaired(t *testing.T) {
	url, _ := testredis.Start(t)
	a, b, bLog := twoInstances(t, url, hub.Options{ResyncInterval: 300 * time.Millisecond})
	m := a.createMeeting()
	facA := dial(t, a, map[string]any{"meeting": m.ID, "token": m.FacSecret, "lastSeq": uint64(0)}, nil)
	facB := dial(t, b, map[string]any{"meeting": m.ID, "token": m.FacSecret, "lastSeq": uint64(0)}, nil)
	facB.waitSeq(setBilan(facA, "zero"))
	before := bLog.dropNext(1)
	s1 := setBilan(facA, "the last word")
	waitCount(t, "notices dropped", bLog.droppedCount, before+1)
	facB.waitSeq(s1)
	if got := bilanOf(facB); got != "the last word" {
		t.Fatalf("instance b's client has bilan %q", got)
	}
}
