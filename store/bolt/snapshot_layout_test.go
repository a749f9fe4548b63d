package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"testing"

	"go.etcd.io/bbolt"

	"github.com/boucle/designation/store"
)

// TestSnapshotOfAnEarlierFileLayout: a file written before snapshots had a
// bucket of their own (the snapshot under "snap" in the meeting's bucket)
// still gives its snapshot and trims behind it; the next snapshot moves
// to the new place and the old value goes.
func TestSnapshotOfAnEarlierFileLayout(t *testing.T) {
	ctx := context.Background()
	path, _ := fileWithOps(t, "a", "b", "c", "d")

	// The earlier layout, written as the earlier code did.
	old := binary.BigEndian.AppendUint64(nil, 2)
	old = append(old, []byte("state at 2")...)
	rewrite(t, path, func(tx *bbolt.Tx) error {
		return tx.Bucket(rootBucket).Bucket([]byte("m")).Put(snapKey, old)
	})

	l, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	seq, data, ok, err := l.Snapshot(ctx, "m")
	if err != nil || !ok || seq != 2 || string(data) != "state at 2" {
		t.Fatalf("earlier snapshot: %d %q %v %v", seq, data, ok, err)
	}
	if err := l.Trim(ctx, "m"); err != nil {
		t.Fatal(err)
	}
	if err := l.Read(ctx, "m", 0, func(store.Record) error { return nil }); !errors.Is(err, store.ErrTrimmed) {
		t.Fatalf("read from 0 after trimming behind the earlier snapshot: %v", err)
	}
	if err := l.SaveSnapshot(ctx, "m", 1, []byte("older")); err != nil {
		t.Fatal(err)
	}
	if seq, data, _, _ := l.Snapshot(ctx, "m"); seq != 2 || string(data) != "state at 2" {
		t.Fatalf("an older snapshot replaced the earlier one: %d %q", seq, data)
	}
	if err := l.SaveSnapshot(ctx, "m", 4, []byte("state at 4")); err != nil {
		t.Fatal(err)
	}
	if seq, data, _, _ := l.Snapshot(ctx, "m"); seq != 4 || string(data) != "state at 4" {
		t.Fatalf("new snapshot: %d %q", seq, data)
	}
	if err := l.db.View(func(tx *bbolt.Tx) error {
		mb := tx.Bucket(rootBucket).Bucket([]byte("m"))
		if v := mb.Get(snapKey); v != nil {
			t.Errorf("the earlier snapshot is still in the meeting's bucket: %q", v)
		}
		if sb := mb.Bucket(snapBucket); sb == nil || !bytes.HasSuffix(sb.Get(snapKey), []byte("state at 4")) {
			t.Error("the snapshot is not in its own bucket")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
