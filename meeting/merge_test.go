package meeting

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"testing"
)

// workedExample is a meeting of 30 present members in four breakout groups
// of 8, 8, 7 and 7 (G1..G4), with these candidate profiles:
//
//	pA1 Alice Roux   GA Bastide    certified 2025-09-01  eligible
//	pA2 Amir Haddad  GA Bastide    certified 2025-09-01  eligible
//	pB1 Bruno Petit  GA Chartrons  certified 2026-01-10  eligible
//	pB2 Béa Diallo   GA Chartrons  certified 2026-01-10  eligible
//	pC1 Chloé Morel  GA Capucins   certified 2026-04-11  eligible (the day before the cutoff)
//	pD1 Dan Leroy    GA Bacalan    certified 2026-04-12  certified_too_late (on the cutoff)
//	pE1 Eva Costa    GA Nansouty   not certified         not_certified
//	pS1 Sam Martin   GA Bastide    eligible
//	pS2 Sam Martin   GA Capucins   eligible (a homonym: another person)
//
// and these lists, per binome:
//
//	communication          every group: consensus pair Alice + Bruno, in both orders
//	materiel               G1-G3: consensus pair Amir + Chloé; G4 without consensus: Amir, Chloé, Béa
//	caisse                 G1: consensus pair Alice + Amir (same action group!); G2: consensus Alice + Béa;
//	                       G3: names Béa; G4: nothing
//	relations-exterieures  G1: names Dan, Bruno; G2: names Eva; G3: consensus Bruno + Chloé; G4: consensus Chloé + Bruno
//	luttes                 G1: names Sam (Bastide); G2: names Sam (Capucins); G3: both Sams; G4: nothing
//	groupes-action         nobody
func workedExample(t testing.TB) *meetingT {
	m := newMeeting(t)
	m.setup = true
	defer func() { m.setup = false }()
	m.ag("bastide", "GA Bastide", "2025-09-01")
	m.ag("chartrons", "GA Chartrons", "2026-01-10")
	m.ag("capucins", "GA Capucins", "2026-04-11")
	m.ag("bacalan", "GA Bacalan", "2026-04-12")
	m.ag("nansouty", "GA Nansouty", "")
	people := []struct{ id, name, ag string }{
		{"alice", "Alice Roux", "bastide"}, {"amir", "Amir Haddad", "bastide"},
		{"bruno", "Bruno Petit", "chartrons"}, {"bea", "Béa Diallo", "chartrons"},
		{"chloe", "Chloé Morel", "capucins"}, {"dan", "Dan Leroy", "bacalan"},
		{"eva", "Eva Costa", "nansouty"}, {"sam1", "Sam Martin", "bastide"}, {"sam2", "Sam Martin", "capucins"},
	}
	ags := []string{"bastide", "chartrons", "capucins", "bacalan", "nansouty"}
	for i := len(people); i < 30; i++ {
		people = append(people, struct{ id, name, ag string }{fmt.Sprintf("x%02d", i), fmt.Sprintf("Militant·e %02d", i), ags[i%5]})
	}
	for _, p := range people {
		m.member(p.id, p.name, p.ag)
		m.checkin(p.id, false)
	}
	m.step(StepIII)
	all := []string{"communication", "materiel", "caisse", "relations-exterieures", "luttes", "groupes-action"}
	for _, p := range people[:9] {
		m.profile("p"+p.id, p.id, all...)
	}
	m.step(StepIV)
	sizes := []int{8, 8, 7, 7}
	next := 0
	for g, n := range sizes {
		gid := fmt.Sprintf("G%d", g+1)
		m.ok(OpGroupAdd, fac, GroupAdd{GroupID: gid})
		for i := 0; i < n; i++ {
			m.ok(OpGroupMove, fac, GroupMove{MemberID: people[next].id, GroupID: gid})
			next++
		}
	}
	m.step(StepV)
	pair := func(g, k, a, b string) {
		m.ok(OpShortlistMode, fac, ShortlistMode{GroupID: g, Binome: k, Consensus: true})
		addName(m, g, k, a)
		addName(m, g, k, b)
	}
	list := func(g, k string, ps ...string) {
		for _, p := range ps {
			addName(m, g, k, p)
		}
	}
	pair("G1", "communication", "palice", "pbruno")
	pair("G2", "communication", "pbruno", "palice")
	pair("G3", "communication", "palice", "pbruno")
	pair("G4", "communication", "pbruno", "palice")
	for _, g := range []string{"G1", "G2", "G3"} {
		pair(g, "materiel", "pamir", "pchloe")
	}
	list("G4", "materiel", "pamir", "pchloe", "pbea")
	pair("G1", "caisse", "palice", "pamir")
	pair("G2", "caisse", "palice", "pbea")
	list("G3", "caisse", "pbea")
	list("G1", "relations-exterieures", "pdan", "pbruno")
	list("G2", "relations-exterieures", "peva")
	pair("G3", "relations-exterieures", "pbruno", "pchloe")
	pair("G4", "relations-exterieures", "pchloe", "pbruno")
	list("G1", "luttes", "psam1")
	list("G2", "luttes", "psam2")
	list("G3", "luttes", "psam1", "psam2")
	return m
}

// Hand-written expectations: helpers only shorten the literals.
func pos(g string, consensus, submitted, pairOK bool, reason string, names ...string) GroupPosition {
	if names == nil {
		names = []string{}
	}
	return GroupPosition{GroupID: g, GroupName: "Groupe " + g[1:], Consensus: consensus, Submitted: submitted,
		PairEligible: pairOK, PairReason: reason, Names: names}
}

func nm(profile, name, ag string, everyone, eligible bool, reason string, groups ...string) MergedName {
	return MergedName{ProfileID: "p" + profile, MemberID: profile, Name: name, ActionGroup: ag, Groups: groups,
		Count: len(groups), Everyone: everyone, Eligible: eligible, Reason: reason}
}

func TestWorkedExampleMerge(t *testing.T) {
	m := workedExample(t)
	for g, want := range map[string]int{"G1": 8, "G2": 8, "G3": 7, "G4": 7} {
		if n := m.s.groupSize(g); n != want {
			t.Fatalf("%s has %d members", g, n)
		}
	}
	// G1 cannot submit its same-group pair for the caisse; the others submit.
	if err := m.no(CodeIneligible, OpGroupSubmit, fac, GroupRef{GroupID: "G1", Submitted: true}); err.Detail != ReasonSameActionGroup {
		t.Fatalf("G1 submit: %v", err)
	}
	for _, g := range []string{"G2", "G3", "G4"} {
		m.ok(OpGroupSubmit, fac, GroupRef{GroupID: g, Submitted: true})
	}
	m.step(StepVI)

	const (
		alice, amir, bruno, bea, chloe = "Alice Roux", "Amir Haddad", "Bruno Petit", "Béa Diallo", "Chloé Morel"
		bas, cha, cap                  = "GA Bastide", "GA Chartrons", "GA Capucins"
	)
	want := map[string]Merge{
		"communication": {
			Binome: "communication",
			Groups: []GroupPosition{
				pos("G1", true, false, true, "", "palice", "pbruno"),
				pos("G2", true, true, true, "", "pbruno", "palice"),
				pos("G3", true, true, true, "", "palice", "pbruno"),
				pos("G4", true, true, true, "", "pbruno", "palice"),
			},
			Names: []MergedName{
				nm("alice", alice, bas, true, true, "", "G1", "G2", "G3", "G4"),
				nm("bruno", bruno, cha, true, true, "", "G1", "G2", "G3", "G4"),
			},
			// Same pair everywhere (order ignored), eligible, but G1 has not submitted yet.
			SamePair: true, Pair: []string{"palice", "pbruno"}, PairEligible: true, Ready: false,
			Submitted: 3, Total: 4,
		},
		"materiel": {
			Binome: "materiel",
			Groups: []GroupPosition{
				pos("G1", true, false, true, "", "pamir", "pchloe"),
				pos("G2", true, true, true, "", "pamir", "pchloe"),
				pos("G3", true, true, true, "", "pamir", "pchloe"),
				pos("G4", false, true, false, "", "pamir", "pchloe", "pbea"),
			},
			Names: []MergedName{
				nm("amir", amir, bas, true, true, "", "G1", "G2", "G3", "G4"),
				nm("chloe", chloe, cap, true, true, "", "G1", "G2", "G3", "G4"),
				nm("bea", bea, cha, false, true, "", "G4"),
			},
			// G4 gave a list instead of a pair: not "ready", though both names are everyone's.
			SamePair: false, Submitted: 3, Total: 4,
		},
		"caisse": {
			Binome: "caisse",
			Groups: []GroupPosition{
				pos("G1", true, false, false, ReasonSameActionGroup, "palice", "pamir"),
				pos("G2", true, true, true, "", "palice", "pbea"),
				pos("G3", false, true, false, "", "pbea"),
				pos("G4", false, true, false, ""),
			},
			Names: []MergedName{
				nm("alice", alice, bas, false, true, "", "G1", "G2"),
				nm("bea", bea, cha, false, true, "", "G2", "G3"),
				nm("amir", amir, bas, false, true, "", "G1"),
			},
			Submitted: 3, Total: 4,
		},
		"relations-exterieures": {
			Binome: "relations-exterieures",
			Groups: []GroupPosition{
				pos("G1", false, false, false, "", "pdan", "pbruno"),
				pos("G2", false, true, false, "", "peva"),
				pos("G3", true, true, true, "", "pbruno", "pchloe"),
				pos("G4", true, true, true, "", "pchloe", "pbruno"),
			},
			Names: []MergedName{
				nm("bruno", bruno, cha, false, true, "", "G1", "G3", "G4"),
				nm("chloe", chloe, cap, false, true, "", "G3", "G4"),
				nm("dan", "Dan Leroy", "GA Bacalan", false, false, ReasonCertifiedTooLate, "G1"),
				nm("eva", "Eva Costa", "GA Nansouty", false, false, ReasonNotCertified, "G2"),
			},
			Submitted: 3, Total: 4,
		},
		"luttes": {
			Binome: "luttes",
			Groups: []GroupPosition{
				pos("G1", false, false, false, "", "psam1"),
				pos("G2", false, true, false, "", "psam2"),
				pos("G3", false, true, false, "", "psam1", "psam2"),
				pos("G4", false, true, false, ""),
			},
			// Two people named Sam Martin stay two entries, told apart by their action group.
			Names: []MergedName{
				nm("sam1", "Sam Martin", bas, false, true, "", "G1", "G3"),
				nm("sam2", "Sam Martin", cap, false, true, "", "G2", "G3"),
			},
			Submitted: 3, Total: 4,
		},
		"groupes-action": {
			Binome: "groupes-action",
			Groups: []GroupPosition{pos("G1", false, false, false, ""), pos("G2", false, true, false, ""), pos("G3", false, true, false, ""), pos("G4", false, true, false, "")},
			Names:  []MergedName{}, Submitted: 3, Total: 4,
		},
	}
	for k, w := range want {
		assertMerge(t, m.s.Merge(k), w)
	}

	// G1 gives up its caisse pair (names instead) and submits: the
	// communication pair is now ready to confirm.
	m.no(CodeWrongStep, OpShortlistMode, fac, ShortlistMode{GroupID: "G1", Binome: "caisse", Consensus: false})
	m.step(StepV)
	m.ok(OpShortlistMode, fac, ShortlistMode{GroupID: "G1", Binome: "caisse", Consensus: false})
	m.ok(OpGroupSubmit, fac, GroupRef{GroupID: "G1", Submitted: true})
	m.step(StepVI)
	w := want["communication"]
	w.Groups[0].Submitted, w.Submitted, w.Ready = true, 4, true
	assertMerge(t, m.s.Merge("communication"), w)
	w = want["caisse"]
	w.Groups[0] = pos("G1", false, true, false, "", "palice", "pamir")
	w.Submitted = 4
	assertMerge(t, m.s.Merge("caisse"), w)

	// The facilitators record the outcomes.
	m.ok(OpDecisionSet, fac, DecisionSet{Decision{Binome: "communication", Outcome: OutcomeDesignated, Pair: []string{"pbruno", "palice"}}})
	m.no(CodeIneligible, OpDecisionSet, fac, DecisionSet{Decision{Binome: "caisse", Outcome: OutcomeDesignated, Pair: []string{"palice", "pamir"}}})
	m.no(CodeIneligible, OpDecisionSet, fac, DecisionSet{Decision{Binome: "relations-exterieures", Outcome: OutcomeDesignated, Pair: []string{"pbruno", "pdan"}}})
	m.ok(OpDecisionSet, fac, DecisionSet{Decision{Binome: "caisse", Outcome: OutcomeNoConsensus, Debated: []string{"palice", "pbea", "pamir"}}})
	m.ok(OpDecisionSet, fac, DecisionSet{Decision{Binome: "groupes-action", Outcome: OutcomeNoCandidate}})

	// The merge of an unknown binome is empty.
	if mg := m.s.Merge("nope"); mg.Total != 0 || len(mg.Names) != 0 {
		t.Fatalf("unknown binome merge %+v", mg)
	}
}

func assertMerge(t *testing.T, got, want Merge) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", " ")
		w, _ := json.MarshalIndent(want, "", " ")
		t.Fatalf("merge %s:\ngot  %s\nwant %s", want.Binome, g, w)
	}
}

func TestMergeEveryoneAndEmpty(t *testing.T) {
	m := newMeeting(t)
	// No group at all: nothing is "everyone's", no pair.
	mg := m.s.Merge("caisse")
	if mg.SamePair || mg.Total != 0 || len(mg.Groups) != 0 {
		t.Fatalf("empty merge %+v", mg)
	}
	// A profile whose member is gone still shows (with an empty name).
	mb := basic(t)
	addName(mb, "g1", "caisse", "pa1")
	delete(mb.s.Members, "a1")
	mg = mb.s.Merge("caisse")
	if len(mg.Names) != 1 || mg.Names[0].Name != "" || mg.Names[0].MemberID != "a1" || mg.Names[0].Eligible {
		t.Fatalf("dangling merge name %+v", mg.Names)
	}
	// A group lacking a binome's list (a hand-made state) counts as naming nobody.
	delete(mb.s.Groups["g2"].Lists, "caisse")
	if mg = mb.s.Merge("caisse"); len(mg.Groups) != 2 || len(mg.Groups[1].Names) != 0 {
		t.Fatalf("missing list %+v", mg.Groups)
	}
	if _, name, ag := mb.s.profileLabel("zz"); name != "" || ag != "" {
		t.Fatal("unknown profile has a label")
	}
}

func TestCollate(t *testing.T) {
	names := []string{"Bruno", "béa", "Béa", "Éloïse", "eloise", "Alice", "Zoé"}
	slices.SortFunc(names, collate)
	want := []string{"Alice", "Béa", "béa", "Bruno", "eloise", "Éloïse", "Zoé"}
	if !slices.Equal(names, want) {
		t.Fatalf("%v", names)
	}
}
