package bolt

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/boucle/designation/store"
)

// idsOnDisk lists the meeting's ids bucket: op id -> seq.
func idsOnDisk(t *testing.T, l *Log, meeting string) map[string]uint64 {
	t.Helper()
	out := map[string]uint64{}
	err := l.view(func(tx *bbolt.Tx) error {
		mb := meetingBucket(tx, meeting)
		if mb == nil || mb.Bucket(idsBucket) == nil {
			return nil
		}
		return mb.Bucket(idsBucket).ForEach(func(k, v []byte) error {
			out[string(k)] = readSeq(v)
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestIDsWrittenAtTrim: an append writes its ops' ids in the ops bucket
// only (not in the ids bucket, a B+tree of random keys where each op
// rewrote a random page); a trim moves the ids of the ops it deletes to the
// ids bucket, in the same transaction. A re-sent op is a duplicate at every
// stage: before the trim, after it, after a reopen, and once the
// committer's index of the meeting was dropped and read back.
func TestIDsWrittenAtTrim(t *testing.T) {
	t.Parallel()
	l := openTemp(t, Options{})
	ctx := context.Background()
	mustAppend := func(es ...string) []store.Appended {
		t.Helper()
		var entries []store.Entry
		for _, id := range es {
			entries = append(entries, store.Entry{ID: id, Data: []byte(`{"id":"` + id + `"}`)})
		}
		got, err := l.Append(ctx, "m", entries)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	mustAppend("a", "b", "c", "d")
	if got := idsOnDisk(t, l, "m"); len(got) != 0 {
		t.Fatalf("ids bucket after appends = %v, want empty (the ids are in the ops)", got)
	}
	if got, want := mustAppend("b", "e"), []store.Appended{{Seq: 2, Dup: true}, {Seq: 5}}; !slices.Equal(got, want) {
		t.Fatalf("re-sent b with e = %+v, want %+v", got, want)
	}

	if err := l.SaveSnapshot(ctx, "m", 3, []byte("state@3")); err != nil {
		t.Fatal(err)
	}
	if err := l.Trim(ctx, "m"); err != nil {
		t.Fatal(err)
	}
	want := map[string]uint64{"a": 1, "b": 2, "c": 3}
	if got := idsOnDisk(t, l, "m"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("ids bucket after a trim at 3 = %v, want %v", got, want)
	}
	if got, want := mustAppend("a", "d", "f"), []store.Appended{{Seq: 1, Dup: true}, {Seq: 4, Dup: true}, {Seq: 6}}; !slices.Equal(got, want) {
		t.Fatalf("re-sent a (trimmed) and d (not) with f = %+v, want %+v", got, want)
	}
	for id, seq := range map[string]uint64{"a": 1, "e": 5, "f": 6} {
		if got, ok, err := l.Lookup(ctx, "m", id); err != nil || !ok || got != seq {
			t.Fatalf("Lookup(%s) = %d %v %v, want %d", id, got, ok, err, seq)
		}
	}
	if _, ok, err := l.Lookup(ctx, "m", "never"); err != nil || ok {
		t.Fatalf("Lookup(never) = %v %v, want not found", ok, err)
	}

	// The committer's index, dropped (as when idle), is read back from
	// the ops; so it is after a reopen.
	l.mu.Lock()
	l.recent.drop("m")
	l.mu.Unlock()
	if got, want := mustAppend("e", "c", "g"), []store.Appended{{Seq: 5, Dup: true}, {Seq: 3, Dup: true}, {Seq: 7}}; !slices.Equal(got, want) {
		t.Fatalf("after the index was dropped = %+v, want %+v", got, want)
	}
	path := l.Path()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l2, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	l = l2
	if got, want := mustAppend("g", "b", "h"), []store.Appended{{Seq: 7, Dup: true}, {Seq: 2, Dup: true}, {Seq: 8}}; !slices.Equal(got, want) {
		t.Fatalf("after a reopen = %+v, want %+v", got, want)
	}
}

// TestFailedAttemptLeavesNoIDs: when one write of a shared transaction
// fails, the transaction is run again without it; what the failed attempt
// appended must not count as appended, or the retried append would be
// answered "duplicate" and never written.
func TestFailedAttemptLeavesNoIDs(t *testing.T) {
	t.Parallel()
	l := openTemp(t, Options{})
	ctx := context.Background()
	out := make([]store.Appended, 1)
	ok := &write{ctx: ctx, apply: l.appendTx("m", []store.Entry{{ID: "z", Data: []byte("z")}}, out), done: make(chan error, 1)}
	bad := &write{ctx: ctx, apply: func(*bbolt.Tx) error { return errors.New("refused") }, done: make(chan error, 1)}
	l.commit([]*write{ok, bad})
	if err := <-ok.done; err != nil {
		t.Fatalf("the good write: %v", err)
	}
	if err := <-bad.done; err == nil {
		t.Fatal("the failing write succeeded")
	}
	if out[0] != (store.Appended{Seq: 1}) {
		t.Fatalf("append in a retried transaction = %+v, want {Seq:1}", out[0])
	}
	var ids []string
	if err := l.Read(ctx, "m", 0, func(r store.Record) error { ids = append(ids, r.ID); return nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids, []string{"z"}) {
		t.Fatalf("log = %v, want [z]", ids)
	}
}

// TestIdleIndexesSwept: the committer forgets a meeting's index once it
// has gone recentIdle without an append, at the next sweep; a busy one
// stays.
func TestIdleIndexesSwept(t *testing.T) {
	var r recentIDs
	t0 := time.Now()
	for _, m := range []string{"idle", "busy"} {
		tx := &txIDs{meetings: map[string]*txMeeting{m: {loaded: map[string]uint64{}, added: map[string]uint64{"x": 1}}}}
		tx.commit(&r, t0)
	}
	for i := range recentSweepEvery {
		now := t0.Add(recentIdle + time.Duration(i+1)*time.Millisecond)
		tx := &txIDs{meetings: map[string]*txMeeting{"busy": {base: r.meetings["busy"].ids}}}
		tx.commit(&r, now)
	}
	if r.meetings["idle"] != nil {
		t.Fatal("an idle meeting's index was kept")
	}
	if rm := r.meetings["busy"]; rm == nil || rm.ids["x"] != 1 {
		t.Fatalf("a busy meeting's index = %+v, want kept with x", rm)
	}
}
