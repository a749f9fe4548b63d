package meeting

import (
	"errors"
	"testing"
	"time"
)

// TestApplyAfterCheck: Apply applies the payload Check passed only while
// neither the state nor the op changed in between (the server checks an op
// when it arrives and applies it once logged); otherwise it checks the op
// again (a list edit's kept payload when only the state moved, see
// TestRecheckedOpsApplyAsDecoded; else decoded anew), so what it applies is
// what a replay of the log applies.
func TestApplyAfterCheck(t *testing.T) {
	code := func(err error) Code {
		var e *Error
		if errors.As(err, &e) {
			return e.Code
		}
		return ""
	}
	m := basic(t)
	m.ok(OpQualityAdd, part("a1"), QualityOp{GroupID: "g1", Binome: "caisse", Quality: Quality{ID: "q1", Text: "écoute"}})
	list := func() []Quality { return m.s.Groups["g1"].Lists["caisse"].Qualities }

	// Checked, then the quality is removed before the edit is applied:
	// the edit is refused, as on replay.
	edit := m.op(OpQualityEdit, part("a1"), QualityOp{GroupID: "g1", Binome: "caisse", Quality: Quality{ID: "q1", Text: "rigueur"}})
	if err := Check(m.s, edit); err != nil {
		t.Fatal(err)
	}
	remove := m.op(OpQualityRemove, part("a1"), QualityOp{GroupID: "g1", Binome: "caisse", Quality: Quality{ID: "q1"}})
	if _, err := Apply(m.s, remove); err != nil {
		t.Fatal(err)
	}
	edit.Seq = remove.Seq + 1
	m.seq = edit.Seq
	if _, err := Apply(m.s, edit); code(err) != CodeNotFound {
		t.Fatalf("edit of a quality removed after its check: %v, want %s", err, CodeNotFound)
	}

	// The payload changed after the check: the new one is applied.
	add := m.op(OpQualityAdd, part("a1"), QualityOp{GroupID: "g1", Binome: "caisse", Quality: Quality{ID: "q2", Text: "avant"}})
	if err := Check(m.s, add); err != nil {
		t.Fatal(err)
	}
	add.Payload = []byte(`{"groupId":"g1","binome":"caisse","quality":{"id":"q2","text":"après"}}`)
	if _, err := Apply(m.s, add); err != nil || len(list()) != 1 || list()[0].Text != "après" {
		t.Fatalf("applied %v (%v), want the payload as it is now", list(), err)
	}

	// The actor changed after the check: checked again, and refused.
	other := m.op(OpQualityAdd, part("a1"), QualityOp{GroupID: "g1", Binome: "caisse", Quality: Quality{ID: "q3", Text: "x"}})
	if err := Check(m.s, other); err != nil {
		t.Fatal(err)
	}
	other.Actor = part("a2") // of group g2
	if _, err := Apply(m.s, other); code(err) != CodeNotAllowed {
		t.Fatalf("an op whose actor changed after its check: %v, want %s", err, CodeNotAllowed)
	}

	// The type changed after the check (quality.add and quality.remove
	// share their payload): checked again as the new type, and refused.
	retyped := m.op(OpQualityAdd, part("a1"), QualityOp{GroupID: "g1", Binome: "caisse", Quality: Quality{ID: "q6", Text: "x"}})
	if err := Check(m.s, retyped); err != nil {
		t.Fatal(err)
	}
	retyped.Type = OpQualityRemove
	if _, err := Apply(m.s, retyped); code(err) != CodeNotFound {
		t.Fatalf("an op whose type changed after its check: %v, want %s", err, CodeNotFound)
	}

	// The time changed after the check (a timer must end after the op's
	// time): checked again at the new time, and refused.
	timed := m.op(OpTimerSet, fac, TimerSet{TimerEnd: ptr(t0.Add(time.Duration(m.seq)*time.Second + time.Minute))})
	if err := Check(m.s, timed); err != nil {
		t.Fatal(err)
	}
	timed.At = timed.At.Add(time.Hour)
	if _, err := Apply(m.s, timed); code(err) != CodeInvalid {
		t.Fatalf("an op whose time changed after its check: %v, want %s", err, CodeInvalid)
	}

	// Another state at the same seq (a meeting rebuilt from its log, say)
	// where a1 is no longer in g1: checked there, and refused.
	moved := m.op(OpQualityAdd, part("a1"), QualityOp{GroupID: "g1", Binome: "caisse", Quality: Quality{ID: "q4", Text: "y"}})
	if err := Check(m.s, moved); err != nil {
		t.Fatal(err)
	}
	rebuilt, err := Decode(m.s.Encode())
	if err != nil {
		t.Fatal(err)
	}
	rebuilt.Members["a1"].GroupID = "g2"
	if _, err := Apply(rebuilt, moved); code(err) != CodeNotAllowed {
		t.Fatalf("an op checked against one state, applied to another: %v, want %s", err, CodeNotAllowed)
	}

	// Nothing changed: applied as checked.
	again := m.op(OpQualityAdd, part("a1"), QualityOp{GroupID: "g1", Binome: "caisse", Quality: Quality{ID: "q5", Text: "z"}})
	if err := Check(m.s, again); err != nil {
		t.Fatal(err)
	}
	if _, err := Apply(m.s, again); err != nil || len(list()) != 2 || list()[1].Text != "z" {
		t.Fatalf("applied %v (%v)", list(), err)
	}
}
