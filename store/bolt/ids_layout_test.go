package bolt

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.etcd.io/bbolt"

	"github.com/boucle/designation/store"
)

// idsInBucket is the ids bucket of meeting m: id -> seq.
func idsInBucket(t *testing.T, l *Log, m string) map[string]uint64 {
	t.Helper()
	got := map[string]uint64{}
	if err := l.view(func(tx *bbolt.Tx) error {
		ids := meetingBucket(tx, m).Bucket(idsBucket)
		if ids == nil {
			return nil
		}
		return ids.ForEach(func(k, v []byte) error {
			got[string(k)] = readSeq(v)
			return nil
		})
	}); err != nil {
		t.Fatal(err)
	}
	return got
}

// fileWithOps is a log file in a fresh directory holding, in meeting "m",
// one op per id, in order (seqs 1, 2, …); the file is closed.
func fileWithOps(t *testing.T, ids ...string) (path string, es []store.Entry) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "log.db")
	l, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, id := range ids {
		es = append(es, store.Entry{ID: id, Data: []byte(`{"op":"` + id + `"}`)})
	}
	if _, err := l.Append(context.Background(), "m", es); err != nil {
		t.Fatal(err)
	}
	return path, es
}

// checkDup appends id again and wants it acknowledged as the op at seq.
func checkDup(t *testing.T, l *Log, m, id string, seq uint64) {
	t.Helper()
	got, err := l.Append(context.Background(), m, []store.Entry{{ID: id, Data: []byte(`{"again":true}`)}})
	if err != nil {
		t.Fatal(err)
	}
	if got[0] != (store.Appended{Seq: seq, Dup: true}) {
		t.Fatalf("%s sent again = %+v, want a duplicate of seq %d", id, got[0], seq)
	}
	if found, ok, err := l.Lookup(context.Background(), m, id); err != nil || !ok || found != seq {
		t.Fatalf("Lookup(%s) = %d, %v, %v; want %d", id, found, ok, err, seq)
	}
}

// checkDups checks each of es, the ops of fileWithOps, with checkDup.
func checkDups(t *testing.T, l *Log, es []store.Entry) {
	t.Helper()
	for i, e := range es {
		checkDup(t, l, "m", e.ID, uint64(i+1))
	}
}

// rewrite changes the closed log file at path with fn, in one bbolt
// transaction: a layout written by earlier code.
func rewrite(t *testing.T, path string, fn func(tx *bbolt.Tx) error) {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
}

// snapshotAndTrim saves a snapshot of meeting "m" at seq and trims the log
// behind it, as the hub does.
func snapshotAndTrim(t *testing.T, l *Log, seq uint64, state string) {
	t.Helper()
	ctx := context.Background()
	if err := l.SaveSnapshot(ctx, "m", seq, []byte(state)); err != nil {
		t.Fatal(err)
	}
	if err := l.Trim(ctx, "m"); err != nil {
		t.Fatal(err)
	}
}

// TestAppendWritesOnlyTheLog: an append writes its ops and not the id
// index (a random leaf per op); a trim moves the ids of the ops it deletes
// into the ids bucket. A re-sent op is a duplicate wherever its id is,
// in this process, after a reopen, and once its meeting's index was
// dropped as idle.
func TestAppendWritesOnlyTheLog(t *testing.T) {
	ctx := context.Background()
	path, es := fileWithOps(t, "a", "b", "c", "d")
	l, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { l.Close() }()
	if got := idsInBucket(t, l, "m"); len(got) != 0 {
		t.Fatalf("ids bucket after appends = %v, want nothing", got)
	}
	checkDup(t, l, "m", "b", 2)

	snapshotAndTrim(t, l, 2, "state at 2")
	if got := idsInBucket(t, l, "m"); len(got) != 2 || got["a"] != 1 || got["b"] != 2 {
		t.Fatalf("ids bucket after trimming 1..2 = %v, want a:1 b:2", got)
	}
	if ix := l.opIDs["m"]; len(ix.seqs) != 2 || ix.seqs["c"] != 3 || ix.seqs["d"] != 4 {
		t.Fatalf("ids in memory after the trim = %v, want c:3 d:4", ix.seqs)
	}
	checkDups(t, l, es)

	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if l, err = Open(path, Options{}); err != nil {
		t.Fatal(err)
	}
	checkDups(t, l, es)

	// An index unused for opIDsIdle goes at the next sweep, and comes back.
	l.mu.Lock()
	l.opIDs["m"].used = time.Now().Add(-opIDsIdle - time.Second)
	l.swept = time.Now().Add(-2 * time.Minute)
	l.sweepOpIDs()
	_, kept := l.opIDs["m"]
	l.mu.Unlock()
	if kept {
		t.Fatal("an idle meeting's ids stayed in memory")
	}
	checkDup(t, l, "m", "d", 4)
	got, err := l.Append(ctx, "m", []store.Entry{{ID: "e", Data: []byte(`{}`)}})
	if err != nil || got[0] != (store.Appended{Seq: 5}) {
		t.Fatalf("a new op after all that = %+v, %v; want seq 5", got, err)
	}
}

// TestIDsOfAnEarlierFileLayout: files written before kept every op's id in
// the ids bucket, trimmed or not. Their ids are still found, and a trim
// of ops whose ids are already there changes nothing of them.
func TestIDsOfAnEarlierFileLayout(t *testing.T) {
	path, es := fileWithOps(t, "a", "b", "c", "d")

	// The earlier layout, as the earlier code left it after a trim behind
	// a snapshot at 2: every id in the ids bucket, ops 3 and 4 in the log.
	rewrite(t, path, func(tx *bbolt.Tx) error {
		mb := tx.Bucket(rootBucket).Bucket([]byte("m"))
		ids, err := mb.CreateBucketIfNotExists(idsBucket)
		if err != nil {
			return err
		}
		for i, e := range es {
			if err := ids.Put([]byte(e.ID), seqKey(uint64(i+1))); err != nil {
				return err
			}
		}
		for seq := uint64(1); seq <= 2; seq++ {
			if err := mb.Bucket(opsBucket).Delete(seqKey(seq)); err != nil {
				return err
			}
		}
		sb, err := mb.CreateBucketIfNotExists(snapBucket)
		if err != nil {
			return err
		}
		if err := sb.Put(snapKey, append(seqKey(2), "state at 2"...)); err != nil {
			return err
		}
		return mb.Put(trimKey, seqKey(2))
	})

	l, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	checkDups(t, l, es)
	snapshotAndTrim(t, l, 4, "state at 4")
	if got := idsInBucket(t, l, "m"); len(got) != 4 || got["a"] != 1 || got["d"] != 4 {
		t.Fatalf("ids bucket after the trim = %v, want a:1 … d:4", got)
	}
	checkDups(t, l, es)
}

// BenchmarkTrim trims 500 ops (a snapshot's worth, as the hub does) from
// meetings of up to 4,000 ops (a new meeting every 8 trims, so the figure
// does not grow with b.N), with op ids as browsers make them (UUIDv4): the
// trim writes their ids into the meeting's id index, a tree of random keys
// where 500 ids land on nearly as many leaves once it is large.
func BenchmarkTrim(b *testing.B) {
	l := openTemp(b, Options{})
	ctx := context.Background()
	i := 0
	for b.Loop() {
		b.StopTimer()
		m := fmt.Sprintf("m-%d", i/8)
		i++
		es := make([]store.Entry, 500)
		for j := range es {
			es[j] = store.Entry{ID: uuid.NewString(), Data: []byte(`{"type":"quality.add","payload":{"text":"quelque chose"}}`)}
		}
		got, err := l.Append(ctx, m, es)
		if err != nil {
			b.Fatal(err)
		}
		if err := l.SaveSnapshot(ctx, m, got[len(got)-1].Seq, []byte("state")); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := l.Trim(ctx, m); err != nil {
			b.Fatal(err)
		}
	}
}
