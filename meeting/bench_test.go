package meeting

import (
	"encoding/json"
	"fmt"
	"testing"
)

// liveEdits is a cycle of live edits at step V in the worked example:
// a quality added, edited, a name shortlisted and taken off, the quality
// removed (each leaves the lists as the one before it found them).
func liveEdits(m *meetingT) []*Op {
	return []*Op{
		m.op(OpQualityAdd, part("alice"), QualityOp{GroupID: "G1", Binome: "luttes", Quality: Quality{ID: "qb", Text: "connaît les syndicats"}}),
		m.op(OpQualityEdit, part("alice"), QualityOp{GroupID: "G1", Binome: "luttes", Quality: Quality{ID: "qb", Text: "connaît les syndicats locaux"}}),
		m.op(OpShortlistAdd, part("alice"), ShortlistOp{GroupID: "G1", Binome: "luttes", ProfileID: "psam2"}),
		m.op(OpShortlistRemove, part("alice"), ShortlistOp{GroupID: "G1", Binome: "luttes", ProfileID: "psam2"}),
		m.op(OpQualityRemove, part("alice"), QualityOp{GroupID: "G1", Binome: "luttes", Quality: Quality{ID: "qb"}}),
	}
}

// BenchmarkApply is one live edit at step V as the hub runs it: a quality
// edit and a shortlist add/remove in a 30-member meeting of four groups,
// with the recomputed merge of the binome encoded for both audiences.
func BenchmarkApply(b *testing.B) {
	m := workedExample(b)
	ops := liveEdits(m)
	s := m.s
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		op := ops[i%len(ops)]
		ch, err := Apply(s, op)
		if err != nil {
			b.Fatal(err)
		}
		for _, a := range []Audience{Full, Redacted} {
			if _, err := json.Marshal(s.ChangesFor(ch, a)); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkCheckAndApply is the same edits as the hub takes them: checked
// when they arrive, applied once logged, nothing in between; their changes
// are not encoded.
func BenchmarkCheckAndApply(b *testing.B) {
	m := workedExample(b)
	ops := liveEdits(m)
	s := m.s
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		op := ops[i%len(ops)]
		if err := Check(s, op); err != nil {
			b.Fatal(err)
		}
		if _, err := Apply(s, op); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkChangesFor is the encoding of one shortlist change (the group
// and the merge) for the redacted audience, in a meeting of 200 members and
// 20 groups.
func BenchmarkChangesFor(b *testing.B) {
	m := workedExample(b)
	for i := 0; i < 170; i++ {
		id := fmt.Sprintf("y%03d", i)
		m.member(id, "Participant "+id, []string{"bastide", "chartrons", "capucins"}[i%3])
		m.checkin(id, false)
	}
	m.ok(OpGroupsSplit, fac, GroupsSplit{})
	ch := m.ok(OpShortlistAdd, fac, ShortlistOp{GroupID: "G2", Binome: "groupes-action", ProfileID: "pamir"})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := json.Marshal(m.s.ChangesFor(ch, Redacted)); err != nil {
			b.Fatal(err)
		}
	}
}
