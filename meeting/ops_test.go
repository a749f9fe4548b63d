package meeting

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// opCase is one op against a prepared meeting, and what must come of it.
type opCase struct {
	name    string
	setup   func(m *meetingT) // run on basic() before the op (may be nil)
	typ     string
	actor   Actor
	payload any
	want    Code                            // "" = applied
	after   func(t *testing.T, m *meetingT) // checks on the state (may be nil)
}

func runCases(t *testing.T, cases []opCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := basic(t)
			if c.setup != nil {
				c.setup(m)
			}
			if c.want == "" {
				m.ok(c.typ, c.actor, c.payload)
			} else {
				err := m.no(c.want, c.typ, c.actor, c.payload)
				if err.MessageFor("fr") == "" || err.MessageFor("en") == "" || err.Error() == "" {
					t.Fatalf("refusal without a message: %#v", err)
				}
			}
			if c.after != nil {
				c.after(t, m)
			}
		})
	}
}

func TestMeetingAndAgendaOps(t *testing.T) {
	future := t0.Add(time.Hour)
	past := t0.Add(-time.Hour)
	runCases(t, []opCase{
		{name: "create twice", typ: OpMeetingCreate, actor: sys, payload: MeetingCreate{JoinCode: "ABCDEF", FacilitatorToken: hashOf("x"), ProjectorToken: hashOf("y")}, want: CodeConflict},
		{name: "update info", typ: OpMeetingUpdate, actor: fac, payload: MeetingUpdate{Info{Title: "  Boucle  ", Date: "2026-06-30", StartTime: "19:00", VideoURL: "https://visio.example.org/abc", Lang: "en"}},
			after: func(t *testing.T, m *meetingT) {
				if m.s.Info.Title != "Boucle" || m.s.Info.Lang != "en" {
					t.Fatalf("info not trimmed/stored: %+v", m.s.Info)
				}
			}},
		{name: "update by participant", typ: OpMeetingUpdate, actor: part("a1"), payload: MeetingUpdate{}, want: CodeNotAllowed},
		{name: "projector never writes", typ: OpMeetingUpdate, actor: scr, payload: MeetingUpdate{}, want: CodeNotAllowed},
		{name: "unknown role", typ: OpParitySet, actor: Actor{Role: "king"}, payload: ParitySet{}, want: CodeNotAllowed},
		{name: "facilitator with member id", typ: OpParitySet, actor: Actor{Role: RoleFacilitator, MemberID: "a1"}, payload: ParitySet{}, want: CodeInvalid},
		{name: "participant unknown member", typ: OpConsensusAnswer, actor: part("zz"), payload: ConsensusAnswer{}, want: CodeNotAllowed},
		{name: "video link not https", typ: OpMeetingUpdate, actor: fac, payload: MeetingUpdate{Info{VideoURL: "http://visio.example.org"}}, want: CodeInvalid},
		{name: "video link javascript", typ: OpMeetingUpdate, actor: fac, payload: MeetingUpdate{Info{VideoURL: "javascript:alert(1)"}}, want: CodeInvalid},
		{name: "video link with space", typ: OpMeetingUpdate, actor: fac, payload: MeetingUpdate{Info{VideoURL: "https://a b"}}, want: CodeInvalid},
		{name: "bad date", typ: OpMeetingUpdate, actor: fac, payload: MeetingUpdate{Info{Date: "2026-02-30"}}, want: CodeInvalid},
		{name: "bad time", typ: OpMeetingUpdate, actor: fac, payload: MeetingUpdate{Info{StartTime: "25:00"}}, want: CodeInvalid},
		{name: "bad lang", typ: OpMeetingUpdate, actor: fac, payload: MeetingUpdate{Info{Lang: "de"}}, want: CodeInvalid},
		{name: "title with control char", typ: OpMeetingUpdate, actor: fac, payload: MeetingUpdate{Info{Title: "a\u0007b"}}, want: CodeInvalid},
		{name: "title with newline", typ: OpMeetingUpdate, actor: fac, payload: MeetingUpdate{Info{Title: "a\nb"}}, want: CodeInvalid},
		{name: "title too long", typ: OpMeetingUpdate, actor: fac, payload: MeetingUpdate{Info{Title: strings.Repeat("é", 121)}}, want: CodeInvalid},
		{name: "title of 120 runes", typ: OpMeetingUpdate, actor: fac, payload: MeetingUpdate{Info{Title: strings.Repeat("é", 120)}}},
		{name: "place too long", typ: OpMeetingUpdate, actor: fac, payload: MeetingUpdate{Info{Place: strings.Repeat("x", 121)}}, want: CodeInvalid},
		{name: "department bad", typ: OpMeetingUpdate, actor: fac, payload: MeetingUpdate{Info{Department: "\x00"}}, want: CodeInvalid},
		{name: "parity", typ: OpParitySet, actor: fac, payload: ParitySet{Confirmed: true},
			after: func(t *testing.T, m *meetingT) {
				if !m.s.Parity {
					t.Fatal("parity not set")
				}
			}},
		{name: "parity by participant", typ: OpParitySet, actor: part("a1"), payload: ParitySet{Confirmed: true}, want: CodeNotAllowed},
		{name: "facilitators", typ: OpFacilitatorsSet, actor: fac, payload: FacilitatorsSet{Names: []string{" Léa ", "Yanis"}},
			after: func(t *testing.T, m *meetingT) {
				if !slices.Equal(m.s.Facilitators, []string{"Léa", "Yanis"}) {
					t.Fatalf("facilitators %v", m.s.Facilitators)
				}
			}},
		{name: "three facilitators", typ: OpFacilitatorsSet, actor: fac, payload: FacilitatorsSet{Names: []string{"a", "b", "c"}}, want: CodeInvalid},
		{name: "blank facilitator", typ: OpFacilitatorsSet, actor: fac, payload: FacilitatorsSet{Names: []string{" "}}, want: CodeInvalid},
		{name: "facilitators by participant", typ: OpFacilitatorsSet, actor: part("a1"), payload: FacilitatorsSet{}, want: CodeNotAllowed},
		{name: "rapporteur", typ: OpRapporteurSet, actor: fac, payload: RapporteurSet{MemberID: "a3"},
			after: func(t *testing.T, m *meetingT) {
				if m.s.Rapporteur != "a3" {
					t.Fatal("rapporteur not set")
				}
			}},
		{name: "rapporteur unknown", typ: OpRapporteurSet, actor: fac, payload: RapporteurSet{MemberID: "zz"}, want: CodeNotFound},
		{name: "rapporteur bad id", typ: OpRapporteurSet, actor: fac, payload: RapporteurSet{MemberID: "a b"}, want: CodeInvalid},
		{name: "rapporteur by participant", typ: OpRapporteurSet, actor: part("a1"), payload: RapporteurSet{}, want: CodeNotAllowed},
		{name: "step back with timer", typ: OpStepSet, actor: fac, payload: StepSet{Step: StepII, TimerEnd: &future},
			after: func(t *testing.T, m *meetingT) {
				if m.s.Step != StepII || m.s.TimerEnd == nil || !m.s.TimerEnd.Equal(future) {
					t.Fatalf("step %s timer %v", m.s.Step, m.s.TimerEnd)
				}
			}},
		{name: "step unknown", typ: OpStepSet, actor: fac, payload: StepSet{Step: "VIII"}, want: CodeInvalid},
		{name: "step timer in the past", typ: OpStepSet, actor: fac, payload: StepSet{Step: StepVI, TimerEnd: &past}, want: CodeInvalid},
		{name: "step by participant", typ: OpStepSet, actor: part("a1"), payload: StepSet{Step: StepVI}, want: CodeNotAllowed},
		{name: "timer", typ: OpTimerSet, actor: fac, payload: TimerSet{TimerEnd: &future}},
		{name: "timer stop", typ: OpTimerSet, actor: fac, payload: TimerSet{}},
		{name: "timer too long", typ: OpTimerSet, actor: fac, payload: TimerSet{TimerEnd: ptr(t0.Add(48 * time.Hour))}, want: CodeInvalid},
		{name: "timer by participant", typ: OpTimerSet, actor: part("a1"), payload: TimerSet{}, want: CodeNotAllowed},
		{name: "template after before", typ: OpTemplateLoad, actor: fac, payload: TemplateLoad{Default2026()}, want: CodeWrongStep},
		{name: "template in use", setup: func(m *meetingT) { m.step(StepBefore) }, typ: OpTemplateLoad, actor: fac, payload: TemplateLoad{Default2026()}, want: CodeConflict},
		{name: "template by participant", typ: OpTemplateLoad, actor: part("a1"), payload: TemplateLoad{}, want: CodeNotAllowed},
		{name: "unknown op", typ: "meeting.explode", actor: fac, payload: nil, want: CodeUnknownOp},
		{name: "payload unknown field", typ: OpParitySet, actor: fac, payload: `{"confirmed":true,"x":1}`, want: CodeInvalid},
		{name: "payload wrong type", typ: OpParitySet, actor: fac, payload: `{"confirmed":"yes"}`, want: CodeInvalid},
		{name: "payload trailing data", typ: OpParitySet, actor: fac, payload: `{"confirmed":true} {}`, want: CodeInvalid},
		{name: "payload invalid utf8", typ: OpFacilitatorsSet, actor: fac, payload: []byte("{\"names\":[\"\xff\"]}"), want: CodeInvalid},
	})
}

func ptr[T any](v T) *T { return &v }

func TestTemplateLoadBeforeAnything(t *testing.T) {
	m := newMeeting(t)
	tpl := Default2026()
	tpl.ID = "other-org"
	tpl.Binomes = tpl.Binomes[:2]
	tpl.GroupSizeMax = 6
	ch := m.ok(OpTemplateLoad, fac, TemplateLoad{tpl})
	if m.s.Template.ID != "other-org" || len(m.s.Template.Binomes) != 2 {
		t.Fatalf("template not loaded: %+v", m.s.Template)
	}
	// The merges of the binomes that disappeared are sent (as null).
	vals := m.s.ChangesFor(ch, Full)
	var nulls int
	for _, v := range vals {
		if v.Kind == KindMerge && v.Value == nil {
			nulls++
		}
	}
	if nulls != 4 {
		t.Fatalf("want 4 removed merges, got %d in %v", nulls, ch)
	}
	bad := tpl
	bad.Binomes = append(slices.Clone(tpl.Binomes), tpl.Binomes[0])
	m.no(CodeInvalid, OpTemplateLoad, fac, TemplateLoad{bad})
}

func TestTemplateValidation(t *testing.T) {
	good := Default2026()
	if err := cleanTemplate(&good, ""); err != nil {
		t.Fatalf("Default2026 invalid: %v", err)
	}
	if len(good.Binomes) != 6 || good.CertifiedBefore != "2026-04-12" || good.GroupSizeMax != 10 || good.NamesMaxNoConsen != 4 {
		t.Fatalf("Default2026 rules: %+v", good)
	}
	keys := []string{}
	for _, b := range good.Binomes {
		keys = append(keys, b.Key)
		if b.Mission == "" || b.MissionEN == "" || b.TitleEN == "" {
			t.Fatalf("binome %s lacks a text", b.Key)
		}
	}
	if !slices.Equal(keys, []string{"communication", "materiel", "caisse", "relations-exterieures", "luttes", "groupes-action"}) {
		t.Fatalf("keys %v", keys)
	}
	mutate := []struct {
		name string
		f    func(t *Template)
	}{
		{"no id", func(t *Template) { t.ID = "" }},
		{"no title", func(t *Template) { t.Title = "" }},
		{"bad cutoff", func(t *Template) { t.CertifiedBefore = "12/04/2026" }},
		{"bad window start", func(t *Template) { t.WindowStart = "x" }},
		{"bad window end", func(t *Template) { t.WindowEnd = "x" }},
		{"window reversed", func(t *Template) { t.WindowStart, t.WindowEnd = t.WindowEnd, t.WindowStart }},
		{"half window", func(t *Template) { t.WindowEnd = "" }},
		{"group cap 1", func(t *Template) { t.GroupSizeMax = 1 }},
		{"pair of 3", func(t *Template) { t.PairSize = 3 }},
		{"names max 1", func(t *Template) { t.NamesMaxNoConsen = 1 }},
		{"no binome", func(t *Template) { t.Binomes = nil }},
		{"bad key", func(t *Template) { t.Binomes[0].Key = "a b" }},
		{"no binome title", func(t *Template) { t.Binomes[1].Title = "" }},
		{"mission control char", func(t *Template) { t.Binomes[1].Mission = "\x01" }},
		{"title en too long", func(t *Template) { t.Binomes[1].TitleEN = strings.Repeat("x", 200) }},
		{"mission en control char", func(t *Template) { t.Binomes[1].MissionEN = "\x01" }},
	}
	for _, c := range mutate {
		tpl := Default2026()
		c.f(&tpl)
		if err := cleanTemplate(&tpl, ""); err == nil || err.Code != CodeInvalid {
			t.Errorf("%s: got %v, want invalid", c.name, err)
		}
	}
	// ParseTemplate: JSON round trip, unknown fields and bad JSON refused,
	// pairSize defaults to 2.
	raw := `{"id":"x","title":"X","certifiedBefore":"2026-04-12","groupSizeMax":8,"namesMaxNoConsen":3,
	  "binomes":[{"key":"k","title":"K","mission":"M"}]}`
	tpl, err := ParseTemplate([]byte(raw))
	if err != nil || tpl.PairSize != 2 || tpl.Binomes[0].Key != "k" {
		t.Fatalf("ParseTemplate: %+v, %v", tpl, err)
	}
	if _, err := ParseTemplate([]byte(`{"id":"x","extra":1}`)); err == nil {
		t.Fatal("unknown field accepted")
	}
	if _, err := ParseTemplate([]byte(`{"id":"x"}`)); err == nil {
		t.Fatal("incomplete template accepted")
	}
}

func TestMemberOps(t *testing.T) {
	runCases(t, []opCase{
		{name: "add", typ: OpMemberAdd, actor: fac, payload: MemberAdd{Member{ID: "c1", Name: " Chloé ", ActionGroupID: "ga1", Email: "c@x.fr", Phone: "+33 6 12 34 56 78"}},
			after: func(t *testing.T, m *meetingT) {
				if c := m.s.Members["c1"]; c == nil || c.Name != "Chloé" || c.Present {
					t.Fatalf("member %+v", c)
				}
			}},
		{name: "add derives id", typ: OpMemberAdd, actor: fac, payload: MemberAdd{Member{Name: "Sans Id"}},
			after: func(t *testing.T, m *meetingT) {
				if m.s.sameMember("Sans Id", "") == nil {
					t.Fatal("member without id not added")
				}
			}},
		{name: "add duplicate id", typ: OpMemberAdd, actor: fac, payload: MemberAdd{Member{ID: "a1", Name: "X"}}, want: CodeConflict},
		{name: "add same name same group", typ: OpMemberAdd, actor: fac, payload: MemberAdd{Member{Name: "membre A1", ActionGroupID: "ga1"}}, want: CodeConflict},
		{name: "add same name other group", typ: OpMemberAdd, actor: fac, payload: MemberAdd{Member{Name: "Membre a1", ActionGroupID: "ga2"}}},
		{name: "add unknown action group", typ: OpMemberAdd, actor: fac, payload: MemberAdd{Member{Name: "X", ActionGroupID: "ga9"}}, want: CodeNotFound},
		{name: "add blank name", typ: OpMemberAdd, actor: fac, payload: MemberAdd{Member{Name: "  "}}, want: CodeInvalid},
		{name: "add bad email", typ: OpMemberAdd, actor: fac, payload: MemberAdd{Member{Name: "X", Email: "not-an-email"}}, want: CodeInvalid},
		{name: "add email with space", typ: OpMemberAdd, actor: fac, payload: MemberAdd{Member{Name: "X", Email: "a b@c.fr"}}, want: CodeInvalid},
		{name: "add bad phone", typ: OpMemberAdd, actor: fac, payload: MemberAdd{Member{Name: "X", Phone: "call me"}}, want: CodeInvalid},
		{name: "add short phone", typ: OpMemberAdd, actor: fac, payload: MemberAdd{Member{Name: "X", Phone: "12"}}, want: CodeInvalid},
		{name: "add long phone", typ: OpMemberAdd, actor: fac, payload: MemberAdd{Member{Name: "X", Phone: strings.Repeat("1", 40)}}, want: CodeInvalid},
		{name: "add with presence", typ: OpMemberAdd, actor: fac, payload: MemberAdd{Member{Name: "X", Present: true}}, want: CodeInvalid},
		{name: "add bad id", typ: OpMemberAdd, actor: fac, payload: MemberAdd{Member{ID: "é", Name: "X"}}, want: CodeInvalid},
		{name: "add long id", typ: OpMemberAdd, actor: fac, payload: MemberAdd{Member{ID: strings.Repeat("a", 65), Name: "X"}}, want: CodeInvalid},
		{name: "add by participant", typ: OpMemberAdd, actor: part("a1"), payload: MemberAdd{Member{Name: "X"}}, want: CodeNotAllowed},
		{name: "update", typ: OpMemberUpdate, actor: fac, payload: MemberAdd{Member{ID: "a3", Name: "Alice", ActionGroupID: "ga2", Email: "alice@x.fr"}},
			after: func(t *testing.T, m *meetingT) {
				a := m.s.Members["a3"]
				if a.Name != "Alice" || a.ActionGroupID != "ga2" || !a.Present {
					t.Fatalf("member %+v", a)
				}
			}},
		{name: "update unknown", typ: OpMemberUpdate, actor: fac, payload: MemberAdd{Member{ID: "zz", Name: "X"}}, want: CodeNotFound},
		{name: "update without id", typ: OpMemberUpdate, actor: fac, payload: MemberAdd{Member{Name: "X"}}, want: CodeInvalid},
		{name: "update into homonym", typ: OpMemberUpdate, actor: fac, payload: MemberAdd{Member{ID: "a3", Name: "Membre a2", ActionGroupID: "ga1"}}, want: CodeConflict},
		{name: "update by participant", typ: OpMemberUpdate, actor: part("a1"), payload: MemberAdd{Member{ID: "a1", Name: "X"}}, want: CodeNotAllowed},
		{name: "remove", setup: func(m *meetingT) { m.member("x1", "X", "ga1") }, typ: OpMemberRemove, actor: fac, payload: MemberRef{MemberID: "x1"},
			after: func(t *testing.T, m *meetingT) {
				if m.s.Members["x1"] != nil {
					t.Fatal("not removed")
				}
			}},
		{name: "remove member with profile", typ: OpMemberRemove, actor: fac, payload: MemberRef{MemberID: "a1"}, want: CodeConflict},
		{name: "remove rapporteur", setup: func(m *meetingT) { m.ok(OpRapporteurSet, fac, RapporteurSet{MemberID: "b2"}) }, typ: OpMemberRemove, actor: fac, payload: MemberRef{MemberID: "b2"}, want: CodeConflict},
		{name: "remove group rapporteur", setup: func(m *meetingT) { m.ok(OpGroupRapporteur, fac, GroupRapporteur{GroupID: "g2", MemberID: "b2"}) }, typ: OpMemberRemove, actor: fac, payload: MemberRef{MemberID: "b2"}, want: CodeConflict},
		{name: "remove unknown", typ: OpMemberRemove, actor: fac, payload: MemberRef{MemberID: "zz"}, want: CodeNotFound},
		{name: "remove blank", typ: OpMemberRemove, actor: fac, payload: MemberRef{}, want: CodeInvalid},
		{name: "remove by participant", typ: OpMemberRemove, actor: part("a1"), payload: MemberRef{MemberID: "b2"}, want: CodeNotAllowed},
		{name: "remove revokes tokens", setup: func(m *meetingT) {
			m.member("x1", "X", "ga1")
			m.ok(OpTokenIssue, sys, TokenIssue{Hash: hashOf("x1"), Role: RoleParticipant, MemberID: "x1"})
		}, typ: OpMemberRemove, actor: fac, payload: MemberRef{MemberID: "x1"},
			after: func(t *testing.T, m *meetingT) {
				if _, ok := m.s.Authenticate(hashOf("x1")); ok {
					t.Fatal("removed member's token still opens")
				}
			}},
		{name: "checkin by facilitator remote", setup: func(m *meetingT) { m.member("x1", "X", "ga1") }, typ: OpMemberCheckIn, actor: fac, payload: MemberCheckIn{MemberID: "x1", Remote: true},
			after: func(t *testing.T, m *meetingT) {
				x := m.s.Members["x1"]
				if !x.Present || !x.Remote || len(x.Attendance) != 1 || !x.Attendance[0].In.Equal(t0.Add(time.Duration(m.seq)*time.Second)) {
					t.Fatalf("checkin %+v", x)
				}
			}},
		{name: "checkin twice keeps one stay", typ: OpMemberCheckIn, actor: sys, payload: MemberCheckIn{MemberID: "a1"},
			after: func(t *testing.T, m *meetingT) {
				if n := len(m.s.Members["a1"].Attendance); n != 1 {
					t.Fatalf("%d stays", n)
				}
			}},
		{name: "checkin again remote switches", typ: OpMemberCheckIn, actor: sys, payload: MemberCheckIn{MemberID: "a1", Remote: true},
			after: func(t *testing.T, m *meetingT) {
				if !m.s.Members["a1"].Remote || len(m.s.Members["a1"].Attendance) != 1 {
					t.Fatal("remote flag not switched")
				}
			}},
		{name: "checkin by participant", typ: OpMemberCheckIn, actor: part("a1"), payload: MemberCheckIn{MemberID: "a1"}, want: CodeNotAllowed},
		{name: "checkin unknown", typ: OpMemberCheckIn, actor: sys, payload: MemberCheckIn{MemberID: "zz"}, want: CodeNotFound},
		{name: "checkin blank", typ: OpMemberCheckIn, actor: sys, payload: MemberCheckIn{}, want: CodeInvalid},
		{name: "checkout self", typ: OpMemberCheckOut, actor: part("a1"), payload: MemberRef{MemberID: "a1"},
			after: func(t *testing.T, m *meetingT) {
				a := m.s.Members["a1"]
				if a.Present || a.Attendance[0].Out == nil {
					t.Fatalf("checkout %+v", a)
				}
				// "Was present" is kept; coming back opens a new stay.
				m.checkin("a1", false)
				if len(a.Attendance) != 2 || a.Attendance[1].Out != nil {
					t.Fatalf("second stay %+v", a.Attendance)
				}
			}},
		{name: "checkout other", typ: OpMemberCheckOut, actor: part("a1"), payload: MemberRef{MemberID: "b1"}, want: CodeNotAllowed},
		{name: "checkout by facilitator", typ: OpMemberCheckOut, actor: fac, payload: MemberRef{MemberID: "b1"}},
		{name: "checkout absent", setup: func(m *meetingT) { m.ok(OpMemberCheckOut, fac, MemberRef{MemberID: "b1"}) }, typ: OpMemberCheckOut, actor: fac, payload: MemberRef{MemberID: "b1"}, want: CodeConflict},
		{name: "checkout unknown", typ: OpMemberCheckOut, actor: fac, payload: MemberRef{MemberID: "zz"}, want: CodeNotFound},
		{name: "checkout blank", typ: OpMemberCheckOut, actor: fac, payload: MemberRef{}, want: CodeInvalid},
		{name: "action group upsert changes eligibility", typ: OpActionGroupUpsert, actor: fac, payload: ActionGroupUpsert{ActionGroup{ID: "late", Name: "GA Tardif", CertifiedOn: "2026-04-01"}},
			after: func(t *testing.T, m *meetingT) {
				if ok, _ := m.s.MemberEligibility("l1"); !ok {
					t.Fatal("l1 still ineligible")
				}
			}},
		{name: "action group bad date", typ: OpActionGroupUpsert, actor: fac, payload: ActionGroupUpsert{ActionGroup{ID: "x", Name: "X", CertifiedOn: "2026-13-01"}}, want: CodeInvalid},
		{name: "action group no name", typ: OpActionGroupUpsert, actor: fac, payload: ActionGroupUpsert{ActionGroup{ID: "x"}}, want: CodeInvalid},
		{name: "action group no id", typ: OpActionGroupUpsert, actor: fac, payload: ActionGroupUpsert{ActionGroup{Name: "X"}}, want: CodeInvalid},
		{name: "action group by participant", typ: OpActionGroupUpsert, actor: part("a1"), payload: ActionGroupUpsert{ActionGroup{ID: "x", Name: "X"}}, want: CodeNotAllowed},
	})
}

func TestMembersImport(t *testing.T) {
	good := MembersImport{
		ActionGroups: []ActionGroup{{ID: "ga3", Name: "GA Saint-Michel", CertifiedOn: "2024-01-15"}},
		Members: []Member{
			{Name: "Nadia", ActionGroupID: "ga3", Email: "nadia@x.fr"},
			{Name: "membre A1", ActionGroupID: "ga1", Phone: "0611111111"}, // existing: contact update
			{ID: "imp-3", Name: "Hugo", ActionGroupID: "ga2"},
		},
	}
	runCases(t, []opCase{
		{name: "import", typ: OpMembersImport, actor: fac, payload: good,
			after: func(t *testing.T, m *meetingT) {
				if m.s.ActionGroups["ga3"] == nil || m.s.Members["imp-3"] == nil {
					t.Fatal("import incomplete")
				}
				n := m.s.sameMember("Nadia", "ga3")
				if n == nil || n.Email != "nadia@x.fr" || !strings.HasPrefix(n.ID, "m") {
					t.Fatalf("Nadia %+v", n)
				}
				a1 := m.s.Members["a1"]
				if a1.Phone != "0611111111" || a1.Email != "a1@example.org" || a1.Name != "Membre a1" {
					t.Fatalf("a1 not updated in place: %+v", a1)
				}
			}},
		{name: "import empty", typ: OpMembersImport, actor: fac, payload: MembersImport{}, want: CodeInvalid},
		{name: "import by participant", typ: OpMembersImport, actor: part("a1"), payload: good, want: CodeNotAllowed},
		{name: "import bad line refuses all", typ: OpMembersImport, actor: fac, payload: MembersImport{
			ActionGroups: []ActionGroup{{ID: "ga4", Name: "GA 4"}},
			Members:      []Member{{Name: "Ok", ActionGroupID: "ga4"}, {Name: "Bad", Email: "bad"}}}, want: CodeInvalid,
			after: func(t *testing.T, m *meetingT) {
				if m.s.ActionGroups["ga4"] != nil || m.s.sameMember("Ok", "ga4") != nil {
					t.Fatal("partial import")
				}
			}},
		{name: "import duplicate line", typ: OpMembersImport, actor: fac, payload: MembersImport{Members: []Member{{Name: "X"}, {Name: "x"}}}, want: CodeInvalid},
		{name: "import duplicate id", typ: OpMembersImport, actor: fac, payload: MembersImport{Members: []Member{{ID: "q", Name: "X"}, {ID: "q", Name: "Y"}}}, want: CodeInvalid},
		{name: "import id in another action group", typ: OpMembersImport, actor: fac, payload: MembersImport{Members: []Member{{ID: "a1", Name: "Y", ActionGroupID: "ga2"}}}, want: CodeConflict},
		{name: "import existing id with another spelling", typ: OpMembersImport, actor: fac, payload: MembersImport{Members: []Member{{ID: "a1", Name: "Membré A1", ActionGroupID: "ga1", Email: "new@x.fr"}}},
			after: func(t *testing.T, m *meetingT) {
				if a := m.s.Members["a1"]; a.Email != "new@x.fr" || a.Name != "Membre a1" || len(m.s.Members) != 8 {
					t.Fatalf("a1 %+v", a)
				}
			}},
		{name: "import duplicate action group", typ: OpMembersImport, actor: fac, payload: MembersImport{ActionGroups: []ActionGroup{{ID: "x", Name: "X"}, {ID: "x", Name: "Y"}}}, want: CodeInvalid},
		{name: "import bad action group", typ: OpMembersImport, actor: fac, payload: MembersImport{ActionGroups: []ActionGroup{{ID: "x"}}}, want: CodeInvalid},
		{name: "import unknown action group", typ: OpMembersImport, actor: fac, payload: MembersImport{Members: []Member{{Name: "X", ActionGroupID: "nope"}}}, want: CodeNotFound},
		{name: "import too many", typ: OpMembersImport, actor: fac, payload: MembersImport{Members: make([]Member, maxImportMembers+1)}, want: CodeInvalid},
		{name: "import too many groups", typ: OpMembersImport, actor: fac, payload: MembersImport{ActionGroups: make([]ActionGroup, maxImportGroups+1)}, want: CodeInvalid},
	})
}

func TestActionGroupID(t *testing.T) {
	a, b := ActionGroupID("GA Bègles – Centre"), ActionGroupID("  ga  bègles – centre ")
	if a != b || !validID(a) || !strings.HasPrefix(a, "ga-ga-begles-centre-") {
		t.Fatalf("ids %q %q", a, b)
	}
	if ActionGroupID("GA Nord") == ActionGroupID("GA Sud") {
		t.Fatal("two names share an id")
	}
	long := ActionGroupID(strings.Repeat("Œuvre çà ", 30))
	if !validID(long) {
		t.Fatalf("long id %q", long)
	}
	if id := ActionGroupID("!!!"); !validID(id) {
		t.Fatalf("symbol-only id %q", id)
	}
	for _, r := range "àâäáãçéèêëîïíìôöóòõùûüúÿœæ" {
		if f := foldAccent(r); f < 'a' || f > 'z' {
			t.Fatalf("%c folds to %c", r, f)
		}
	}
}

func TestTokens(t *testing.T) {
	m := basic(t)
	m.ok(OpTokenIssue, sys, TokenIssue{Hash: hashOf("tok-a1"), Role: RoleParticipant, MemberID: "a1"})
	m.ok(OpTokenIssue, sys, TokenIssue{Hash: hashOf("tok-a3"), Role: RoleParticipant, MemberID: "a3"})
	m.ok(OpTokenIssue, sys, TokenIssue{Hash: hashOf("admin2"), Role: RoleFacilitator})
	m.no(CodeConflict, OpTokenIssue, sys, TokenIssue{Hash: hashOf("tok-a1"), Role: RoleParticipant, MemberID: "a1"})
	m.no(CodeNotAllowed, OpTokenIssue, fac, TokenIssue{Hash: hashOf("z"), Role: RoleFacilitator})
	m.no(CodeInvalid, OpTokenIssue, sys, TokenIssue{Hash: "abc", Role: RoleFacilitator})
	m.no(CodeInvalid, OpTokenIssue, sys, TokenIssue{Hash: strings.ToUpper(hashOf("z")), Role: RoleFacilitator})
	m.no(CodeInvalid, OpTokenIssue, sys, TokenIssue{Hash: hashOf("z"), Role: RoleSystem})
	m.no(CodeInvalid, OpTokenIssue, sys, TokenIssue{Hash: hashOf("z"), Role: RoleProjector, MemberID: "a1"})
	m.no(CodeNotFound, OpTokenIssue, sys, TokenIssue{Hash: hashOf("z"), Role: RoleParticipant, MemberID: "zz"})

	auth := []struct {
		secret string
		want   Actor
		ok     bool
		aud    Audience
	}{
		{"admin", fac, true, Full},
		{"admin2", fac, true, Full},
		{"screen", scr, true, Redacted},
		{"tok-a1", part("a1"), true, Redacted},
		{"nope", Actor{}, false, Redacted},
	}
	for _, c := range auth {
		got, ok := m.s.Authenticate(hashOf(c.secret))
		if ok != c.ok || got != c.want {
			t.Fatalf("Authenticate(%s) = %+v %v", c.secret, got, ok)
		}
		if ok && m.s.AudienceOf(got) != c.aud {
			t.Fatalf("AudienceOf(%+v) = %v", got, m.s.AudienceOf(got))
		}
	}
	// The meeting's rapporteur is a participant who gets the full view.
	m.ok(OpRapporteurSet, fac, RapporteurSet{MemberID: "a1"})
	got, _ := m.s.Authenticate(hashOf("tok-a1"))
	if got != (Actor{Role: RoleRapporteur, MemberID: "a1"}) || m.s.AudienceOf(got) != Full {
		t.Fatalf("rapporteur %+v", got)
	}
	// A rapporteur actor who is no longer the rapporteur sees the redacted view.
	m.ok(OpRapporteurSet, fac, RapporteurSet{})
	if m.s.AudienceOf(got) != Redacted || m.s.AudienceOf(sys) != Full {
		t.Fatal("stale rapporteur keeps the full view")
	}

	m.no(CodeInvalid, OpTokenRevoke, fac, TokenRevoke{})
	m.no(CodeInvalid, OpTokenRevoke, fac, TokenRevoke{MemberID: "a1", Projector: true})
	m.no(CodeNotFound, OpTokenRevoke, fac, TokenRevoke{Hash: hashOf("nope")})
	m.no(CodeNotFound, OpTokenRevoke, fac, TokenRevoke{MemberID: "zz"})
	m.no(CodeInvalid, OpTokenRevoke, fac, TokenRevoke{MemberID: "a b"})
	m.no(CodeNotAllowed, OpTokenRevoke, part("a1"), TokenRevoke{MemberID: "a1"})
	m.ok(OpTokenRevoke, fac, TokenRevoke{MemberID: "a1"})
	m.ok(OpTokenRevoke, fac, TokenRevoke{Projector: true})
	m.ok(OpTokenRevoke, fac, TokenRevoke{Hash: hashOf("admin2")})
	for _, sec := range []string{"tok-a1", "screen", "admin2"} {
		if _, ok := m.s.Authenticate(hashOf(sec)); ok {
			t.Fatalf("revoked %s still opens", sec)
		}
	}
	if _, ok := m.s.Authenticate(hashOf("tok-a3")); !ok {
		t.Fatal("revoking a1 revoked a3")
	}
	// A token whose member vanished (or an unknown role) opens nothing.
	m.s.Tokens[hashOf("ghost")] = &Token{Hash: hashOf("ghost"), Role: RoleParticipant, MemberID: "gone"}
	m.s.Tokens[hashOf("odd")] = &Token{Hash: hashOf("odd"), Role: RoleSystem}
	for _, sec := range []string{"ghost", "odd"} {
		if _, ok := m.s.Authenticate(hashOf(sec)); ok {
			t.Fatalf("%s opens", sec)
		}
	}
}

func TestBilanAndProfiles(t *testing.T) {
	runCases(t, []opCase{
		{name: "bilan", typ: OpBilanSet, actor: fac, payload: BilanSet{Binome: "caisse", Text: "Budget tenu.\nÀ poursuivre."},
			after: func(t *testing.T, m *meetingT) {
				if m.s.Bilans["caisse"] != "Budget tenu.\nÀ poursuivre." {
					t.Fatalf("bilan %q", m.s.Bilans["caisse"])
				}
				m.ok(OpBilanSet, fac, BilanSet{Binome: "caisse"})
				if _, ok := m.s.Bilans["caisse"]; ok {
					t.Fatal("empty bilan not removed")
				}
			}},
		{name: "bilan unknown binome", typ: OpBilanSet, actor: fac, payload: BilanSet{Binome: "x", Text: "t"}, want: CodeNotFound},
		{name: "bilan too long", typ: OpBilanSet, actor: fac, payload: BilanSet{Binome: "caisse", Text: strings.Repeat("x", 2001)}, want: CodeInvalid},
		{name: "bilan tab refused", typ: OpBilanSet, actor: fac, payload: BilanSet{Binome: "caisse", Text: "a\tb"}, want: CodeInvalid},
		{name: "bilan by participant", typ: OpBilanSet, actor: part("a1"), payload: BilanSet{Binome: "caisse"}, want: CodeNotAllowed},
		{name: "bilan closed", setup: func(m *meetingT) { m.step(StepClosed) }, typ: OpBilanSet, actor: fac, payload: BilanSet{Binome: "caisse"}, want: CodeClosed},
		{name: "profile add orders binomes", typ: OpProfileAdd, actor: fac, payload: ProfileSet{Profile{ID: "pb2", MemberID: "b2", Binomes: []string{"luttes", "communication", "luttes"}}},
			after: func(t *testing.T, m *meetingT) {
				p := m.s.Profiles["pb2"]
				if !slices.Equal(p.Binomes, []string{"communication", "luttes"}) || p.ProposedBy != "ga2" {
					t.Fatalf("profile %+v", p)
				}
			}},
		{name: "profile derived id", typ: OpProfileAdd, actor: fac, payload: ProfileSet{Profile{MemberID: "b2", Binomes: []string{"caisse"}}}},
		{name: "profile second for member", typ: OpProfileAdd, actor: fac, payload: ProfileSet{Profile{ID: "px", MemberID: "a1", Binomes: []string{"caisse"}}}, want: CodeConflict},
		{name: "profile id taken", typ: OpProfileAdd, actor: fac, payload: ProfileSet{Profile{ID: "pa1", MemberID: "b2", Binomes: []string{"caisse"}}}, want: CodeConflict},
		{name: "profile unknown member", typ: OpProfileAdd, actor: fac, payload: ProfileSet{Profile{MemberID: "zz", Binomes: []string{"caisse"}}}, want: CodeNotFound},
		{name: "profile without member", typ: OpProfileAdd, actor: fac, payload: ProfileSet{Profile{Binomes: []string{"caisse"}}}, want: CodeInvalid},
		{name: "profile bad id", typ: OpProfileAdd, actor: fac, payload: ProfileSet{Profile{ID: "p p", MemberID: "b2"}}, want: CodeInvalid},
		{name: "profile no binome", typ: OpProfileAdd, actor: fac, payload: ProfileSet{Profile{MemberID: "b2"}}, want: CodeInvalid},
		{name: "profile unknown binome", typ: OpProfileAdd, actor: fac, payload: ProfileSet{Profile{MemberID: "b2", Binomes: []string{"x"}}}, want: CodeNotFound},
		{name: "profile unknown proposer", typ: OpProfileAdd, actor: fac, payload: ProfileSet{Profile{MemberID: "b2", Binomes: []string{"caisse"}, ProposedBy: "zz"}}, want: CodeNotFound},
		{name: "profile bad proposer", typ: OpProfileAdd, actor: fac, payload: ProfileSet{Profile{MemberID: "b2", Binomes: []string{"caisse"}, ProposedBy: "z z"}}, want: CodeInvalid},
		{name: "profile text too long", typ: OpProfileAdd, actor: fac, payload: ProfileSet{Profile{MemberID: "b2", Binomes: []string{"caisse"}, Commitments: strings.Repeat("x", 2001)}}, want: CodeInvalid},
		{name: "profile closed", setup: func(m *meetingT) { m.step(StepClosed) }, typ: OpProfileAdd, actor: fac, payload: ProfileSet{Profile{MemberID: "b2", Binomes: []string{"caisse"}}}, want: CodeClosed},
		{name: "profile by participant of the action group at III", setup: func(m *meetingT) { m.step(StepIII) }, typ: OpProfileAdd, actor: part("b1"), payload: ProfileSet{Profile{ID: "pb2", MemberID: "b2", Binomes: []string{"caisse"}}},
			after: func(t *testing.T, m *meetingT) {
				if m.s.Profiles["pb2"].ProposedBy != "ga2" {
					t.Fatal("proposer not the participant's action group")
				}
				m.ok(OpProfileUpdate, part("b1"), ProfileSet{Profile{ID: "pb2", Binomes: []string{"caisse", "luttes"}, Availability: "le soir"}})
			}},
		{name: "profile by participant at V", typ: OpProfileAdd, actor: part("b1"), payload: ProfileSet{Profile{MemberID: "b2", Binomes: []string{"caisse"}}}, want: CodeWrongStep},
		{name: "profile by participant other action group", setup: func(m *meetingT) { m.step(StepIII) }, typ: OpProfileAdd, actor: part("a1"), payload: ProfileSet{Profile{MemberID: "b2", Binomes: []string{"caisse"}}}, want: CodeNotAllowed},
		{name: "profile by participant proposed by other", setup: func(m *meetingT) { m.step(StepIII) }, typ: OpProfileAdd, actor: part("b1"), payload: ProfileSet{Profile{MemberID: "b2", Binomes: []string{"caisse"}, ProposedBy: "ga1"}}, want: CodeNotAllowed},
		{name: "profile by absent participant", setup: func(m *meetingT) {
			m.step(StepIII)
			m.ok(OpMemberCheckOut, fac, MemberRef{MemberID: "b1"})
		}, typ: OpProfileAdd, actor: part("b1"), payload: ProfileSet{Profile{MemberID: "b2", Binomes: []string{"caisse"}}}, want: CodeNotAllowed},
		{name: "profile by projector", typ: OpProfileAdd, actor: scr, payload: ProfileSet{Profile{MemberID: "b2", Binomes: []string{"caisse"}}}, want: CodeNotAllowed},
		{name: "profile by system", typ: OpProfileAdd, actor: sys, payload: ProfileSet{Profile{MemberID: "b2", Binomes: []string{"caisse"}}}, want: CodeNotAllowed},
		{name: "profile update", typ: OpProfileUpdate, actor: fac, payload: ProfileSet{Profile{ID: "pa1", MemberID: "a1", Binomes: []string{"caisse"}, Skills: "compta"}},
			after: func(t *testing.T, m *meetingT) {
				if p := m.s.Profiles["pa1"]; p.Skills != "compta" || len(p.Binomes) != 1 {
					t.Fatalf("profile %+v", p)
				}
			}},
		{name: "profile update other person", typ: OpProfileUpdate, actor: fac, payload: ProfileSet{Profile{ID: "pa1", MemberID: "b2", Binomes: []string{"caisse"}}}, want: CodeInvalid},
		{name: "profile update unknown", typ: OpProfileUpdate, actor: fac, payload: ProfileSet{Profile{ID: "zz", Binomes: []string{"caisse"}}}, want: CodeNotFound},
		{name: "profile update bad member id", typ: OpProfileUpdate, actor: fac, payload: ProfileSet{Profile{ID: "pa1", MemberID: "a 1"}}, want: CodeInvalid},
		{name: "profile update no id", typ: OpProfileUpdate, actor: fac, payload: ProfileSet{Profile{Binomes: []string{"caisse"}}}, want: CodeInvalid},
		{name: "profile drop a binome it is named for", setup: func(m *meetingT) {
			m.ok(OpShortlistAdd, fac, ShortlistOp{GroupID: "g1", Binome: "luttes", ProfileID: "pa1"})
		}, typ: OpProfileUpdate, actor: fac, payload: ProfileSet{Profile{ID: "pa1", Binomes: []string{"caisse"}}}, want: CodeConflict},
		{name: "profile remove", typ: OpProfileRemove, actor: fac, payload: ProfileRef{ProfileID: "pn1"},
			after: func(t *testing.T, m *meetingT) {
				if m.s.Profiles["pn1"] != nil {
					t.Fatal("not removed")
				}
			}},
		{name: "profile remove named", setup: func(m *meetingT) {
			m.ok(OpShortlistAdd, fac, ShortlistOp{GroupID: "g1", Binome: "luttes", ProfileID: "pn1"})
		}, typ: OpProfileRemove, actor: fac, payload: ProfileRef{ProfileID: "pn1"}, want: CodeConflict},
		{name: "profile remove in a check", setup: func(m *meetingT) {
			m.step(StepVI)
			m.ok(OpConsensusOpen, fac, ConsensusOpen{Binome: "caisse", Pair: [2]string{"pa1", "pb1"}})
		}, typ: OpProfileRemove, actor: fac, payload: ProfileRef{ProfileID: "pa1"}, want: CodeConflict},
		{name: "profile remove in a decision", setup: func(m *meetingT) {
			m.step(StepVI)
			m.ok(OpDecisionSet, fac, DecisionSet{Decision{Binome: "caisse", Outcome: OutcomeNoConsensus, Debated: []string{"pn1"}}})
		}, typ: OpProfileRemove, actor: fac, payload: ProfileRef{ProfileID: "pn1"}, want: CodeConflict},
		{name: "profile remove unknown", typ: OpProfileRemove, actor: fac, payload: ProfileRef{ProfileID: "zz"}, want: CodeNotFound},
		{name: "profile remove blank", typ: OpProfileRemove, actor: fac, payload: ProfileRef{}, want: CodeInvalid},
		{name: "profile remove by participant", typ: OpProfileRemove, actor: part("a1"), payload: ProfileRef{ProfileID: "pn1"}, want: CodeNotAllowed},
	})
}

func TestGroupOps(t *testing.T) {
	runCases(t, []opCase{
		{name: "add named", typ: OpGroupAdd, actor: fac, payload: GroupAdd{GroupID: "gr", Name: "Visio", Remote: true},
			after: func(t *testing.T, m *meetingT) {
				g := m.s.Groups["gr"]
				if g.Name != "Visio" || !g.Remote || len(g.Lists) != 6 || g.Pos != 3 {
					t.Fatalf("group %+v", g)
				}
			}},
		{name: "add default names", typ: OpGroupAdd, actor: fac, payload: GroupAdd{},
			after: func(t *testing.T, m *meetingT) {
				m.ok(OpGroupAdd, fac, GroupAdd{Remote: true})
				var names []string
				for _, g := range m.s.orderedGroups() {
					names = append(names, g.Name)
				}
				if !slices.Equal(names, []string{"Groupe 1", "Groupe 2", "Groupe 3", "Groupe à distance 1"}) {
					t.Fatalf("names %v", names)
				}
			}},
		{name: "add taken", typ: OpGroupAdd, actor: fac, payload: GroupAdd{GroupID: "g1"}, want: CodeConflict},
		{name: "add bad id", typ: OpGroupAdd, actor: fac, payload: GroupAdd{GroupID: "g 1"}, want: CodeInvalid},
		{name: "add by participant", typ: OpGroupAdd, actor: part("a1"), payload: GroupAdd{}, want: CodeNotAllowed},
		{name: "add closed", setup: func(m *meetingT) { m.step(StepClosed) }, typ: OpGroupAdd, actor: fac, payload: GroupAdd{}, want: CodeClosed},
		{name: "remove empty", setup: func(m *meetingT) { m.ok(OpGroupAdd, fac, GroupAdd{GroupID: "g3"}) }, typ: OpGroupRemove, actor: fac, payload: GroupRef{GroupID: "g3"}},
		{name: "remove with members", typ: OpGroupRemove, actor: fac, payload: GroupRef{GroupID: "g1"}, want: CodeConflict},
		{name: "remove unknown", typ: OpGroupRemove, actor: fac, payload: GroupRef{GroupID: "g9"}, want: CodeNotFound},
		{name: "remove blank", typ: OpGroupRemove, actor: fac, payload: GroupRef{}, want: CodeInvalid},
		{name: "remove by participant", typ: OpGroupRemove, actor: part("a1"), payload: GroupRef{GroupID: "g1"}, want: CodeNotAllowed},
		{name: "move", typ: OpGroupMove, actor: fac, payload: GroupMove{MemberID: "a3", GroupID: "g1"},
			after: func(t *testing.T, m *meetingT) {
				if m.s.Members["a3"].GroupID != "g1" {
					t.Fatal("not moved")
				}
			}},
		{name: "move same group is a no-op", typ: OpGroupMove, actor: fac, payload: GroupMove{MemberID: "a1", GroupID: "g1"}},
		{name: "move out clears rapporteur", setup: func(m *meetingT) { m.ok(OpGroupRapporteur, part("a1"), GroupRapporteur{GroupID: "g1", MemberID: "a1"}) },
			typ: OpGroupMove, actor: fac, payload: GroupMove{MemberID: "a1"},
			after: func(t *testing.T, m *meetingT) {
				if m.s.Groups["g1"].Rapporteur != "" || m.s.Members["a1"].GroupID != "" {
					t.Fatal("rapporteur kept after leaving")
				}
			}},
		{name: "move unknown member", typ: OpGroupMove, actor: fac, payload: GroupMove{MemberID: "zz", GroupID: "g1"}, want: CodeNotFound},
		{name: "move unknown group", typ: OpGroupMove, actor: fac, payload: GroupMove{MemberID: "a3", GroupID: "g9"}, want: CodeNotFound},
		{name: "move bad group id", typ: OpGroupMove, actor: fac, payload: GroupMove{MemberID: "a3", GroupID: "g 9"}, want: CodeInvalid},
		{name: "move blank member", typ: OpGroupMove, actor: fac, payload: GroupMove{GroupID: "g1"}, want: CodeInvalid},
		{name: "move by participant", typ: OpGroupMove, actor: part("a1"), payload: GroupMove{MemberID: "a1", GroupID: "g2"}, want: CodeNotAllowed},
		{name: "move closed", setup: func(m *meetingT) { m.step(StepClosed) }, typ: OpGroupMove, actor: fac, payload: GroupMove{MemberID: "a3", GroupID: "g1"}, want: CodeClosed},
		{name: "11th member cannot join", setup: func(m *meetingT) {
			for i := 0; i < 8; i++ {
				id := "x" + string(rune('a'+i))
				m.member(id, "X "+id, "ga1")
				m.ok(OpGroupMove, fac, GroupMove{MemberID: id, GroupID: "g1"})
			}
			if n := m.s.groupSize("g1"); n != 10 {
				m.t.Fatalf("group of %d", n)
			}
		}, typ: OpGroupMove, actor: fac, payload: GroupMove{MemberID: "a3", GroupID: "g1"}, want: CodeGroupFull},
		{name: "rapporteur by group member", typ: OpGroupRapporteur, actor: part("b1"), payload: GroupRapporteur{GroupID: "g1", MemberID: "b1"},
			after: func(t *testing.T, m *meetingT) {
				if m.s.Groups["g1"].Rapporteur != "b1" {
					t.Fatal("rapporteur not set")
				}
			}},
		{name: "rapporteur not in group", typ: OpGroupRapporteur, actor: fac, payload: GroupRapporteur{GroupID: "g1", MemberID: "a2"}, want: CodeNotFound},
		{name: "rapporteur by other group", typ: OpGroupRapporteur, actor: part("a2"), payload: GroupRapporteur{GroupID: "g1", MemberID: "a1"}, want: CodeNotAllowed},
		{name: "rapporteur bad member id", typ: OpGroupRapporteur, actor: fac, payload: GroupRapporteur{GroupID: "g1", MemberID: "a 1"}, want: CodeInvalid},
		{name: "rapporteur by projector", typ: OpGroupRapporteur, actor: scr, payload: GroupRapporteur{GroupID: "g1"}, want: CodeNotAllowed},
		{name: "rapporteur by system", typ: OpGroupRapporteur, actor: sys, payload: GroupRapporteur{GroupID: "g1"}, want: CodeNotAllowed},
		{name: "rapporteur closed", setup: func(m *meetingT) { m.step(StepClosed) }, typ: OpGroupRapporteur, actor: fac, payload: GroupRapporteur{GroupID: "g1"}, want: CodeClosed},
	})
}

func TestGroupsSplit(t *testing.T) {
	m := newMeeting(t)
	m.ag("ga1", "GA 1", "2025-01-01")
	m.ag("ga2", "GA 2", "2025-01-01")
	m.ag("ga3", "GA 3", "2025-01-01")
	m.no(CodeConflict, OpGroupsSplit, fac, GroupsSplit{}) // nobody present
	// 23 in person (12 of ga1, 6 of ga2, 5 of ga3) and 4 remote, 2 absent.
	n := 0
	add := func(ag string, count int, remote, present bool) {
		for i := 0; i < count; i++ {
			n++
			id := fmt.Sprintf("%s-%d", ag, n)
			m.member(id, "P "+id, ag)
			if present {
				m.checkin(id, remote)
			}
		}
	}
	add("ga1", 12, false, true)
	add("ga2", 6, false, true)
	add("ga3", 5, false, true)
	m.ok(OpMemberAdd, fac, MemberAdd{Member{ID: "r1", Name: "R1", ActionGroupID: "ga1"}})
	m.ok(OpMemberAdd, fac, MemberAdd{Member{ID: "r2", Name: "R2", ActionGroupID: "ga2"}})
	m.ok(OpMemberAdd, fac, MemberAdd{Member{ID: "r3", Name: "R3"}})
	m.ok(OpMemberAdd, fac, MemberAdd{Member{ID: "r4", Name: "R4", ActionGroupID: "ga1"}})
	for _, id := range []string{"r1", "r2", "r3", "r4"} {
		m.checkin(id, true)
	}
	add("ga3", 2, false, false)
	m.no(CodeNotAllowed, OpGroupsSplit, part("r1"), GroupsSplit{})
	m.step(StepIV)
	ch := m.ok(OpGroupsSplit, fac, GroupsSplit{})
	groups := m.s.orderedGroups()
	var names []string
	sizes := map[string]int{}
	for _, g := range groups {
		names = append(names, g.Name)
		sizes[g.Name] = m.s.groupSize(g.ID)
	}
	if !slices.Equal(names, []string{"Groupe 1", "Groupe 2", "Groupe 3", "Groupe à distance 1"}) {
		t.Fatalf("groups %v", names)
	}
	if sizes["Groupe 1"] != 8 || sizes["Groupe 2"] != 8 || sizes["Groupe 3"] != 7 || sizes["Groupe à distance 1"] != 4 {
		t.Fatalf("sizes %v", sizes)
	}
	for _, mm := range m.s.Members {
		g := m.s.Groups[mm.GroupID]
		switch {
		case !mm.Present && mm.GroupID != "":
			t.Fatalf("absent %s placed", mm.ID)
		case mm.Present && g == nil:
			t.Fatalf("present %s not placed", mm.ID)
		case mm.Present && g.Remote != mm.Remote:
			t.Fatalf("%s remote=%v in group remote=%v", mm.ID, mm.Remote, g.Remote)
		}
	}
	// Each action group is spread: ga1's 12 are 4/4/4 over the 3 groups.
	per := map[string]int{}
	for _, mm := range m.s.Members {
		if mm.ActionGroupID == "ga1" && !mm.Remote && mm.Present {
			per[mm.GroupID]++
		}
	}
	for g, c := range per {
		if c != 4 {
			t.Fatalf("ga1 has %d in %s", c, g)
		}
	}
	if len(ch) < 27 {
		t.Fatalf("changes %d", len(ch))
	}
	// Latecomers are split into new groups; existing groups are kept.
	m.member("late1", "Late", "ga1")
	m.checkin("late1", false)
	m.ok(OpGroupsSplit, fac, GroupsSplit{})
	if len(m.s.Groups) != 5 || m.s.Groups[m.s.Members["late1"].GroupID].Name != "Groupe 4" {
		t.Fatalf("latecomer split: %d groups", len(m.s.Groups))
	}
	m.no(CodeConflict, OpGroupsSplit, fac, GroupsSplit{}) // nobody left outside a group
	// Replace redoes everything while groups are empty ...
	m.ok(OpGroupsSplit, fac, GroupsSplit{Replace: true})
	if len(m.s.Groups) != 4 {
		t.Fatalf("replace: %d groups", len(m.s.Groups))
	}
	// ... but not once a group has content.
	g1 := m.s.orderedGroups()[0].ID
	m.ok(OpQualityAdd, fac, QualityOp{GroupID: g1, Binome: "caisse", Quality: Quality{Text: "rigueur"}})
	m.no(CodeConflict, OpGroupsSplit, fac, GroupsSplit{Replace: true})
	m.step(StepClosed)
	m.no(CodeClosed, OpGroupsSplit, fac, GroupsSplit{})
}

func TestAutoSplitBalance(t *testing.T) {
	if AutoSplit(nil, 10) != nil || AutoSplit([]Member{{ID: "a"}}, 0) != nil {
		t.Fatal("empty split")
	}
	for n := 1; n <= 95; n++ {
		ms := make([]Member, n)
		for i := range ms {
			ms[i] = Member{ID: string(rune('A'+i%26)) + string(rune('a'+i/26)), Name: "N", ActionGroupID: string(rune('a' + i%7))}
		}
		gs := AutoSplit(ms, 10)
		if len(gs) != (n+9)/10 {
			t.Fatalf("n=%d: %d groups", n, len(gs))
		}
		lo, hi, total := 99, 0, 0
		for _, g := range gs {
			lo, hi, total = min(lo, len(g)), max(hi, len(g)), total+len(g)
			if len(g) > 10 {
				t.Fatalf("n=%d: group of %d", n, len(g))
			}
		}
		if hi-lo > 1 || total != n {
			t.Fatalf("n=%d: sizes %d..%d total %d", n, lo, hi, total)
		}
		// Deterministic whatever the input order.
		rev := slices.Clone(ms)
		slices.Reverse(rev)
		if got := AutoSplit(rev, 10); !slices.EqualFunc(got, gs, slices.Equal[[]string]) {
			t.Fatalf("n=%d: order-dependent split", n)
		}
	}
}
