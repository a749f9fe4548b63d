package meeting

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// richMeeting is the worked example taken through step VI and VII: a
// rapporteur, a check with objections, decisions, departures, tokens.
func richMeeting(t testing.TB) *meetingT {
	m := workedExample(t)
	m.ok(OpRapporteurSet, fac, RapporteurSet{MemberID: "x20"})
	m.ok(OpTokenIssue, sys, TokenIssue{Hash: hashOf("tok-alice"), Role: RoleParticipant, MemberID: "alice"})
	m.ok(OpBilanSet, fac, BilanSet{Binome: "caisse", Text: "Comptes à jour."})
	m.ok(OpGroupRapporteur, fac, GroupRapporteur{GroupID: "G2", MemberID: "x09"})
	for _, g := range []string{"G2", "G3", "G4"} {
		m.ok(OpGroupSubmit, fac, GroupRef{GroupID: g, Submitted: true})
	}
	m.step(StepVI)
	m.ok(OpConsensusOpen, fac, ConsensusOpen{CheckID: "c1", Binome: "communication", Pair: [2]string{"palice", "pbruno"}})
	m.ok(OpConsensusAnswer, part("x10"), ConsensusAnswer{CheckID: "c1", Kind: AnswerSupport})
	m.ok(OpConsensusAnswer, part("x11"), ConsensusAnswer{CheckID: "c1", Kind: AnswerReservation, Argument: "peu de temps"})
	m.ok(OpConsensusAnswer, part("x12"), ConsensusAnswer{CheckID: "c1", Kind: AnswerObjection, Argument: "déjà élu·e ailleurs"})
	m.ok(OpConsensusAnswer, part("x13"), ConsensusAnswer{CheckID: "c1", Kind: AnswerObjection, Argument: "pas disponible en juillet"})
	m.ok(OpConsensusStanding, fac, ConsensusStanding{CheckID: "c1", MemberID: "x13", Standing: false})
	m.ok(OpConsensusClose, fac, ConsensusClose{CheckID: "c1"})
	m.ok(OpDecisionSet, fac, DecisionSet{Decision{Binome: "communication", Outcome: OutcomeDesignated, Pair: []string{"palice", "pbruno"}, CheckID: "c1"}})
	m.ok(OpDecisionSet, fac, DecisionSet{Decision{Binome: "caisse", Outcome: OutcomeNoConsensus, Debated: []string{"palice", "pbea"}, Note: "à trancher"}})
	m.ok(OpDecisionSet, fac, DecisionSet{Decision{Binome: "groupes-action", Outcome: OutcomeNoCandidate}})
	m.ok(OpMemberCheckOut, part("x29"), MemberRef{MemberID: "x29"})
	m.step(StepVII)
	return m
}

// secrets are what no redacted encoding may hold: every member's e-mail and
// phone, token hashes, objection authors' ids in answers.
func secrets(m *meetingT) []string {
	var out []string
	for _, mm := range m.s.Members {
		if mm.Email != "" {
			out = append(out, mm.Email)
		}
		if mm.Phone != "" {
			out = append(out, mm.Phone)
		}
	}
	for h := range m.s.Tokens {
		out = append(out, h)
	}
	return out
}

func TestRedactedViewsHoldNoContact(t *testing.T) {
	m := richMeeting(t)
	sec := secrets(m)
	if len(sec) < 60 {
		t.Fatalf("only %d planted secrets", len(sec))
	}
	scan := func(what string, data []byte) {
		t.Helper()
		for _, s := range sec {
			if bytes.Contains(data, []byte(s)) {
				t.Fatalf("%s holds %q", what, s)
			}
		}
		for _, field := range []string{`"email"`, `"phone"`, `"attendance"`, `"answers":{`, `"tokens"`, `"hash"`} {
			if bytes.Contains(data, []byte(field)) {
				t.Fatalf("%s has field %s", what, field)
			}
		}
	}
	snap, err := json.Marshal(m.s.View(Redacted))
	if err != nil {
		t.Fatal(err)
	}
	scan("redacted snapshot", snap)
	// Objection authors: the redacted check names nobody.
	checks, _ := json.Marshal(m.s.view(Redacted).Checks)
	if bytes.Contains(checks, []byte(`"x12"`)) || bytes.Contains(checks, []byte(`"x13"`)) || bytes.Contains(checks, []byte("Militant")) {
		t.Fatal("redacted snapshot names an objection's author")
	}
	// Replay the whole log and scan every change of every op.
	s := New("m1")
	for i, raw := range m.log {
		op, err := DecodeOp(raw)
		if err != nil {
			t.Fatal(err)
		}
		ch, _ := Apply(s, op)
		enc, err := json.Marshal(s.ChangesFor(ch, Redacted))
		if err != nil {
			t.Fatal(err)
		}
		scan("redacted changes of op "+op.Type, enc)
		_ = i
	}
	// The full view does carry them (facilitators need them), never tokens.
	full, _ := json.Marshal(m.s.View(Full))
	if !bytes.Contains(full, []byte(m.s.Members["alice"].Email)) || !bytes.Contains(full, []byte(`"x12"`)) {
		t.Fatal("full view lacks contacts or objection authors")
	}
	for h := range m.s.Tokens {
		if bytes.Contains(full, []byte(h)) {
			t.Fatal("full view holds a token hash")
		}
	}
	// The join code is public: the projector shows it.
	if !bytes.Contains(snap, []byte(m.s.JoinCode)) {
		t.Fatal("redacted view lacks the join code")
	}
}

func TestViewShape(t *testing.T) {
	m := richMeeting(t)
	v := m.s.view(Full)
	if v.Audience != "full" || v.Seq != m.s.Seq || v.Meeting.Step != StepVII || len(v.Merges) != 6 || len(v.Members) != 30 {
		t.Fatalf("view %+v", v.Meeting)
	}
	if v.Meeting.Present != 29 || v.Meeting.PresentRemote != 0 || v.Meeting.Members != 30 {
		t.Fatalf("counts %d/%d/%d", v.Meeting.Present, v.Meeting.PresentRemote, v.Meeting.Members)
	}
	if v.Members["dan"].Eligible || v.Members["dan"].Reason != ReasonCertifiedTooLate || !v.Members["alice"].Eligible {
		t.Fatal("member eligibility not in the view")
	}
	c := v.Checks["c1"]
	if c.Result.Support != 1 || c.Result.Objection != 2 || c.Result.Standing != 1 || len(c.Answers) != 4 {
		t.Fatalf("check %+v", c)
	}
	// Every change value is the same as the snapshot's value of that entity.
	ch := Changes{{KindMeeting, ""}, {KindActionGroup, "bastide"}, {KindMember, "alice"}, {KindProfile, "palice"},
		{KindGroup, "G1"}, {KindList, ListID("G1", "caisse")}, {KindBilan, "caisse"}, {KindCheck, "c1"}, {KindDecision, "caisse"}, {KindMerge, "caisse"}}
	for _, a := range []Audience{Full, Redacted} {
		snap, _ := json.Marshal(m.s.View(a))
		var byKind map[string]json.RawMessage
		json.Unmarshal(snap, &byKind)
		for _, c := range m.s.ChangesFor(ch, a) {
			got, _ := json.Marshal(c.Value)
			if c.Value == nil {
				t.Fatalf("%v %s/%s is nil", a, c.Kind, c.ID)
			}
			var want []byte
			switch c.Kind {
			case KindMeeting:
				want = byKind["meeting"]
			case KindList: // a list of a group: the group's "lists" holds it
				var groups map[string]struct {
					Lists map[string]json.RawMessage `json:"lists"`
				}
				json.Unmarshal(byKind["groups"], &groups)
				g, b, _ := SplitListID(c.ID)
				want = groups[g].Lists[b]
			default:
				var coll map[string]json.RawMessage
				key := map[string]string{KindActionGroup: "actionGroups", KindMember: "members", KindProfile: "profiles", KindGroup: "groups",
					KindBilan: "bilans", KindCheck: "checks", KindDecision: "decisions", KindMerge: "merges"}[c.Kind]
				json.Unmarshal(byKind[key], &coll)
				want = coll[c.ID]
			}
			if !jsonEqual(t, got, want) {
				t.Fatalf("%v %s/%s: change %s, snapshot %s", a, c.Kind, c.ID, got, want)
			}
		}
	}
	// Removed or unknown entities are null.
	gone := Changes{{KindActionGroup, "x"}, {KindMember, "x"}, {KindProfile, "x"}, {KindGroup, "x"}, {KindBilan, "x"},
		{KindCheck, "x"}, {KindDecision, "x"}, {KindMerge, "x"}, {"nonsense", "x"},
		{KindList, "x"}, {KindList, ListID("x", "caisse")}, {KindList, ListID("G1", "x")}, {KindList, "G1/"}, {KindList, "/caisse"}}
	for _, c := range m.s.ChangesFor(gone, Full) {
		if c.Value != nil {
			t.Fatalf("%s/%s: %v", c.Kind, c.ID, c.Value)
		}
	}
	// The date warning.
	if v.Meeting.DateOutsideWindow {
		t.Fatal("2026-06-27 is inside the window")
	}
	m.ok(OpMeetingUpdate, fac, MeetingUpdate{Info{Date: "2026-07-06"}})
	if !m.s.meetingView().DateOutsideWindow {
		t.Fatal("2026-07-06 is outside the window")
	}
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	m := richMeeting(t)
	enc := m.s.Encode()
	s2, err := Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(s2.Encode(), enc) {
		t.Fatal("Decode(Encode) differs")
	}
	if _, err := Decode([]byte("{")); err == nil {
		t.Fatal("bad snapshot accepted")
	}
	// Nil maps in a snapshot come back empty, and the state stays usable.
	s3, err := Decode([]byte(`{"id":"m9","created":true,"template":{"binomes":[{"key":"k","title":"K"}],"groupSizeMax":10,"namesMaxNoConsen":4,"pairSize":2},"step":"V"}`))
	if err != nil {
		t.Fatal(err)
	}
	if s3.Members == nil || s3.Tokens == nil || s3.Groups == nil || s3.Facilitators == nil || s3.Checks == nil ||
		s3.Decisions == nil || s3.Bilans == nil || s3.Profiles == nil || s3.ActionGroups == nil {
		t.Fatal("nil map after Decode")
	}
	if _, err := Apply(s3, &Op{ID: "o1", Seq: 1, Type: OpGroupAdd, Actor: fac, Payload: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	s4, err := Decode([]byte(`{"checks":{"c1":{"id":"c1","answers":null}}}`))
	if err != nil || s4.Checks["c1"].Answers == nil {
		t.Fatalf("check answers not made: %v", err)
	}
}

func TestMessages(t *testing.T) {
	codes := []Code{CodeInvalid, CodeUnknownOp, CodeNotAllowed, CodeNotFound, CodeConflict, CodeWrongStep, CodeGroupFull,
		CodeListFull, CodeIneligible, CodeArgumentMissing, CodeClosed, CodePurged, CodeNotCreated, "other"}
	seen := map[string]bool{}
	for _, c := range codes {
		e := &Error{Code: c}
		fr, en := e.MessageFor("fr"), e.MessageFor("en")
		if fr == "" || en == "" || fr == en {
			t.Fatalf("%s: %q / %q", c, fr, en)
		}
		if e.MessageFor("") != fr || e.MessageFor("de") != fr {
			t.Fatal("French is not the default")
		}
		if seen[fr] && c != "other" {
			t.Fatalf("%s shares its message", c)
		}
		seen[fr] = true
	}
	for _, d := range []string{ReasonNotCertified, ReasonCertifiedTooLate, ReasonSameActionGroup, ReasonSamePerson, ReasonNoActionGroup,
		detailSubmitted, detailNotPresent, detailNotInGroup} {
		e := &Error{Code: CodeIneligible, Detail: d}
		if e.MessageFor("fr") == codeMessageFR(CodeIneligible) || e.MessageFor("en") == "" {
			t.Fatalf("%s has no own message", d)
		}
	}
	var nilErr *Error
	if nilErr.MessageFor("fr") != "" {
		t.Fatal("nil error has a message")
	}
	e := &Error{Code: CodeInvalid, Field: "payload.x", Detail: "bad"}
	if e.Error() != "invalid: payload.x: bad" || (&Error{Code: CodeInvalid, Detail: "bad"}).Error() != "invalid: bad" {
		t.Fatal(e.Error())
	}
	if !strings.Contains((&Error{Code: CodeGroupFull}).MessageFor("fr"), "complet") {
		t.Fatal("group_full message")
	}
}

func codeMessageFR(c Code) string { fr, _ := codeMessage(c); return fr }

// TestLensOf: facilitators, the meeting's rapporteur and the projector
// follow every group's lists; a participant only its own group's (none
// before the groups are made), whatever its role name.
func TestLensOf(t *testing.T) {
	m := richMeeting(t)
	x09 := m.s.Members["x09"].GroupID
	if x09 == "" {
		t.Fatal("x09 is in no group")
	}
	for _, tc := range []struct {
		name  string
		actor Actor
		want  Lens
	}{
		{"facilitator", fac, Lens{Audience: Full}},
		{"projector", Actor{Role: RoleProjector}, Lens{Audience: Redacted}},
		{"meeting rapporteur", Actor{Role: RoleRapporteur, MemberID: "x20"}, Lens{Audience: Full}},
		{"participant", part("x09"), Lens{Audience: Redacted, OwnGroupOnly: true, Group: x09}},
		{"former rapporteur", Actor{Role: RoleRapporteur, MemberID: "x09"}, Lens{Audience: Redacted, OwnGroupOnly: true, Group: x09}},
		{"unknown member", part("nobody"), Lens{Audience: Redacted, OwnGroupOnly: true}},
	} {
		if got := m.s.LensOf(tc.actor); got != tc.want {
			t.Errorf("%s: lens %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

// TestViewForLeavesOtherGroupsListsOut: a participant's view is the
// redacted view where every other group is its outline (no lists), and the
// state is not changed by making it.
func TestViewForLeavesOtherGroupsListsOut(t *testing.T) {
	m := richMeeting(t)
	before := m.s.Encode()
	g := m.s.Members["x09"].GroupID
	var v StateView
	if err := json.Unmarshal(mustMarshal(t, m.s.ViewFor(m.s.LensOf(part("x09")))), &v); err != nil {
		t.Fatal(err)
	}
	var redacted StateView
	if err := json.Unmarshal(mustMarshal(t, m.s.ViewFor(Lens{Audience: Redacted})), &redacted); err != nil {
		t.Fatal(err)
	}
	if len(v.Groups) != len(m.s.Groups) || len(v.Groups) < 2 {
		t.Fatalf("%d groups in the view, %d in the state", len(v.Groups), len(m.s.Groups))
	}
	for id, vg := range v.Groups {
		rg := redacted.Groups[id]
		if id == g {
			if len(vg.Lists) == 0 || !jsonEqual(t, mustMarshal(t, vg), mustMarshal(t, rg)) {
				t.Errorf("own group %s differs from the projector's", id)
			}
			continue
		}
		if vg.Lists != nil {
			t.Errorf("group %s: the participant of %s is shown its lists", id, g)
		}
		rg.Lists = nil
		if !jsonEqual(t, mustMarshal(t, vg), mustMarshal(t, rg)) || !jsonEqual(t, mustMarshal(t, vg), mustMarshal(t, m.s.Outline(id))) {
			t.Errorf("group %s: outline %s, want the group without its lists", id, mustMarshal(t, vg))
		}
	}
	v.Groups, redacted.Groups = nil, nil
	if !jsonEqual(t, mustMarshal(t, v), mustMarshal(t, redacted)) {
		t.Error("apart from the groups, a participant's view differs from the redacted view")
	}
	if m.s.Outline("no-such-group") != nil {
		t.Error("the outline of a missing group is not nil")
	}
	if !bytes.Equal(before, m.s.Encode()) {
		t.Error("making a view changed the state")
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
