package meeting

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

// FuzzDecodeCheckApply feeds arbitrary bytes as an op (and as the payload of
// every op type) to a meeting at step V: decoding, checking and applying
// never panic, Check and Apply agree, and a refused op changes nothing but
// Seq. The seed corpus runs in every normal go test.
func FuzzDecodeCheckApply(f *testing.F) {
	base := basic(f)
	snap := base.s.Encode()
	seeds := [][]byte{
		[]byte(`{"id":"f1","type":"shortlist.add","actor":{"role":"participant","memberId":"a1"},"payload":{"groupId":"g1","binome":"caisse","profileId":"pa1"}}`),
		[]byte(`{"id":"f1","type":"quality.add","actor":{"role":"participant","memberId":"a1"},"payload":{"groupId":"g1","binome":"caisse","quality":{"text":"écoute"}}}`),
		[]byte(`{"id":"f1","type":"group.move","actor":{"role":"facilitator"},"payload":{"memberId":"a3","groupId":"g1"}}`),
		[]byte(`{"id":"f1","type":"members.import","actor":{"role":"facilitator"},"payload":{"members":[{"name":"X","email":"x@y.fr"}]}}`),
		[]byte(`{"id":"f1","type":"decision.set","actor":{"role":"facilitator"},"payload":{"decision":{"binome":"caisse","outcome":"designated","pair":["pa1","pb1"]}}}`),
		[]byte(`{"id":"f1","type":"check.answer","actor":{"role":"participant","memberId":"b2"},"payload":{"checkId":"c1","kind":"objection"}}`),
		[]byte(`{"id":"f1","type":"step.set","actor":{"role":"facilitator"},"payload":{"step":"VI","timerEnd":"2026-06-27T19:00:00Z"}}`),
		[]byte(`{"id":"f1","type":"meeting.purge","actor":{"role":"system"},"payload":null}`),
		[]byte(`{"id":"f1","type":"template.load","actor":{"role":"facilitator"},"payload":{"template":{"id":"x","binomes":[]}}}`),
		[]byte(`{"id":"f1","type":"profile.add","actor":{"role":"facilitator"},"payload":{"profile":{"memberId":"b2","binomes":["caisse","caisse"]}}}`),
		[]byte(`{"id":"f1","type":"groups.split","actor":{"role":"projector"},"payload":{}}`),
		[]byte(`{"id":"f1","type":"shortlist.add","at":"2026-06-27T18:00:00Z","payload":{"groupId":"g1\u0000"}}`),
		[]byte("{\"id\":\"f1\",\"type\":\"bilan.set\",\"actor\":{\"role\":\"facilitator\"},\"payload\":{\"binome\":\"caisse\",\"text\":\"\xff\"}}"),
		[]byte(`{"id":"f1","type":"x"} trailing`),
		[]byte(`[]`),
		[]byte(``),
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Decode(snap)
		if err != nil {
			t.Fatal(err)
		}
		ops := []*Op{}
		if op, err := DecodeOp(data); err == nil {
			ops = append(ops, op)
		} else {
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeInvalid {
				t.Fatalf("DecodeOp error %v is not an invalid *Error", err)
			}
		}
		// The same bytes as the payload of a few op types, by a facilitator
		// and by a group member.
		if json.Valid(data) {
			for _, typ := range []string{OpShortlistAdd, OpMembersImport, OpDecisionSet, OpProfileAdd} {
				for _, a := range []Actor{fac, part("a1")} {
					ops = append(ops, &Op{ID: "fz", Type: typ, Actor: a, Payload: data})
				}
			}
		}
		for i, op := range ops {
			op.Seq = uint64(100 + i)
			before := s.Encode()
			checkErr := Check(s, op)
			if !bytes.Equal(before, s.Encode()) {
				t.Fatalf("Check changed the state (%s)", op.Type)
			}
			_, applyErr := Apply(s, op)
			if (checkErr == nil) != (applyErr == nil) {
				t.Fatalf("%s: Check %v, Apply %v", op.Type, checkErr, applyErr)
			}
			if applyErr != nil {
				var e *Error
				if !errors.As(applyErr, &e) || e.MessageFor("fr") == "" {
					t.Fatalf("refusal %v is not a *Error with a message", applyErr)
				}
				prev, _ := Decode(before)
				prev.Seq = op.Seq
				if !bytes.Equal(prev.Encode(), s.Encode()) {
					t.Fatalf("refused %s changed the state", op.Type)
				}
			}
		}
		// Every view still encodes.
		if _, err := json.Marshal(s.View(Redacted)); err != nil {
			t.Fatal(err)
		}
	})
}
