package meeting

import (
	"slices"
	"strings"
	"testing"
)

// names is the shortlist of group g for binome k.
func names(m *meetingT, g, k string) []string { return m.s.Groups[g].Lists[k].Names }

func addName(m *meetingT, g, k, p string) {
	m.t.Helper()
	m.ok(OpShortlistAdd, fac, ShortlistOp{GroupID: g, Binome: k, ProfileID: p})
}

func TestQualityOps(t *testing.T) {
	q := func(text string) QualityOp {
		return QualityOp{GroupID: "g1", Binome: "caisse", Quality: Quality{ID: "q1", Text: text}}
	}
	runCases(t, []opCase{
		{name: "add by group member at IV", setup: func(m *meetingT) { m.step(StepIV) }, typ: OpQualityAdd, actor: part("a1"), payload: q(" rigueur "),
			after: func(t *testing.T, m *meetingT) {
				l := m.s.Groups["g1"].Lists["caisse"]
				if len(l.Qualities) != 1 || l.Qualities[0] != (Quality{ID: "q1", Text: "rigueur"}) {
					t.Fatalf("qualities %+v", l.Qualities)
				}
				m.ok(OpQualityEdit, part("b1"), q("rigueur, disponibilité"))
				if l.Qualities[0].Text != "rigueur, disponibilité" {
					t.Fatal("not edited")
				}
				m.ok(OpQualityAdd, part("b1"), QualityOp{GroupID: "g1", Binome: "caisse", Quality: Quality{Text: "sans id"}})
				if len(l.Qualities) != 2 || l.Qualities[1].ID == "" {
					t.Fatalf("derived id: %+v", l.Qualities)
				}
				m.ok(OpQualityRemove, part("b1"), QualityOp{GroupID: "g1", Binome: "caisse", Quality: Quality{ID: "q1"}})
				if len(l.Qualities) != 1 || l.Qualities[0].Text != "sans id" {
					t.Fatalf("after remove %+v", l.Qualities)
				}
			}},
		{name: "add at V", typ: OpQualityAdd, actor: part("a1"), payload: q("x")},
		{name: "add at III", setup: func(m *meetingT) { m.step(StepIII) }, typ: OpQualityAdd, actor: part("a1"), payload: q("x"), want: CodeWrongStep},
		{name: "add at VI", setup: func(m *meetingT) { m.step(StepVI) }, typ: OpQualityAdd, actor: fac, payload: q("x"), want: CodeWrongStep},
		{name: "add other group", typ: OpQualityAdd, actor: part("a2"), payload: q("x"), want: CodeNotAllowed},
		{name: "add not in a group", typ: OpQualityAdd, actor: part("a3"), payload: q("x"), want: CodeNotAllowed},
		{name: "add absent", setup: func(m *meetingT) { m.ok(OpMemberCheckOut, part("a1"), MemberRef{MemberID: "a1"}) }, typ: OpQualityAdd, actor: part("a1"), payload: q("x"), want: CodeNotAllowed},
		{name: "add by projector", typ: OpQualityAdd, actor: scr, payload: q("x"), want: CodeNotAllowed},
		{name: "add by system", typ: OpQualityAdd, actor: sys, payload: q("x"), want: CodeNotAllowed},
		{name: "add blank", typ: OpQualityAdd, actor: part("a1"), payload: q("  "), want: CodeInvalid},
		{name: "add too long", typ: OpQualityAdd, actor: part("a1"), payload: q(strings.Repeat("x", 2001)), want: CodeInvalid},
		{name: "add duplicate id", setup: func(m *meetingT) { m.ok(OpQualityAdd, fac, q("x")) }, typ: OpQualityAdd, actor: part("a1"), payload: q("y"), want: CodeConflict},
		{name: "add bad id", typ: OpQualityAdd, actor: part("a1"), payload: QualityOp{GroupID: "g1", Binome: "caisse", Quality: Quality{ID: "q 1", Text: "x"}}, want: CodeInvalid},
		{name: "add unknown group", typ: OpQualityAdd, actor: fac, payload: QualityOp{GroupID: "g9", Binome: "caisse", Quality: Quality{Text: "x"}}, want: CodeNotFound},
		{name: "add no group", typ: OpQualityAdd, actor: fac, payload: QualityOp{Binome: "caisse", Quality: Quality{Text: "x"}}, want: CodeInvalid},
		{name: "add unknown binome", typ: OpQualityAdd, actor: fac, payload: QualityOp{GroupID: "g1", Binome: "x", Quality: Quality{Text: "x"}}, want: CodeNotFound},
		{name: "add list full", setup: func(m *meetingT) {
			for i := 0; i < maxQualities; i++ {
				m.ok(OpQualityAdd, fac, QualityOp{GroupID: "g1", Binome: "caisse", Quality: Quality{Text: "x"}})
			}
		}, typ: OpQualityAdd, actor: fac, payload: q("x"), want: CodeListFull},
		{name: "add to a submitted group", setup: func(m *meetingT) { m.ok(OpGroupSubmit, fac, GroupRef{GroupID: "g1", Submitted: true}) }, typ: OpQualityAdd, actor: part("a1"), payload: q("x"), want: CodeConflict},
		{name: "edit unknown", typ: OpQualityEdit, actor: part("a1"), payload: q("x"), want: CodeNotFound},
		{name: "edit blank", setup: func(m *meetingT) { m.ok(OpQualityAdd, fac, q("x")) }, typ: OpQualityEdit, actor: part("a1"), payload: q(""), want: CodeInvalid},
		{name: "edit without id", typ: OpQualityEdit, actor: part("a1"), payload: QualityOp{GroupID: "g1", Binome: "caisse", Quality: Quality{Text: "x"}}, want: CodeInvalid},
		{name: "edit at VI", setup: func(m *meetingT) {
			m.ok(OpQualityAdd, fac, q("x"))
			m.step(StepVI)
		}, typ: OpQualityEdit, actor: part("a1"), payload: q("y"), want: CodeWrongStep},
		{name: "remove other group", setup: func(m *meetingT) { m.ok(OpQualityAdd, fac, q("x")) }, typ: OpQualityRemove, actor: part("a2"), payload: q(""), want: CodeNotAllowed},
		{name: "remove unknown", typ: OpQualityRemove, actor: part("a1"), payload: q(""), want: CodeNotFound},
	})
}

func TestShortlistOps(t *testing.T) {
	sl := func(g, p string) ShortlistOp { return ShortlistOp{GroupID: g, Binome: "caisse", ProfileID: p} }
	runCases(t, []opCase{
		{name: "add names", typ: OpShortlistAdd, actor: part("a1"), payload: sl("g1", "pa1"),
			after: func(t *testing.T, m *meetingT) {
				for _, p := range []string{"pl1", "pn1", "pb1"} { // ineligible names are allowed without consensus
					m.ok(OpShortlistAdd, part("b1"), sl("g1", p))
				}
				if !slices.Equal(names(m, "g1", "caisse"), []string{"pa1", "pl1", "pn1", "pb1"}) {
					t.Fatalf("names %v", names(m, "g1", "caisse"))
				}
				// A 5th name without consensus is refused.
				m.no(CodeListFull, OpShortlistAdd, part("a1"), sl("g1", "pa2"))
				// Switching to consensus with more than 2 names is refused.
				m.no(CodeListFull, OpShortlistMode, part("a1"), ShortlistMode{GroupID: "g1", Binome: "caisse", Consensus: true})
				m.ok(OpShortlistRemove, part("a1"), sl("g1", "pl1"))
				m.ok(OpShortlistRemove, part("a1"), sl("g1", "pn1"))
				m.ok(OpShortlistMode, part("a1"), ShortlistMode{GroupID: "g1", Binome: "caisse", Consensus: true})
				if !m.s.Groups["g1"].Lists["caisse"].Consensus {
					t.Fatal("mode not set")
				}
				// A 3rd name on a consensus pair is refused.
				m.no(CodeListFull, OpShortlistAdd, part("a1"), sl("g1", "pb3"))
				m.ok(OpShortlistMode, part("a1"), ShortlistMode{GroupID: "g1", Binome: "caisse", Consensus: false})
			}},
		{name: "add at IV", setup: func(m *meetingT) { m.step(StepIV) }, typ: OpShortlistAdd, actor: part("a1"), payload: sl("g1", "pa1"), want: CodeWrongStep},
		{name: "add at I", setup: func(m *meetingT) { m.step(StepI) }, typ: OpShortlistAdd, actor: fac, payload: sl("g1", "pa1"), want: CodeWrongStep},
		{name: "add other group", typ: OpShortlistAdd, actor: part("a2"), payload: sl("g1", "pa1"), want: CodeNotAllowed},
		{name: "add twice", setup: func(m *meetingT) { addName(m, "g1", "caisse", "pa1") }, typ: OpShortlistAdd, actor: part("a1"), payload: sl("g1", "pa1"), want: CodeConflict},
		{name: "add unknown profile", typ: OpShortlistAdd, actor: part("a1"), payload: sl("g1", "zz"), want: CodeNotFound},
		{name: "add blank profile", typ: OpShortlistAdd, actor: part("a1"), payload: sl("g1", ""), want: CodeInvalid},
		{name: "add profile not proposed for binome", setup: func(m *meetingT) {
			m.ok(OpProfileAdd, fac, ProfileSet{Profile{ID: "pb2", MemberID: "b2", Binomes: []string{"luttes"}}})
		}, typ: OpShortlistAdd, actor: part("a1"), payload: sl("g1", "pb2"), want: CodeInvalid},
		{name: "consensus accepts an ineligible pair while editing", setup: func(m *meetingT) {
			m.ok(OpShortlistMode, fac, ShortlistMode{GroupID: "g1", Binome: "caisse", Consensus: true})
			addName(m, "g1", "caisse", "pa1")
		}, typ: OpShortlistAdd, actor: part("a1"), payload: sl("g1", "pa2"),
			after: func(t *testing.T, m *meetingT) {
				pos := m.s.Merge("caisse").Groups[0]
				if pos.PairEligible || pos.PairReason != ReasonSameActionGroup {
					t.Fatalf("position %+v", pos)
				}
				// ... but the group cannot submit it.
				_, err := m.do(OpGroupSubmit, fac, GroupRef{GroupID: "g1", Submitted: true})
				if err == nil || err.Code != CodeIneligible || err.Detail != ReasonSameActionGroup {
					t.Fatalf("submit: %v", err)
				}
				if !strings.Contains(err.MessageFor("fr"), "même groupe") || !strings.Contains(err.MessageFor("en"), "same action group") {
					t.Fatalf("messages %q / %q", err.MessageFor("fr"), err.MessageFor("en"))
				}
			}},
		{name: "mode at VI", setup: func(m *meetingT) { m.step(StepVI) }, typ: OpShortlistMode, actor: fac, payload: ShortlistMode{GroupID: "g1", Binome: "caisse"}, want: CodeWrongStep},
		{name: "mode other group", typ: OpShortlistMode, actor: part("a1"), payload: ShortlistMode{GroupID: "g2", Binome: "caisse"}, want: CodeNotAllowed},
		{name: "remove absent name", typ: OpShortlistRemove, actor: part("a1"), payload: sl("g1", "pa1"), want: CodeNotFound},
		{name: "remove blank", typ: OpShortlistRemove, actor: part("a1"), payload: sl("g1", ""), want: CodeInvalid},
		{name: "remove at VI", setup: func(m *meetingT) {
			addName(m, "g1", "caisse", "pa1")
			m.step(StepVI)
		}, typ: OpShortlistRemove, actor: part("a1"), payload: sl("g1", "pa1"), want: CodeWrongStep},
		{name: "edit a submitted list", setup: func(m *meetingT) { m.ok(OpGroupSubmit, fac, GroupRef{GroupID: "g1", Submitted: true}) }, typ: OpShortlistAdd, actor: part("a1"), payload: sl("g1", "pa1"), want: CodeConflict},
	})
}

func TestGroupSubmit(t *testing.T) {
	sub := GroupRef{GroupID: "g1", Submitted: true}
	runCases(t, []opCase{
		{name: "by rapporteur", setup: func(m *meetingT) { m.ok(OpGroupRapporteur, part("a1"), GroupRapporteur{GroupID: "g1", MemberID: "b1"}) },
			typ: OpGroupSubmit, actor: part("b1"), payload: sub,
			after: func(t *testing.T, m *meetingT) {
				if !m.s.Groups["g1"].Submitted || m.s.Merge("caisse").Submitted != 1 {
					t.Fatal("not submitted")
				}
				m.ok(OpGroupSubmit, part("b1"), GroupRef{GroupID: "g1"}) // reopen
				if m.s.Groups["g1"].Submitted {
					t.Fatal("not reopened")
				}
			}},
		{name: "by a member who is not the rapporteur", setup: func(m *meetingT) { m.ok(OpGroupRapporteur, part("a1"), GroupRapporteur{GroupID: "g1", MemberID: "b1"}) },
			typ: OpGroupSubmit, actor: part("a1"), payload: sub, want: CodeNotAllowed},
		{name: "without rapporteur", typ: OpGroupSubmit, actor: part("a1"), payload: sub, want: CodeNotAllowed},
		{name: "rapporteur absent", setup: func(m *meetingT) {
			m.ok(OpGroupRapporteur, part("a1"), GroupRapporteur{GroupID: "g1", MemberID: "b1"})
			m.ok(OpMemberCheckOut, fac, MemberRef{MemberID: "b1"})
		}, typ: OpGroupSubmit, actor: part("b1"), payload: sub, want: CodeNotAllowed},
		{name: "by facilitator", typ: OpGroupSubmit, actor: fac, payload: sub},
		{name: "unknown group", typ: OpGroupSubmit, actor: fac, payload: GroupRef{GroupID: "g9"}, want: CodeNotFound},
		{name: "blank group", typ: OpGroupSubmit, actor: fac, payload: GroupRef{}, want: CodeInvalid},
		{name: "at IV", setup: func(m *meetingT) { m.step(StepIV) }, typ: OpGroupSubmit, actor: fac, payload: sub, want: CodeWrongStep},
		{name: "consensus list of one", setup: func(m *meetingT) {
			m.ok(OpShortlistMode, fac, ShortlistMode{GroupID: "g1", Binome: "luttes", Consensus: true})
			addName(m, "g1", "luttes", "pa1")
		}, typ: OpGroupSubmit, actor: fac, payload: sub, want: CodeInvalid},
		{name: "consensus pair became ineligible", setup: func(m *meetingT) {
			m.ok(OpShortlistMode, fac, ShortlistMode{GroupID: "g1", Binome: "luttes", Consensus: true})
			addName(m, "g1", "luttes", "pa1")
			addName(m, "g1", "luttes", "pb1")
			m.ag("ga2", "GA Chartrons", "2026-05-01")
		}, typ: OpGroupSubmit, actor: fac, payload: sub, want: CodeIneligible},
		{name: "valid consensus pair", setup: func(m *meetingT) {
			m.ok(OpShortlistMode, fac, ShortlistMode{GroupID: "g1", Binome: "luttes", Consensus: true})
			addName(m, "g1", "luttes", "pa1")
			addName(m, "g1", "luttes", "pb1")
		}, typ: OpGroupSubmit, actor: fac, payload: sub},
	})
}

func TestPairRules(t *testing.T) {
	m := basic(t)
	// Two members with the same name in different action groups.
	m.member("h1", "Sam Martin", "ga1")
	m.member("h2", "Sam Martin", "ga2")
	m.profile("ph1", "h1", "caisse")
	m.profile("ph2", "h2", "caisse")
	cases := []struct {
		a, b string
		ok   bool
		why  string
	}{
		{"pa1", "pb1", true, ""},
		{"pb1", "pa1", true, ""},
		{"pa1", "pa2", false, ReasonSameActionGroup},
		{"pa1", "pa1", false, ReasonSamePerson},
		{"pa1", "pl1", false, ReasonCertifiedTooLate}, // certified on the cutoff day
		{"pn1", "pb1", false, ReasonNotCertified},
		{"ph1", "ph2", true, ""}, // homonyms are two people
		{"pa1", "zz", false, ReasonNoActionGroup},
	}
	for _, c := range cases {
		ok, why := m.s.PairEligibility(c.a, c.b)
		if ok != c.ok || why != c.why {
			t.Errorf("pair %s+%s: %v %q, want %v %q", c.a, c.b, ok, why, c.ok, c.why)
		}
	}
	// b1's group was certified the day before the cutoff: eligible.
	if ok, _ := m.s.MemberEligibility("b1"); !ok {
		t.Fatal("certified 2026-04-11 must be eligible")
	}
	m.ok(OpMemberAdd, fac, MemberAdd{Member{ID: "solo", Name: "Solo"}})
	m.ok(OpMemberAdd, fac, MemberAdd{Member{ID: "ghost", Name: "Ghost", ActionGroupID: "ga1"}})
	delete(m.s.ActionGroups, "ga9")
	m.s.Members["ghost"].ActionGroupID = "ga9" // a dangling reference is no action group
	for _, id := range []string{"solo", "ghost", "zz"} {
		if ok, why := m.s.MemberEligibility(id); ok || why != ReasonNoActionGroup {
			t.Fatalf("%s: %v %q", id, ok, why)
		}
	}
	// Two profiles of one member would be the same person.
	m.s.Profiles["dup"] = &Profile{ID: "dup", MemberID: "a1", Binomes: []string{"caisse"}}
	if ok, why := m.s.PairEligibility("pa1", "dup"); ok || why != ReasonSamePerson {
		t.Fatalf("same member twice: %v %q", ok, why)
	}
}

func TestConsensusCheck(t *testing.T) {
	m := basic(t)
	m.step(StepVI)
	open := ConsensusOpen{CheckID: "c1", Binome: "caisse", Pair: [2]string{"pa1", "pb1"}}
	m.no(CodeNotAllowed, OpConsensusOpen, part("a1"), open)
	m.no(CodeIneligible, OpConsensusOpen, fac, ConsensusOpen{Binome: "caisse", Pair: [2]string{"pa1", "pa2"}})
	m.no(CodeNotFound, OpConsensusOpen, fac, ConsensusOpen{Binome: "caisse", Pair: [2]string{"pa1", "zz"}})
	m.no(CodeInvalid, OpConsensusOpen, fac, ConsensusOpen{Binome: "caisse", Pair: [2]string{"pa1", ""}})
	m.no(CodeNotFound, OpConsensusOpen, fac, ConsensusOpen{Binome: "x", Pair: [2]string{"pa1", "pb1"}})
	m.ok(OpProfileAdd, fac, ProfileSet{Profile{ID: "pb2", MemberID: "b2", Binomes: []string{"luttes"}}})
	m.no(CodeInvalid, OpConsensusOpen, fac, ConsensusOpen{Binome: "caisse", Pair: [2]string{"pa1", "pb2"}})
	m.step(StepV)
	m.no(CodeWrongStep, OpConsensusOpen, fac, open)
	m.step(StepVI)
	m.ok(OpConsensusOpen, fac, open)
	m.no(CodeConflict, OpConsensusOpen, fac, open)                                                           // id taken
	m.no(CodeConflict, OpConsensusOpen, fac, ConsensusOpen{Binome: "luttes", Pair: [2]string{"pa1", "pb1"}}) // another is open

	ans := func(kind, arg string) ConsensusAnswer {
		return ConsensusAnswer{CheckID: "c1", Kind: kind, Argument: arg}
	}
	m.ok(OpConsensusAnswer, part("a1"), ans(AnswerSupport, ""))
	m.ok(OpConsensusAnswer, part("a2"), ans(AnswerSupport, ""))
	m.ok(OpConsensusAnswer, part("a3"), ans(AnswerReservation, "peu disponible l'été"))
	// An objection without an argument is refused.
	m.no(CodeArgumentMissing, OpConsensusAnswer, part("b2"), ans(AnswerObjection, "   "))
	m.ok(OpConsensusAnswer, part("b2"), ans(AnswerObjection, "déjà trésorier d'une association"))
	m.ok(OpConsensusAnswer, part("b3"), ans(AnswerObjection, "conflit d'intérêts"))
	// Answering again replaces the earlier answer.
	m.ok(OpConsensusAnswer, part("a2"), ans(AnswerReservation, ""))
	m.no(CodeInvalid, OpConsensusAnswer, part("a1"), ans("maybe", ""))
	m.no(CodeInvalid, OpConsensusAnswer, part("a1"), ans(AnswerSupport, strings.Repeat("x", 2001)))
	m.no(CodeNotAllowed, OpConsensusAnswer, fac, ans(AnswerSupport, ""))
	m.no(CodeNotAllowed, OpConsensusAnswer, scr, ans(AnswerSupport, ""))
	m.no(CodeNotFound, OpConsensusAnswer, part("a1"), ConsensusAnswer{CheckID: "c9", Kind: AnswerSupport})
	m.no(CodeInvalid, OpConsensusAnswer, part("a1"), ConsensusAnswer{Kind: AnswerSupport})
	m.ok(OpMemberCheckOut, fac, MemberRef{MemberID: "n1"})
	m.no(CodeNotAllowed, OpConsensusAnswer, part("n1"), ans(AnswerSupport, ""))

	// Facilitators lift one objection.
	m.no(CodeNotAllowed, OpConsensusStanding, part("a1"), ConsensusStanding{CheckID: "c1", MemberID: "b3"})
	m.no(CodeNotFound, OpConsensusStanding, fac, ConsensusStanding{CheckID: "c1", MemberID: "a1"}) // a support, not an objection
	m.no(CodeNotFound, OpConsensusStanding, fac, ConsensusStanding{CheckID: "c9", MemberID: "b3"})
	m.no(CodeInvalid, OpConsensusStanding, fac, ConsensusStanding{CheckID: "c1"})
	m.ok(OpConsensusStanding, fac, ConsensusStanding{CheckID: "c1", MemberID: "b3", Standing: false})

	c := m.s.Checks["c1"]
	full := m.s.checkResult(c, Full)
	want := CheckResult{Support: 1, Reservation: 2, Objection: 2, Standing: 1, Answers: 5}
	if full.Support != want.Support || full.Reservation != want.Reservation || full.Objection != want.Objection || full.Standing != want.Standing || full.Answers != want.Answers {
		t.Fatalf("result %+v", full)
	}
	if len(full.Objections) != 2 || !full.Objections[0].Standing || full.Objections[0].MemberID != "b2" ||
		full.Objections[0].Name != "Membre b2" || full.Objections[0].Argument != "déjà trésorier d'une association" || full.Objections[1].Standing {
		t.Fatalf("objections %+v", full.Objections)
	}
	red := m.s.checkResult(c, Redacted)
	for _, o := range red.Objections {
		if o.MemberID != "" || o.Name != "" {
			t.Fatalf("redacted objection names its author: %+v", o)
		}
	}
	if v := m.s.checkView(c, Redacted); v.Answers != nil {
		t.Fatal("redacted check view carries answers")
	}

	m.no(CodeNotAllowed, OpConsensusClose, part("a1"), ConsensusClose{CheckID: "c1"})
	m.no(CodeNotFound, OpConsensusClose, fac, ConsensusClose{CheckID: "c9"})
	m.ok(OpConsensusClose, fac, ConsensusClose{CheckID: "c1"})
	if c.Open || c.ClosedAt == nil {
		t.Fatal("not closed")
	}
	m.no(CodeClosed, OpConsensusClose, fac, ConsensusClose{CheckID: "c1"})
	m.no(CodeClosed, OpConsensusAnswer, part("a1"), ans(AnswerSupport, ""))
	// Standing can still be revised after closing, and a new check opens.
	m.ok(OpConsensusStanding, fac, ConsensusStanding{CheckID: "c1", MemberID: "b3", Standing: true})
	ch := m.ok(OpConsensusOpen, fac, ConsensusOpen{Binome: "luttes", Pair: [2]string{"pb1", "pa1"}})
	if len(ch) != 1 || ch[0].Kind != KindCheck || m.s.Checks[ch[0].ID] == nil {
		t.Fatalf("derived check id: %v", ch)
	}
}

func TestDecisions(t *testing.T) {
	dec := func(d Decision) DecisionSet { return DecisionSet{Decision: d} }
	vi := func(m *meetingT) { m.step(StepVI) }
	runCases(t, []opCase{
		{name: "designated", setup: vi, typ: OpDecisionSet, actor: fac, payload: dec(Decision{Binome: "caisse", Outcome: OutcomeDesignated, Pair: []string{"pb1", "pa1"}, Note: "par consensus"}),
			after: func(t *testing.T, m *meetingT) {
				d := m.s.Decisions["caisse"]
				if d == nil || !d.At.Equal(t0.Add(timeOf(m.seq))) || !slices.Equal(d.Pair, []string{"pb1", "pa1"}) {
					t.Fatalf("decision %+v", d)
				}
				m.ok(OpDecisionClear, fac, DecisionClear{Binome: "caisse"})
				if m.s.Decisions["caisse"] != nil {
					t.Fatal("not cleared")
				}
				m.no(CodeNotFound, OpDecisionClear, fac, DecisionClear{Binome: "caisse"})
			}},
		{name: "designated from one action group", setup: vi, typ: OpDecisionSet, actor: fac, payload: dec(Decision{Binome: "caisse", Outcome: OutcomeDesignated, Pair: []string{"pa1", "pa2"}}), want: CodeIneligible,
			after: func(t *testing.T, m *meetingT) {
				_, err := m.do(OpDecisionSet, fac, dec(Decision{Binome: "caisse", Outcome: OutcomeDesignated, Pair: []string{"pa1", "pa2"}}))
				if err.Detail != ReasonSameActionGroup {
					t.Fatalf("reason %q", err.Detail)
				}
			}},
		{name: "designated certified too late", setup: vi, typ: OpDecisionSet, actor: fac, payload: dec(Decision{Binome: "caisse", Outcome: OutcomeDesignated, Pair: []string{"pa1", "pl1"}}), want: CodeIneligible},
		{name: "designated one name", setup: vi, typ: OpDecisionSet, actor: fac, payload: dec(Decision{Binome: "caisse", Outcome: OutcomeDesignated, Pair: []string{"pa1"}}), want: CodeInvalid},
		{name: "designated with debated", setup: vi, typ: OpDecisionSet, actor: fac, payload: dec(Decision{Binome: "caisse", Outcome: OutcomeDesignated, Pair: []string{"pa1", "pb1"}, Debated: []string{"pa2"}}), want: CodeInvalid},
		{name: "designated with check", setup: func(m *meetingT) {
			vi(m)
			m.ok(OpConsensusOpen, fac, ConsensusOpen{CheckID: "c1", Binome: "caisse", Pair: [2]string{"pa1", "pb1"}})
		}, typ: OpDecisionSet, actor: fac, payload: dec(Decision{Binome: "caisse", Outcome: OutcomeDesignated, Pair: []string{"pa1", "pb1"}, CheckID: "c1"})},
		{name: "check of another binome", setup: func(m *meetingT) {
			vi(m)
			m.ok(OpConsensusOpen, fac, ConsensusOpen{CheckID: "c1", Binome: "luttes", Pair: [2]string{"pa1", "pb1"}})
		}, typ: OpDecisionSet, actor: fac, payload: dec(Decision{Binome: "caisse", Outcome: OutcomeDesignated, Pair: []string{"pa1", "pb1"}, CheckID: "c1"}), want: CodeNotFound},
		{name: "bad check id", setup: vi, typ: OpDecisionSet, actor: fac, payload: dec(Decision{Binome: "caisse", Outcome: OutcomeNoCandidate, CheckID: "c 1"}), want: CodeInvalid},
		{name: "no consensus", setup: vi, typ: OpDecisionSet, actor: fac, payload: dec(Decision{Binome: "caisse", Outcome: OutcomeNoConsensus, Debated: []string{"pa1", "pl1", "pn1"}})},
		{name: "no consensus without names", setup: vi, typ: OpDecisionSet, actor: fac, payload: dec(Decision{Binome: "caisse", Outcome: OutcomeNoConsensus}), want: CodeInvalid},
		{name: "no consensus with pair", setup: vi, typ: OpDecisionSet, actor: fac, payload: dec(Decision{Binome: "caisse", Outcome: OutcomeNoConsensus, Pair: []string{"pa1", "pb1"}, Debated: []string{"pa1"}}), want: CodeInvalid},
		{name: "no consensus twice the same", setup: vi, typ: OpDecisionSet, actor: fac, payload: dec(Decision{Binome: "caisse", Outcome: OutcomeNoConsensus, Debated: []string{"pa1", "pa1"}}), want: CodeInvalid},
		{name: "no consensus unknown", setup: vi, typ: OpDecisionSet, actor: fac, payload: dec(Decision{Binome: "caisse", Outcome: OutcomeNoConsensus, Debated: []string{"zz"}}), want: CodeNotFound},
		{name: "no consensus bad id", setup: vi, typ: OpDecisionSet, actor: fac, payload: dec(Decision{Binome: "caisse", Outcome: OutcomeNoConsensus, Debated: []string{"z z"}}), want: CodeInvalid},
		{name: "no candidate", setup: vi, typ: OpDecisionSet, actor: fac, payload: dec(Decision{Binome: "caisse", Outcome: OutcomeNoCandidate})},
		{name: "no candidate with names", setup: vi, typ: OpDecisionSet, actor: fac, payload: dec(Decision{Binome: "caisse", Outcome: OutcomeNoCandidate, Debated: []string{"pa1"}}), want: CodeInvalid},
		{name: "unknown outcome", setup: vi, typ: OpDecisionSet, actor: fac, payload: dec(Decision{Binome: "caisse", Outcome: "maybe"}), want: CodeInvalid},
		{name: "unknown binome", setup: vi, typ: OpDecisionSet, actor: fac, payload: dec(Decision{Binome: "x", Outcome: OutcomeNoCandidate}), want: CodeNotFound},
		{name: "note too long", setup: vi, typ: OpDecisionSet, actor: fac, payload: dec(Decision{Binome: "caisse", Outcome: OutcomeNoCandidate, Note: strings.Repeat("x", 2001)}), want: CodeInvalid},
		{name: "at step V", typ: OpDecisionSet, actor: fac, payload: dec(Decision{Binome: "caisse", Outcome: OutcomeNoCandidate}), want: CodeWrongStep},
		{name: "by participant", setup: vi, typ: OpDecisionSet, actor: part("a1"), payload: dec(Decision{Binome: "caisse", Outcome: OutcomeNoCandidate}), want: CodeNotAllowed},
		{name: "clear by participant", setup: vi, typ: OpDecisionClear, actor: part("a1"), payload: DecisionClear{Binome: "caisse"}, want: CodeNotAllowed},
		{name: "clear at V", typ: OpDecisionClear, actor: fac, payload: DecisionClear{Binome: "caisse"}, want: CodeWrongStep},
	})
}

func TestPurge(t *testing.T) {
	m := basic(t)
	m.ok(OpRapporteurSet, fac, RapporteurSet{MemberID: "a3"})
	m.ok(OpTokenIssue, sys, TokenIssue{Hash: hashOf("tok-a1"), Role: RoleParticipant, MemberID: "a1"})
	m.ok(OpBilanSet, fac, BilanSet{Binome: "caisse", Text: "Bilan de Membre a1"})
	m.ok(OpMeetingUpdate, fac, MeetingUpdate{Info{Title: "Boucle", VideoURL: "https://visio.example.org/x"}})
	m.step(StepVI)
	m.ok(OpConsensusOpen, fac, ConsensusOpen{CheckID: "c1", Binome: "caisse", Pair: [2]string{"pa1", "pb1"}})
	m.ok(OpConsensusAnswer, part("b2"), ConsensusAnswer{CheckID: "c1", Kind: AnswerObjection, Argument: "Membre a1 est déjà trésorier"})
	m.ok(OpDecisionSet, fac, DecisionSet{Decision{Binome: "caisse", Outcome: OutcomeDesignated, Pair: []string{"pa1", "pb1"}, Note: "note"}})
	m.step(StepVII)
	m.no(CodeNotAllowed, OpMeetingPurge, part("a1"), MeetingPurge{})
	m.ok(OpMeetingPurge, fac, MeetingPurge{})
	enc := string(m.s.Encode())
	for _, secret := range []string{"@example.org", "06 00", "Membre a1", "Camille", "trésorier", "visio.example.org", "tractage", "cinq années", hashOf("tok-a1")} {
		if strings.Contains(enc, secret) {
			t.Errorf("purged state still holds %q", secret)
		}
	}
	if !m.s.Purged || m.s.Decisions["caisse"].Outcome != OutcomeDesignated || len(m.s.Members) != 8 {
		t.Fatal("purge lost the meeting's shape")
	}
	if _, ok := m.s.Authenticate(hashOf("admin")); !ok {
		t.Fatal("facilitators lost access")
	}
	rep := m.s.Report()
	if !rep.Purged || strings.Contains(rep.Text("fr"), "@") {
		t.Fatal("report after purge holds contacts")
	}
	// Afterwards ops that add personal data are refused.
	m.no(CodePurged, OpMemberAdd, fac, MemberAdd{Member{Name: "Nouveau"}})
	m.no(CodePurged, OpMemberCheckIn, sys, MemberCheckIn{MemberID: "a1"})
	m.no(CodePurged, OpProfileUpdate, fac, ProfileSet{Profile{ID: "pa1", Binomes: []string{"caisse"}}})
	m.no(CodePurged, OpMeetingPurge, fac, MeetingPurge{})
	m.ok(OpStepSet, fac, StepSet{Step: StepClosed})
}

func TestNotCreatedAndCreate(t *testing.T) {
	s := New("m2")
	op := &Op{ID: "o1", Seq: 1, Type: OpMemberAdd, Actor: fac, Payload: []byte(`{"member":{"name":"x"}}`)}
	if _, err := Apply(s, op); err == nil || err.(*Error).Code != CodeNotCreated {
		t.Fatalf("op before create: %v", err)
	}
	if s.Seq != 1 {
		t.Fatal("seq not advanced on refusal")
	}
	bad := []struct {
		name string
		p    MeetingCreate
	}{
		{"join code", MeetingCreate{JoinCode: "abc", FacilitatorToken: hashOf("a"), ProjectorToken: hashOf("b")}},
		{"facilitator token", MeetingCreate{JoinCode: "ABCDEF", FacilitatorToken: "x", ProjectorToken: hashOf("b")}},
		{"same tokens", MeetingCreate{JoinCode: "ABCDEF", FacilitatorToken: hashOf("a"), ProjectorToken: hashOf("a")}},
		{"info", MeetingCreate{JoinCode: "ABCDEF", FacilitatorToken: hashOf("a"), ProjectorToken: hashOf("b"), Info: Info{Date: "demain"}}},
		{"template", MeetingCreate{JoinCode: "ABCDEF", FacilitatorToken: hashOf("a"), ProjectorToken: hashOf("b"), Template: &Template{ID: "x"}}},
		{"facilitators", MeetingCreate{JoinCode: "ABCDEF", FacilitatorToken: hashOf("a"), ProjectorToken: hashOf("b"), FacilitatorsNames: []string{"a", "b", "c"}}},
	}
	m := &meetingT{t: t, s: s, seq: 1}
	for _, c := range bad {
		if _, err := m.do(OpMeetingCreate, sys, c.p); err == nil || err.Code != CodeInvalid {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	m.no(CodeNotAllowed, OpMeetingCreate, fac, MeetingCreate{JoinCode: "ABCDEF", FacilitatorToken: hashOf("a"), ProjectorToken: hashOf("b")})
	tpl := Default2026()
	tpl.ID = "custom"
	m.ok(OpMeetingCreate, sys, MeetingCreate{JoinCode: "ABCDEF", FacilitatorToken: hashOf("a"), ProjectorToken: hashOf("b"), Template: &tpl, ParityConfirmation: true})
	if !s.Created || s.Template.ID != "custom" || !s.Parity || s.Info.Lang != "fr" || s.Step != StepBefore {
		t.Fatalf("created %+v", s)
	}
	// Nil state or op: refused, no panic.
	if _, err := Apply(nil, op); err == nil {
		t.Fatal("nil state accepted")
	}
	if err := Check(s, nil); err == nil {
		t.Fatal("nil op accepted")
	}
	if _, err := Apply(s, &Op{ID: "bad id", Type: OpParitySet, Actor: fac}); err == nil {
		t.Fatal("bad op id accepted")
	}
}
