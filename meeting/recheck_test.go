package meeting

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// rechecked is the op types whose handler checks a stale kept payload
// again instead of decoding it (handleRechecked).
var rechecked = []string{OpQualityAdd, OpQualityEdit, OpQualityRemove, OpShortlistAdd, OpShortlistRemove, OpShortlistMode}

// TestRecheckedOpsApplyAsDecoded: random ops taken as a busy meeting takes
// them, in batches each checked whole before its first op is applied,
// give the same result op by op (changes, or refusal code and field) and
// the same state as the same ops decoded from the log one at a time, as a
// replay does. So a payload checked against an earlier state and checked
// again as it is (the list edits) is applied exactly as a fresh decode of
// the op would be, refusals included.
func TestRecheckedOpsApplyAsDecoded(t *testing.T) {
	seeds, perSeed := 4, 4000
	if testing.Short() || raceEnabled {
		seeds = 2
	}
	var rechecks, refusedOnRecheck int
	for seed := 1; seed <= seeds; seed++ {
		live := newMeeting(t)
		if seed%2 == 0 {
			live = workedExample(t)
		}
		// The reference starts from the same log, decoded.
		ref := replay(t, live.log)
		g := &opGen{r: rand.New(rand.NewPCG(uint64(seed), 77)), s: live.s}
		for n := 0; n < perSeed; {
			batch := make([]*Op, 1+g.r.IntN(8))
			for i := range batch {
				batch[i] = g.next(live)
			}
			n += len(batch)
			passed := make([]bool, len(batch))
			for i, op := range batch {
				passed[i] = Check(live.s, op) == nil
			}
			for i, op := range batch {
				enc, err := json.Marshal(op)
				if err != nil {
					continue // a deliberately malformed payload: never logged
				}
				logged, err := DecodeOp(enc)
				if err != nil {
					t.Fatal(err)
				}
				gotCh, gotErr := Apply(live.s, op)
				wantCh, wantErr := Apply(ref, logged)
				if what := sameOutcome(gotCh, gotErr, wantCh, wantErr); what != "" {
					t.Fatalf("seed %d, %s (op %d of a batch of %d, checked %v): %s", seed, op.Type, i+1, len(batch), passed[i], what)
				}
				if i > 0 && passed[i] && slices.Contains(rechecked, op.Type) {
					rechecks++
					if gotErr != nil {
						refusedOnRecheck++
					}
				}
			}
		}
		if !bytes.Equal(live.s.Encode(), ref.Encode()) {
			t.Fatalf("seed %d: the state of batched ops differs from the decoded log's", seed)
		}
	}
	// The property is only worth what the run exercised.
	if rechecks < 100 || refusedOnRecheck == 0 {
		t.Fatalf("%d list edits checked again, %d of them refused then: too few to show anything", rechecks, refusedOnRecheck)
	}
	t.Logf("%d list edits checked again after the state moved, %d refused then", rechecks, refusedOnRecheck)
}

// sameOutcome says how two results of Apply differ, "" when they do not.
func sameOutcome(gotCh Changes, gotErr error, wantCh Changes, wantErr error) string {
	var ge, we *Error
	errors.As(gotErr, &ge)
	errors.As(wantErr, &we)
	switch {
	case (ge == nil) != (we == nil):
		return fmt.Sprintf("refusal %v, want %v", gotErr, wantErr)
	case ge != nil && (ge.Code != we.Code || ge.Field != we.Field):
		return fmt.Sprintf("refusal %s %q, want %s %q", ge.Code, ge.Field, we.Code, we.Field)
	case !slices.Equal(gotCh, wantCh):
		return fmt.Sprintf("changes %v, want %v", gotCh, wantCh)
	}
	return ""
}

// BenchmarkCheckBatchThenApply is list edits as the hub takes them at a
// busy meeting: a batch of four (quality edits in four groups) checked as
// they arrive, then applied once logged, each after the others of its
// batch moved the state on.
func BenchmarkCheckBatchThenApply(b *testing.B) {
	m := workedExample(b) // at step V
	groups := sortedKeys(m.s.Groups)
	if len(groups) < 4 {
		b.Fatalf("%d groups", len(groups))
	}
	var batches [2][]*Op
	for _, gid := range groups[:4] {
		m.ok(OpQualityAdd, fac, QualityOp{GroupID: gid, Binome: "luttes", Quality: Quality{ID: "qz", Text: "a"}})
		for k, text := range []string{"connaît le quartier", "connaît bien le quartier"} {
			batches[k] = append(batches[k], m.op(OpQualityEdit, fac, QualityOp{GroupID: gid, Binome: "luttes", Quality: Quality{ID: "qz", Text: text}}))
		}
	}
	s := m.s
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		batch := batches[i%2]
		for _, op := range batch {
			if err := Check(s, op); err != nil {
				b.Fatal(err)
			}
		}
		for _, op := range batch {
			if _, err := Apply(s, op); err != nil {
				b.Fatal(err)
			}
		}
	}
}
