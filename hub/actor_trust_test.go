package hub

import (
	"context"
	"path/filepath"
	"testing"
)

// TestPanicInsideTheActorSparesOtherMeetings: a panic in any step the
// meeting's actor runs (here a call, as a bug in a view or in presence
// would) does not take the process down: the meeting is rebuilt from its
// log and keeps taking ops, and the other meetings never notice.
func TestPanicInsideTheActorSparesOtherMeetings(t *testing.T) {
	log := openLog(t, filepath.Join(t.TempDir(), "d.db"))
	defer log.Close()
	h := newHub(t, log, Options{})
	defer h.Close()
	r1 := createMeeting(t, h, "m1", "AAAAAA")
	r2 := createMeeting(t, h, "m2", "BBBBBB")
	ctx := context.Background()
	if res, err := r1.Submit(ctx, bilanOp(1)); err != nil || res.Err != nil {
		t.Fatalf("before: %v %+v", err, res)
	}
	_ = r1.call(ctx, func() { panic("bug in a view") })
	if res, err := r2.Submit(ctx, bilanOp(2)); err != nil || res.Err != nil {
		t.Fatalf("the other meeting: %v %+v", err, res)
	}
	if res, err := r1.Submit(ctx, bilanOp(3)); err != nil || res.Err != nil {
		t.Fatalf("the meeting after the panic: %v %+v", err, res)
	}
	if got := bilanOf(t, r1); got != "bilan 3" {
		t.Fatalf("bilan %q after the panic", got)
	}
}
