package meeting

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"
)

// Actors used across the tests.
var (
	sys = Actor{Role: RoleSystem}
	fac = Actor{Role: RoleFacilitator}
	scr = Actor{Role: RoleProjector}
)

func part(memberID string) Actor { return Actor{Role: RoleParticipant, MemberID: memberID} }

// hashOf is the sha-256 hex of a secret, as the server stores it.
func hashOf(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// t0 is the meeting's start; every op is one second after the previous.
var t0 = time.Date(2026, 6, 27, 18, 0, 0, 0, time.UTC)

// meetingT drives one state through ops like the hub does, and checks on
// every op the package's promises: Check and Apply agree, a refused op
// changes nothing but Seq, and an applied op's Changes are sorted.
type meetingT struct {
	t   testing.TB
	s   *State
	seq uint64
	log [][]byte // every op, encoded, for replay
	// sample, when > 1, checks the refusal invariant on one op in sample
	// only (long random runs); Check/Apply agreement is always checked.
	sample uint64
	// setup skips the invariant checks while a fixture is being built (its
	// ops are checked by the tests of each op); the log is still kept.
	setup bool
}

func newMeeting(t testing.TB) *meetingT {
	t.Helper()
	m := &meetingT{t: t, s: New("m1")}
	m.ok(OpMeetingCreate, sys, MeetingCreate{
		Info:     Info{Title: "Boucle de Gironde", Department: "Gironde (33)", Date: "2026-06-27", Place: "Bordeaux"},
		JoinCode: "KXQWPZ", FacilitatorToken: hashOf("admin"), ProjectorToken: hashOf("screen"),
		FacilitatorsNames: []string{"Camille", "Dominique"},
	})
	return m
}

func (m *meetingT) op(typ string, actor Actor, payload any) *Op {
	m.seq++
	var raw json.RawMessage
	switch p := payload.(type) {
	case nil:
	case string:
		raw = json.RawMessage(p)
	case []byte:
		raw = p
	default:
		b, err := json.Marshal(p)
		if err != nil {
			m.t.Fatalf("encode payload: %v", err)
		}
		raw = b
	}
	return &Op{ID: fmt.Sprintf("op-%d", m.seq), Seq: m.seq, Type: typ, At: t0.Add(time.Duration(m.seq) * time.Second), Actor: actor, Payload: raw}
}

// run applies one op and checks the invariants.
func (m *meetingT) run(op *Op) (Changes, *Error) {
	m.t.Helper()
	if enc, err := json.Marshal(op); err == nil {
		m.log = append(m.log, enc)
	} // else: a deliberately malformed payload, which no log can hold
	if m.setup {
		ch, err := Apply(m.s, op)
		if err != nil {
			m.t.Fatalf("fixture op %s refused: %v", op.Type, err)
		}
		return ch, nil
	}
	full := m.sample <= 1 || op.Seq%m.sample == 0
	var before []byte
	if full {
		before = m.s.Encode()
	}
	checkErr := Check(m.s, op)
	if full && !bytes.Equal(before, m.s.Encode()) {
		m.t.Fatalf("%s: Check changed the state", op.Type)
	}
	ch, applyErr := Apply(m.s, op)
	if m.s.Seq != op.Seq {
		m.t.Fatalf("%s: Seq %d, want %d", op.Type, m.s.Seq, op.Seq)
	}
	if (checkErr == nil) != (applyErr == nil) {
		m.t.Fatalf("%s: Check says %v, Apply says %v", op.Type, checkErr, applyErr)
	}
	if applyErr != nil {
		var e *Error
		if !errors.As(applyErr, &e) {
			m.t.Fatalf("%s: error %T is not a *Error", op.Type, applyErr)
		}
		var ce *Error
		errors.As(checkErr, &ce)
		if ce.Code != e.Code {
			m.t.Fatalf("%s: Check code %s, Apply code %s", op.Type, ce.Code, e.Code)
		}
		if ch != nil {
			m.t.Fatalf("%s: refused op returned changes", op.Type)
		}
		if !full {
			return nil, e
		}
		prev, err := Decode(before)
		if err != nil {
			m.t.Fatal(err)
		}
		prev.Seq = op.Seq
		if !bytes.Equal(prev.Encode(), m.s.Encode()) {
			m.t.Fatalf("%s: refused op (%v) changed the state", op.Type, e)
		}
		return nil, e
	}
	if SameForEveryAudience(ch) {
		fullJSON, err := json.Marshal(m.s.ChangesFor(ch, Full))
		if err != nil {
			m.t.Fatal(err)
		}
		redactedJSON, err := json.Marshal(m.s.ChangesFor(ch, Redacted))
		if err != nil {
			m.t.Fatal(err)
		}
		if !bytes.Equal(fullJSON, redactedJSON) {
			m.t.Fatalf("%s: SameForEveryAudience(%v), but the audiences get\n%s\nand\n%s", op.Type, ch, fullJSON, redactedJSON)
		}
	}
	if full {
		prev, err := Decode(before)
		if err != nil {
			m.t.Fatal(err)
		}
		listed := map[Ref]bool{}
		for _, r := range ch {
			listed[r] = true
		}
		covered := func(r Ref) bool { // a group change names its lists too
			g, _, ok := SplitListID(r.ID)
			return listed[r] || (r.Kind == KindList && ok && listed[Ref{KindGroup, g}])
		}
		if !AccessMayChange(op.Type, ch) {
			for h := range m.s.Tokens {
				a0, ok0 := prev.Authenticate(h)
				a1, ok1 := m.s.Authenticate(h)
				if a0 != a1 || ok0 != ok1 || prev.AudienceOf(a0) != m.s.AudienceOf(a1) {
					m.t.Fatalf("%s changed what a token opens, but AccessMayChange says it cannot", op.Type)
				}
			}
		}
		for _, a := range []Audience{Full, Redacted} {
			was, is := entityJSON(prev, a), entityJSON(m.s, a)
			for r, v := range is {
				if !bytes.Equal(v, was[r]) && !covered(r) {
					m.t.Fatalf("%s: %s/%s changed for %v but is not in the changes %v", op.Type, r.Kind, r.ID, a, ch)
				}
			}
			for r := range was {
				if _, ok := is[r]; !ok && !covered(r) {
					m.t.Fatalf("%s: %s/%s removed but not in the changes", op.Type, r.Kind, r.ID)
				}
			}
		}
	}
	for i := 1; i < len(ch); i++ {
		a, b := ch[i-1], ch[i]
		if a.Kind > b.Kind || (a.Kind == b.Kind && a.ID >= b.ID) {
			m.t.Fatalf("%s: changes not sorted/unique: %v", op.Type, ch)
		}
	}
	return ch, nil
}

// do builds and runs an op.
func (m *meetingT) do(typ string, actor Actor, payload any) (Changes, *Error) {
	m.t.Helper()
	return m.run(m.op(typ, actor, payload))
}

// ok runs an op that must pass.
func (m *meetingT) ok(typ string, actor Actor, payload any) Changes {
	m.t.Helper()
	ch, err := m.do(typ, actor, payload)
	if err != nil {
		m.t.Fatalf("%s: unexpected refusal: %v", typ, err)
	}
	return ch
}

// no runs an op that must be refused with code.
func (m *meetingT) no(code Code, typ string, actor Actor, payload any) *Error {
	m.t.Helper()
	_, err := m.do(typ, actor, payload)
	if err == nil {
		m.t.Fatalf("%s: applied, want refusal %s", typ, code)
	}
	if err.Code != code {
		m.t.Fatalf("%s: refused with %v, want %s", typ, err, code)
	}
	return err
}

func (m *meetingT) step(st Step) { m.t.Helper(); m.ok(OpStepSet, fac, StepSet{Step: st}) }

func (m *meetingT) ag(id, name, certified string) {
	m.t.Helper()
	m.ok(OpActionGroupUpsert, fac, ActionGroupUpsert{ActionGroup{ID: id, Name: name, CertifiedOn: certified}})
}

func (m *meetingT) member(id, name, ag string) {
	m.t.Helper()
	m.ok(OpMemberAdd, fac, MemberAdd{Member{ID: id, Name: name, ActionGroupID: ag,
		Email: id + "@example.org", Phone: "06 00 00 " + fmt.Sprintf("%02d %02d", len(id), int(id[len(id)-1])%100)}})
}

func (m *meetingT) checkin(id string, remote bool) {
	m.t.Helper()
	m.ok(OpMemberCheckIn, sys, MemberCheckIn{MemberID: id, Remote: remote})
}

func (m *meetingT) profile(id, member string, binomes ...string) {
	m.t.Helper()
	m.ok(OpProfileAdd, fac, ProfileSet{Profile{ID: id, MemberID: member, Binomes: binomes, Skills: "tractage", Experience: "cinq années"}})
}

// basic builds a small meeting: two certified action groups (ga1, ga2), one
// certified too late (late), one not certified (none); members a1..a3 (ga1),
// b1..b3 (ga2), l1 (late), n1 (none), all present; group g1 with a1, b1;
// group g2 with a2, b2; profiles pa1 (a1), pb1 (b1), pa2 (a2), pl1 (l1),
// pn1 (n1), pa3 (a3), pb3 (b3) for every binome; step V.
func basic(t testing.TB) *meetingT {
	t.Helper()
	m := newMeeting(t)
	m.setup = true
	defer func() { m.setup = false }()
	m.ag("ga1", "GA Bastide", "2025-10-01")
	m.ag("ga2", "GA Chartrons", "2026-04-11")
	m.ag("late", "GA Tardif", "2026-04-12")
	m.ag("none", "GA Nouveau", "")
	for _, id := range []string{"a1", "a2", "a3"} {
		m.member(id, "Membre "+id, "ga1")
	}
	for _, id := range []string{"b1", "b2", "b3"} {
		m.member(id, "Membre "+id, "ga2")
	}
	m.member("l1", "Membre l1", "late")
	m.member("n1", "Membre n1", "none")
	for _, id := range []string{"a1", "a2", "a3", "b1", "b2", "b3", "l1", "n1"} {
		m.checkin(id, false)
	}
	all := []string{"communication", "materiel", "caisse", "relations-exterieures", "luttes", "groupes-action"}
	for _, p := range [][2]string{{"pa1", "a1"}, {"pb1", "b1"}, {"pa2", "a2"}, {"pl1", "l1"}, {"pn1", "n1"}, {"pa3", "a3"}, {"pb3", "b3"}} {
		m.profile(p[0], p[1], all...)
	}
	m.ok(OpGroupAdd, fac, GroupAdd{GroupID: "g1"})
	m.ok(OpGroupAdd, fac, GroupAdd{GroupID: "g2"})
	for _, mv := range [][2]string{{"a1", "g1"}, {"b1", "g1"}, {"a2", "g2"}, {"b2", "g2"}} {
		m.ok(OpGroupMove, fac, GroupMove{MemberID: mv[0], GroupID: mv[1]})
	}
	m.step(StepV)
	return m
}

// replay rebuilds a state from the encoded log, as a restarted server does.
func replay(t testing.TB, log [][]byte) *State {
	t.Helper()
	s := New("m1")
	for i, raw := range log {
		op, err := DecodeOp(raw)
		if err != nil {
			t.Fatalf("log entry %d: %v", i, err)
		}
		Apply(s, op)
	}
	return s
}

// timeOf is the offset of op seq from t0.
func timeOf(seq uint64) time.Duration { return time.Duration(seq) * time.Second }

// entityJSON encodes every entity of the view of s for a, by Ref.
func entityJSON(s *State, a Audience) map[Ref][]byte {
	v := s.view(a)
	out := map[Ref][]byte{}
	put := func(kind, id string, val any) {
		b, err := json.Marshal(val)
		if err != nil {
			panic(err)
		}
		out[Ref{kind, id}] = b
	}
	put(KindMeeting, "", v.Meeting)
	for id, x := range v.ActionGroups {
		put(KindActionGroup, id, x)
	}
	for id, x := range v.Members {
		put(KindMember, id, x)
	}
	for id, x := range v.Bilans {
		put(KindBilan, id, x)
	}
	for id, x := range v.Profiles {
		put(KindProfile, id, x)
	}
	for id, x := range v.Groups {
		// A group's lists are entities of their own (KindList), so that a
		// list edit is seen to change that list and nothing else.
		o := *x
		o.Lists = nil
		put(KindGroup, id, &o)
		for b, l := range x.Lists {
			put(KindList, ListID(id, b), l)
		}
	}
	for id, x := range v.Checks {
		put(KindCheck, id, x)
	}
	for id, x := range v.Decisions {
		put(KindDecision, id, x)
	}
	for id, x := range v.Merges {
		put(KindMerge, id, x)
	}
	return out
}
