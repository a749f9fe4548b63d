package hub

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/boucle/designation/meeting"
)

// FuzzClientFrame feeds arbitrary bytes as a client's WebSocket frame, the
// way Serve handles one after hello: parseOp never panics and refuses
// invalid UTF-8 as fatal; a refusal carries a code; an op that gets through
// is refused when the projector sends it, and when the facilitator sends it
// it is either applied (the log grows by exactly one) or refused with the
// meeting and its log left exactly as they were.
func FuzzClientFrame(f *testing.F) {
	log := openLog(f, filepath.Join(f.TempDir(), "fuzz.db"))
	f.Cleanup(func() { log.Close() })
	h := newHub(f, log, Options{})
	f.Cleanup(h.Close)
	room := createMeeting(f, h, "fuzz", "FZFZFZ")
	ctx := context.Background()

	id := "00000000-0000-4000-8000-000000000001"
	for _, s := range []string{
		`{"type":"op","id":"` + id + `","op":"bilan.set","payload":{"binome":"communication","text":"un bilan"}}`,
		`{"type":"op","id":"` + id + `","op":"step.set","payload":{"step":"IV","timerEnd":"2026-06-27T19:00:00Z"}}`,
		`{"type":"op","id":"` + id + `","op":"member.add","payload":{"member":{"name":"Élodie","email":"e@x.fr","phone":"0612345678"}}}`,
		`{"type":"op","id":"` + id + `","op":"meeting.update","payload":{"info":{"title":"a\u0000b"}}}`,
		`{"type":"op","id":"` + id + `","op":"token.issue","payload":{"hash":"` + TokenHash("x") + `","role":"facilitator"}}`,
		`{"type":"op","id":"` + id + `","op":"timer.set","payload":null}`,
		`{"type":"op","id":"` + id + `","op":"nope","payload":{}}`,
		`{"type":"op","id":"x","op":"step.set","payload":[]}`,
		`{"type":"op","id":"` + id + `","op":"step.set","payload":{},"actor":{"role":"system"}}`,
		`{"type":"hello","meeting":"fuzz","token":"t","lastSeq":-1}`,
		"{\"type\":\"op\",\"id\":\"" + id + "\",\"op\":\"bilan.set\",\"payload\":{\"text\":\"\xff\"}}",
		`{"type":"op"} {}`,
		``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		q, refusal, fatal := h.parseOp(data)
		if !utf8.Valid(data) && fatal == "" {
			t.Fatal("invalid UTF-8 was not refused as fatal")
		}
		if fatal != "" {
			return
		}
		if refusal != nil {
			if refusal.Code == "" || q == nil || q.op.ID == "" {
				t.Fatalf("refusal %+v without a code or an op id to answer", refusal)
			}
			return
		}
		for _, actor := range []meeting.Actor{{Role: meeting.RoleProjector}, facilitator} {
			before, seq := encoded(t, room)
			op := &meeting.Op{ID: uuid.NewString(), Type: q.op.Type, Actor: actor, Payload: bytes.Clone(q.op.Payload)}
			res, err := room.Submit(ctx, op)
			if err != nil {
				t.Fatal(err)
			}
			after, seqAfter := encoded(t, room)
			last, err := log.Last(ctx, "fuzz")
			if err != nil {
				t.Fatal(err)
			}
			if res.Err != nil {
				if res.Err.Code == "" || res.Err.Code == CodeUnavailable {
					t.Fatalf("%s refused with %q", op.Type, res.Err.Code)
				}
				if !bytes.Equal(before, after) || last != seq {
					t.Fatalf("refused %s (%s) changed the meeting or its log", op.Type, res.Err.Code)
				}
				continue
			}
			if actor.Role == meeting.RoleProjector {
				t.Fatalf("the projector's %s was applied", op.Type)
			}
			if res.Seq != seq+1 || seqAfter != seq+1 || last != seq+1 {
				t.Fatalf("applied %s: seq %d, state %d, log %d after %d", op.Type, res.Seq, seqAfter, last, seq)
			}
		}
	})
}

// encoded is the meeting's whole state and its seq, read in its actor.
func encoded(t *testing.T, room *Room) ([]byte, uint64) {
	t.Helper()
	var b []byte
	var seq uint64
	if err := room.Read(context.Background(), func(s *meeting.State) { b, seq = s.Encode(), s.Seq }); err != nil {
		t.Fatal(err)
	}
	return b, seq
}
