package hub

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/google/uuid"

	"github.com/boucle/designation/meeting"
	"github.com/boucle/designation/store"
	"github.com/boucle/designation/store/bolt"
)

// TestResentOpTrimmedBeforeARestartIsAcked: a client that did not see the
// ack of its op sends it again after the server restarted, and the op is
// by then behind a snapshot and trimmed from the log by the hub's routine
// trim (so the replay never read its id). The op is acked as a duplicate with its original seq, and
// nothing changes; a new op that fails the same check is still refused.
func TestResentOpTrimmedBeforeARestartIsAcked(t *testing.T) {
	log, err := bolt.Open(filepath.Join(t.TempDir(), "d.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	ctx := context.Background()
	opts := Options{SnapshotEvery: 2}
	h := newHub(t, log, opts)
	room := createMeeting(t, h, "m1", "ABCDEF")
	submit := func(room *Room, op *meeting.Op) Result {
		t.Helper()
		res, err := room.Submit(ctx, op)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	memberOp := func(typ string, p any) *meeting.Op {
		return &meeting.Op{ID: uuid.NewString(), Type: typ, Actor: facilitator, Payload: payload(p)}
	}
	add := memberOp(meeting.OpMemberAdd, meeting.MemberAdd{Member: meeting.Member{ID: "m-a", Name: "Inès Garcia"}})
	addB := memberOp(meeting.OpMemberAdd, meeting.MemberAdd{Member: meeting.Member{ID: "m-b", Name: "Paul Martin"}})
	remove := memberOp(meeting.OpMemberRemove, meeting.MemberRef{MemberID: "m-a"})
	sent := map[string]uint64{}
	for _, op := range []*meeting.Op{add, addB, remove, bilanOp(1), bilanOp(2)} {
		res := submit(room, op)
		if res.Err != nil || res.Dup {
			t.Fatalf("%s: %+v", op.Type, res)
		}
		sent[op.ID] = res.Seq
	}
	h.Close()
	snapSeq, _, ok, err := log.Snapshot(ctx, "m1")
	if err != nil || !ok || snapSeq < sent[remove.ID] {
		t.Fatalf("snapshot at %d (%v %v), want one covering seq %d", snapSeq, ok, err, sent[remove.ID])
	}
	// The hub trimmed the log at its snapshots (bolt implements
	// store.IDLookup, so routine trims are safe).
	if err := log.Read(ctx, "m1", 0, func(store.Record) error { return nil }); !errors.Is(err, store.ErrTrimmed) {
		t.Fatalf("Read from 0 after the trim = %v, want ErrTrimmed", err)
	}
	last, err := log.Last(ctx, "m1")
	if err != nil {
		t.Fatal(err)
	}

	// Restart: a new hub on the same file rebuilds from the snapshot.
	h = newHub(t, log, opts)
	defer h.Close()
	room, ok = h.Room("m1")
	if !ok {
		t.Fatal("meeting not loaded after the restart")
	}
	state := func() (members int, bilan string) {
		t.Helper()
		if err := room.Read(ctx, func(s *meeting.State) {
			members, bilan = len(s.Members), s.Bilans["communication"]
		}); err != nil {
			t.Fatal(err)
		}
		return
	}
	members, bilan := state()
	for _, op := range []*meeting.Op{remove, add} { // not_found, conflict if checked again
		resent := *op
		res := submit(room, &resent)
		if res.Err != nil || !res.Dup || res.Seq != sent[op.ID] {
			t.Fatalf("re-sent %s = %+v, want a duplicate acked at seq %d", op.Type, res, sent[op.ID])
		}
	}
	if m, b := state(); m != members || b != bilan {
		t.Fatalf("state changed by the re-sent ops: %d members, bilan %q; was %d, %q", m, b, members, bilan)
	}
	if got, err := log.Last(ctx, "m1"); err != nil || got != last {
		t.Fatalf("Last = %d (%v), want %d: a re-sent op was appended", got, err, last)
	}
	// A new op that fails the same check is still refused.
	again := memberOp(meeting.OpMemberRemove, meeting.MemberRef{MemberID: "m-a"})
	if res := submit(room, again); res.Err == nil || res.Dup {
		t.Fatalf("new remove of a removed member = %+v, want refused", res)
	}
}
