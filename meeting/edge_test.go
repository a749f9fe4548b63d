package meeting

import "testing"

func TestDomainIDsNeverClash(t *testing.T) {
	m := basic(t)
	// A client-made id equal to the one the domain would derive next.
	next := m.seq + 2
	m.ok(OpMemberAdd, fac, MemberAdd{Member{ID: "m" + itoa(next), Name: "Client"}})
	m.ok(OpMemberAdd, fac, MemberAdd{Member{Name: "Derived"}})
	if d := m.s.sameMember("Derived", ""); d == nil || d.ID != "m"+itoa(next)+"-2" {
		t.Fatalf("derived %+v", d)
	}
}

func itoa(n uint64) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

func TestMemberInUseByCheck(t *testing.T) {
	m := basic(t)
	m.step(StepVI)
	m.ok(OpConsensusOpen, fac, ConsensusOpen{CheckID: "c1", Binome: "caisse", Pair: [2]string{"pa1", "pb1"}})
	m.ok(OpConsensusAnswer, part("b2"), ConsensusAnswer{CheckID: "c1", Kind: AnswerSupport})
	m.no(CodeConflict, OpMemberRemove, fac, MemberRef{MemberID: "b2"})
	m.no(CodeInvalid, OpConsensusOpen, fac, ConsensusOpen{CheckID: "c 2", Binome: "caisse", Pair: [2]string{"pa1", "pb1"}})
	// Renaming b2 updates the check's (full) view of the answer's author.
	ch := m.ok(OpMemberUpdate, fac, MemberAdd{Member{ID: "b2", Name: "Bérénice", ActionGroupID: "ga2"}})
	found := false
	for _, r := range ch {
		found = found || r == (Ref{KindCheck, "c1"})
	}
	if !found {
		t.Fatalf("changes %v", ch)
	}
}

func TestGroupContentAndRemoteCount(t *testing.T) {
	m := basic(t)
	m.ok(OpShortlistMode, fac, ShortlistMode{GroupID: "g2", Binome: "caisse", Consensus: true})
	m.ok(OpGroupAdd, fac, GroupAdd{GroupID: "g3"})
	m.ok(OpGroupRapporteur, fac, GroupRapporteur{GroupID: "g3"})
	if !m.s.Groups["g2"].hasContent() || m.s.Groups["g3"].hasContent() {
		t.Fatal("hasContent")
	}
	m.ok(OpGroupRemove, fac, GroupRef{GroupID: "g3"})
	m.checkin("a3", true)
	if v := m.s.meetingView(); v.Present != 8 || v.PresentRemote != 1 {
		t.Fatalf("present %d remote %d", v.Present, v.PresentRemote)
	}
}
