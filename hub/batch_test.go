package hub

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/boucle/designation/meeting"
	"github.com/boucle/designation/store"
)

// gatedLog holds every Append until the test opens the gate, so that ops
// sent meanwhile queue up and reach the actor as one batch.
type gatedLog struct {
	store.Log
	entered chan struct{} // an Append is waiting at the gate
	gate    chan struct{} // closed: appends go through
}

func (l *gatedLog) Append(ctx context.Context, m string, entries []store.Entry) ([]store.Appended, error) {
	select {
	case <-l.gate:
	default:
		l.entered <- struct{}{}
		select {
		case <-l.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return l.Log.Append(ctx, m, entries)
}

// TestOpRestingOnAnEarlierOpOfTheSameBatch: a member added and then updated
// by the same facilitator, both queued while the store is busy, reach the
// actor in one batch. The update rests on the add: both must be acked, in
// order (an update checked against the state before the batch would be
// refused "not_found").
func TestOpRestingOnAnEarlierOpOfTheSameBatch(t *testing.T) {
	base := openLog(t, filepath.Join(t.TempDir(), "b.db"))
	defer base.Close()
	log := &gatedLog{Log: base, entered: make(chan struct{}, 1), gate: make(chan struct{})}
	close(log.gate)
	h := newHub(t, log, Options{})
	defer h.Close()
	room := createMeeting(t, h, "m1", "BCDFGH")
	log.gate = make(chan struct{}) // the hub is idle: closing the gate again is safe

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	first := make(chan Result, 1)
	go func() {
		res, err := room.Submit(ctx, bilanOp(1))
		if err != nil {
			t.Error(err)
		}
		first <- res
	}()
	select { // the actor is now inside Append with the bilan
	case <-log.entered:
	case <-ctx.Done():
		t.Fatal("the first append never reached the store")
	}

	member := meeting.Member{ID: "m-x", Name: "Inès Garcia"}
	add := &request{op: &meeting.Op{ID: uuid.NewString(), Type: meeting.OpMemberAdd, Actor: facilitator,
		Payload: payload(meeting.MemberAdd{Member: member})}, reply: make(chan Result, 1)}
	member.Name = "Inès Garcia-Lopez"
	update := &request{op: &meeting.Op{ID: uuid.NewString(), Type: meeting.OpMemberUpdate, Actor: facilitator,
		Payload: payload(meeting.MemberAdd{Member: member})}, reply: make(chan Result, 1)}
	for _, q := range []*request{add, update} { // queued in this order behind the bilan
		if err := room.enqueue(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	close(log.gate)

	if res := <-first; res.Err != nil {
		t.Fatalf("bilan refused: %v", res.Err)
	}
	var seqs []uint64
	for _, q := range []*request{add, update} {
		select {
		case res := <-q.reply:
			if res.Err != nil {
				t.Fatalf("%s refused: %v", q.op.Type, res.Err)
			}
			seqs = append(seqs, res.Seq)
		case <-ctx.Done():
			t.Fatalf("%s never answered", q.op.Type)
		}
	}
	if seqs[1] <= seqs[0] {
		t.Fatalf("update seq %d not after add seq %d", seqs[1], seqs[0])
	}
	var name string
	if err := room.Read(ctx, func(s *meeting.State) { name = s.Members["m-x"].Name }); err != nil {
		t.Fatal(err)
	}
	if name != "Inès Garcia-Lopez" {
		t.Fatalf("member name %q, want the updated one", name)
	}
}
