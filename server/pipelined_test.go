package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/boucle/designation/hub"
	"github.com/boucle/designation/store"
)

// TestPipelinedOpsKeepTheirPayloads: a client may send its next ops before
// the first is answered (up to 32 in flight). The server reads each message
// into a buffer it reuses for the next one, so an op that kept a piece of
// its message would see it overwritten by the ops behind it. Thirty ops of
// different lengths sent back to back are each logged and applied with the
// payload sent.
func TestPipelinedOpsKeepTheirPayloads(t *testing.T) {
	app := newTestApp(t, hub.Options{})
	m := app.createMeeting()
	ctx := context.Background()
	hello := map[string]any{"meeting": m.ID, "token": m.FacSecret, "lastSeq": uint64(0)}
	fac := dial(t, app, hello, nil)
	fac.waitFor("snapshot", func() bool { return fac.lastSeq > 0 })
	before, err := app.log.Last(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}

	binomes := []string{"communication", "materiel", "caisse", "relations-exterieures", "luttes", "groupes-action"}
	want := map[string]string{} // op id → text
	var ids []string
	for i := range 30 {
		text := fmt.Sprintf("bilan %02d %s", i, strings.Repeat("abcdefghij", (i*7)%40))
		id := fac.op("bilan.set", map[string]any{"binome": binomes[i%len(binomes)], "text": text})
		want[id] = text
		ids = append(ids, id)
	}
	fac.waitFor("every ack", func() bool {
		for _, id := range ids {
			if code, ok := fac.refusals[id]; ok {
				t.Fatalf("op %s refused: %s", id, code)
			}
			if fac.acks[id] == 0 {
				return false
			}
		}
		return true
	})

	logged := 0
	err = app.log.Read(ctx, m.ID, before, func(r store.Record) error {
		var op struct {
			ID      string `json:"id"`
			Payload struct {
				Text string `json:"text"`
			} `json:"payload"`
		}
		if err := json.Unmarshal(r.Data, &op); err != nil {
			return fmt.Errorf("seq %d: %v", r.Seq, err)
		}
		if text, ok := want[op.ID]; !ok || op.Payload.Text != text {
			return fmt.Errorf("seq %d (op %s) logged text %.30q, sent %.30q", r.Seq, op.ID, op.Payload.Text, text)
		}
		logged++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if logged != len(ids) {
		t.Fatalf("%d ops logged, %d sent", logged, len(ids))
	}
	// The last text of each binome is the one shown.
	for i := len(ids) - len(binomes); i < len(ids); i++ {
		var text string
		fac.valueOf("bilans", binomes[i%len(binomes)], &text)
		if text != want[ids[i]] {
			t.Errorf("bilan %s is %.30q, want %.30q", binomes[i%len(binomes)], text, want[ids[i]])
		}
	}
}
