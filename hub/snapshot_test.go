package hub

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/boucle/designation/store"
)

// slowSnapshots is a log whose snapshot saves each wait for the test to
// let them go (a store busy with a hundred meetings' commits).
type slowSnapshots struct {
	store.Log
	saving  chan uint64   // the seq of a save that started
	release chan struct{} // one receive per save let through
}

func (l *slowSnapshots) SaveSnapshot(ctx context.Context, m string, seq uint64, data []byte) error {
	l.saving <- seq
	select {
	case <-l.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	return l.Log.SaveSnapshot(ctx, m, seq, data)
}

// TestEditsDoNotWaitForASnapshot: while a meeting's snapshot is being
// saved, its ops are still acked (the save is not on the actor's path) and
// no second save starts; once it is done, the next one starts for the ops
// that went by; a shutdown cuts the save in flight short and saves the
// last state instead.
func TestEditsDoNotWaitForASnapshot(t *testing.T) {
	base := openLog(t, filepath.Join(t.TempDir(), "s.db"))
	defer base.Close()
	log := &slowSnapshots{Log: base, saving: make(chan uint64, 16), release: make(chan struct{})}
	h := newHub(t, log, Options{SnapshotEvery: 3})
	room := createMeeting(t, h, "m1", "SNAPAA")
	ctx := context.Background()
	submit := func(i int) uint64 {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		res, err := room.Submit(sctx, bilanOp(i))
		if err != nil || res.Err != nil {
			t.Fatalf("op %d while a snapshot is being saved: %v %v", i, err, res.Err)
		}
		return res.Seq
	}
	nextSave := func() uint64 {
		t.Helper()
		select {
		case seq := <-log.saving:
			return seq
		case <-time.After(5 * time.Second):
			t.Fatal("no snapshot save started")
		}
		return 0
	}
	submit(1)
	submit(2) // seq 3: the first snapshot starts, and hangs
	first := nextSave()
	var last uint64
	for i := 3; i < 9; i++ {
		last = submit(i)
	}
	select {
	case seq := <-log.saving:
		t.Fatalf("a second snapshot (seq %d) started while the first (seq %d) was being saved", seq, first)
	default:
	}
	log.release <- struct{}{}
	if next := nextSave(); next != last {
		t.Fatalf("after the save at seq %d, the next one is at seq %d, want %d", first, next, last)
	}
	for i := 9; i < 12; i++ {
		last = submit(i)
	}
	closed := make(chan struct{})
	go func() { h.Close(); close(closed) }()
	if final := nextSave(); final != last {
		t.Fatalf("the snapshot saved at shutdown is at seq %d, want %d", final, last)
	}
	log.release <- struct{}{}
	<-closed
	seq, _, ok, err := base.Snapshot(ctx, "m1")
	if err != nil || !ok || seq != last {
		t.Fatalf("after the shutdown the snapshot is at seq %d (%v %v), want %d", seq, ok, err, last)
	}
}
