package hub

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/boucle/designation/meeting"
	"github.com/boucle/designation/store"
)

// TestColdStart: 100 meetings of 5,000 ops each, with snapshots as the hub
// saves them, are rebuilt in under 2 s (smaller and untimed under -race).
func TestColdStart(t *testing.T) {
	meetings, opsPer, every := 100, 5000, 500
	if raceEnabled || testing.Short() {
		meetings, opsPer = 10, 1000
	}
	path := filepath.Join(t.TempDir(), "d.db")
	log := openLog(t, path)
	ctx := context.Background()
	at := time.Date(2026, 6, 27, 18, 0, 0, 0, time.UTC)
	want := map[string]string{}
	for m := range meetings {
		id := fmt.Sprintf("meeting-%03d", m)
		st := meeting.New(id)
		entries := make([]store.Entry, 0, opsPer)
		for i := range opsPer {
			var op *meeting.Op
			if i == 0 {
				op = &meeting.Op{ID: fmt.Sprintf("create-%d", m), Type: meeting.OpMeetingCreate, Actor: meeting.Actor{Role: meeting.RoleSystem},
					Payload: payload(meeting.MeetingCreate{Info: meeting.Info{Title: id, Lang: "fr"}, JoinCode: joinCode(m),
						FacilitatorToken: TokenHash("f" + id), ProjectorToken: TokenHash("s" + id)})}
			} else {
				op = &meeting.Op{ID: fmt.Sprintf("op-%d-%d", m, i), Type: meeting.OpBilanSet, Actor: facilitator,
					Payload: payload(meeting.BilanSet{Binome: "communication", Text: fmt.Sprintf("bilan %d of %s", i, id)})}
			}
			op.At = at.Add(time.Duration(i) * time.Second)
			data, _ := json.Marshal(op)
			entries = append(entries, store.Entry{ID: op.ID, Data: data})
		}
		if _, err := log.Append(ctx, id, entries); err != nil {
			t.Fatal(err)
		}
		// The snapshot the live hub would have saved last.
		snapAt := (opsPer - 1) / every * every
		for i, e := range entries[:snapAt] {
			op, err := meeting.DecodeOp(e.Data)
			if err != nil {
				t.Fatal(err)
			}
			op.Seq = uint64(i + 1)
			if _, err := meeting.Apply(st, op); err != nil {
				t.Fatalf("op %d: %v", i, err)
			}
		}
		if err := log.SaveSnapshot(ctx, id, st.Seq, st.Encode()); err != nil {
			t.Fatal(err)
		}
		want[id] = fmt.Sprintf("bilan %d of %s", opsPer-1, id)
	}
	log.Close()

	log = openLog(t, path)
	defer log.Close()
	start := time.Now()
	h := newHub(t, log, Options{})
	took := time.Since(start)
	defer h.Close()
	t.Logf("%d meetings x %d ops rebuilt in %v", meetings, opsPer, took)
	if h.Meetings() != meetings {
		t.Fatalf("%d meetings loaded", h.Meetings())
	}
	for id, text := range want {
		room, _ := h.Room(id)
		if got := bilanOf(t, room); got != text {
			t.Fatalf("%s: bilan %q, want %q", id, got, text)
		}
	}
	if !raceEnabled && !testing.Short() && took > 2*time.Second {
		t.Fatalf("cold start took %v (budget 2 s)", took)
	}
}

func joinCode(n int) string {
	const letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
	b := []byte("AAAAAA")
	for i := 5; i >= 0 && n > 0; i-- {
		b[i] = letters[n%len(letters)]
		n /= len(letters)
	}
	return string(b)
}
