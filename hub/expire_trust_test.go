package hub

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/boucle/designation/meeting"
)

// TestExpireDeletesMeetingsPastRetention: Expire deletes, log and all, the
// meetings whose date (or creation, without a date) is more than the
// retention period ago, and only those; their join codes are freed.
func TestExpireDeletesMeetingsPastRetention(t *testing.T) {
	log := openLog(t, filepath.Join(t.TempDir(), "d.db"))
	defer log.Close()
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	created := now.AddDate(0, 0, -40)
	h := newHub(t, log, Options{Now: func() time.Time { return created }})
	defer h.Close()
	ctx := context.Background()
	create := func(id, code, date string) {
		op := &meeting.Op{ID: uuid.NewString(), Type: meeting.OpMeetingCreate, Actor: meeting.Actor{Role: meeting.RoleSystem},
			Payload: payload(meeting.MeetingCreate{Info: meeting.Info{Title: "T", Date: date, Lang: "fr"}, JoinCode: code,
				FacilitatorToken: TokenHash("f" + id), ProjectorToken: TokenHash("s" + id)})}
		if _, res, err := h.Create(ctx, id, op); err != nil || res.Err != nil {
			t.Fatalf("create %s: %v %v", id, err, res.Err)
		}
	}
	create("old", "AAAAAA", "2026-10-01")    // 54 days ago
	create("recent", "BBBBBB", "2026-11-01") // 23 days ago
	create("undated", "CCCCCC", "")          // created 40 days ago
	create("future", "DDDDDD", "2027-01-15")

	n, err := h.Expire(ctx, now, 30*24*time.Hour)
	if err != nil || n != 2 {
		t.Fatalf("expired %d (%v), want 2", n, err)
	}
	ids, err := log.Meetings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids, []string{"future", "recent"}) {
		t.Fatalf("meetings left in the log: %v", ids)
	}
	for _, id := range []string{"old", "undated"} {
		if _, ok := h.Room(id); ok {
			t.Fatalf("%s still loaded", id)
		}
	}
	if h.CodeTaken("AAAAAA") || !h.CodeTaken("BBBBBB") {
		t.Fatal("join codes not freed, or freed for a kept meeting")
	}
	if n, err := h.Expire(ctx, now, 0); n != 0 || err != nil {
		t.Fatalf("retention 0 expired %d (%v)", n, err)
	}
}
