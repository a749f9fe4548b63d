package meeting

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// opGen makes random ops that are mostly plausible for the current state
// (existing ids, the right actors) and sometimes not, so that refusals are
// part of the log too.
type opGen struct {
	r *rand.Rand
	s *State
	// late allows the purge, which ends most of the procedure: only in the
	// last ops of a run.
	late bool
}

func (g *opGen) pick(ids []string) string {
	if len(ids) == 0 || g.r.IntN(20) == 0 {
		return fmt.Sprintf("zz%d", g.r.IntN(3))
	}
	return ids[g.r.IntN(len(ids))]
}

func (g *opGen) member() string  { return g.pick(sortedKeys(g.s.Members)) }
func (g *opGen) group() string   { return g.pick(sortedKeys(g.s.Groups)) }
func (g *opGen) profile() string { return g.pick(sortedKeys(g.s.Profiles)) }
func (g *opGen) check() string   { return g.pick(sortedKeys(g.s.Checks)) }
func (g *opGen) ag() string      { return g.pick(sortedKeys(g.s.ActionGroups)) }

// proposed is a profile proposed for binome k (or any profile).
func (g *opGen) proposed(k string) string {
	var ids []string
	for _, id := range sortedKeys(g.s.Profiles) {
		if slices.Contains(g.s.Profiles[id].Binomes, k) {
			ids = append(ids, id)
		}
	}
	return g.pick(ids)
}

// pair is two profiles proposed for k, an eligible pair when a few tries
// find one.
func (g *opGen) pair(k string) [2]string {
	var p [2]string
	for try := 0; try < 8; try++ {
		p = [2]string{g.proposed(k), g.proposed(k)}
		if ok, _ := g.s.PairEligibility(p[0], p[1]); ok {
			break
		}
	}
	return p
}

// mostlyFac is the facilitator, sometimes another actor.
func (g *opGen) mostlyFac() Actor {
	if g.r.IntN(5) == 0 {
		return g.actor("")
	}
	return fac
}

func (g *opGen) binome() string {
	var keys []string
	for _, b := range g.s.Template.Binomes {
		keys = append(keys, b.Key)
	}
	return g.pick(keys)
}

// actor is mostly the facilitator, often a participant (sometimes one in
// the group named by the op), rarely the system or the projector.
func (g *opGen) actor(groupID string) Actor {
	switch n := g.r.IntN(20); {
	case n < 9:
		return fac
	case n < 18:
		if groupID != "" && g.r.IntN(3) > 0 {
			for _, id := range sortedKeys(g.s.Members) {
				if g.s.Members[id].GroupID == groupID && g.r.IntN(2) == 0 {
					return part(id)
				}
			}
		}
		return part(g.member())
	case n < 19:
		return sys
	default:
		return scr
	}
}

func (g *opGen) next(m *meetingT) *Op {
	r := g.r
	date := func() string {
		if r.IntN(4) == 0 {
			return ""
		}
		return time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, r.IntN(400)).Format("2006-01-02")
	}
	switch r.IntN(33) {
	case 0:
		// The procedure spends its time in steps III to VI.
		st := Steps[r.IntN(len(Steps))]
		if r.IntN(3) > 0 {
			st = []Step{StepIII, StepIV, StepV, StepV, StepVI, StepVI}[r.IntN(6)]
		}
		return m.op(OpStepSet, g.actor(""), StepSet{Step: st})
	case 1:
		return m.op(OpActionGroupUpsert, g.actor(""), ActionGroupUpsert{ActionGroup{ID: fmt.Sprintf("ga%d", r.IntN(6)), Name: fmt.Sprintf("GA %d", r.IntN(6)), CertifiedOn: date()}})
	case 2, 3:
		n := r.IntN(200)
		return m.op(OpMemberAdd, g.actor(""), MemberAdd{Member{ID: fmt.Sprintf("m%d", n), Name: fmt.Sprintf("Nom %d", n%150), ActionGroupID: g.ag(),
			Email: fmt.Sprintf("m%d@example.org", n), Phone: fmt.Sprintf("06 %02d %02d 00 00", n/100, n%100)}})
	case 4:
		var ms []Member
		for i := 0; i < r.IntN(5); i++ {
			n := r.IntN(300)
			ms = append(ms, Member{Name: fmt.Sprintf("Import %d", n), ActionGroupID: g.ag(), Email: fmt.Sprintf("i%d@example.org", n)})
		}
		return m.op(OpMembersImport, g.actor(""), MembersImport{Members: ms})
	case 5, 6:
		return m.op(OpMemberCheckIn, []Actor{sys, fac}[r.IntN(2)], MemberCheckIn{MemberID: g.member(), Remote: r.IntN(5) == 0})
	case 7:
		id := g.member()
		return m.op(OpMemberCheckOut, []Actor{part(id), fac, part(g.member())}[r.IntN(3)], MemberRef{MemberID: id})
	case 8:
		return m.op(OpMemberUpdate, g.actor(""), MemberAdd{Member{ID: g.member(), Name: fmt.Sprintf("Renommé %d", r.IntN(50)), ActionGroupID: g.ag()}})
	case 9:
		var bs []string
		for _, b := range g.s.Template.Binomes {
			if r.IntN(2) == 0 {
				bs = append(bs, b.Key)
			}
		}
		typ := OpProfileAdd
		id := fmt.Sprintf("p%d", r.IntN(40))
		if r.IntN(3) == 0 {
			typ, id = OpProfileUpdate, g.profile()
		}
		return m.op(typ, g.actor(""), ProfileSet{Profile{ID: id, MemberID: g.member(), Binomes: bs, Skills: "compétences"}})
	case 10:
		return m.op(OpGroupsSplit, g.actor(""), GroupsSplit{Replace: r.IntN(4) == 0})
	case 11:
		return m.op(OpGroupMove, g.actor(""), GroupMove{MemberID: g.member(), GroupID: []string{"", g.group()}[r.IntN(2)]})
	case 12, 13, 14:
		gid := g.group()
		return m.op([]string{OpQualityAdd, OpQualityEdit, OpQualityRemove}[r.IntN(3)], g.actor(gid),
			QualityOp{GroupID: gid, Binome: g.binome(), Quality: Quality{ID: fmt.Sprintf("q%d", r.IntN(4)), Text: fmt.Sprintf("qualité %d", r.IntN(9))}})
	case 15, 16, 17, 26, 27, 28, 29:
		gid, k := g.group(), g.binome()
		return m.op([]string{OpShortlistAdd, OpShortlistAdd, OpShortlistRemove}[r.IntN(3)], g.actor(gid),
			ShortlistOp{GroupID: gid, Binome: k, ProfileID: g.proposed(k)})
	case 18:
		gid := g.group()
		return m.op(OpShortlistMode, g.actor(gid), ShortlistMode{GroupID: gid, Binome: g.binome(), Consensus: r.IntN(2) == 0})
	case 19:
		gid := g.group()
		if r.IntN(2) == 0 {
			return m.op(OpGroupRapporteur, g.actor(gid), GroupRapporteur{GroupID: gid, MemberID: g.member()})
		}
		return m.op(OpGroupSubmit, g.actor(gid), GroupRef{GroupID: gid, Submitted: r.IntN(4) > 0})
	case 20, 21:
		k := g.binome()
		return m.op(OpConsensusOpen, g.mostlyFac(), ConsensusOpen{Binome: k, Pair: g.pair(k)})
	case 22:
		kind := []string{AnswerSupport, AnswerReservation, AnswerObjection}[r.IntN(3)]
		arg := []string{"", "argument"}[r.IntN(2)]
		return m.op(OpConsensusAnswer, part(g.member()), ConsensusAnswer{CheckID: g.check(), Kind: kind, Argument: arg})
	case 23:
		if r.IntN(2) == 0 {
			return m.op(OpConsensusStanding, g.mostlyFac(), ConsensusStanding{CheckID: g.check(), MemberID: g.member(), Standing: r.IntN(2) == 0})
		}
		return m.op(OpConsensusClose, g.mostlyFac(), ConsensusClose{CheckID: g.check()})
	case 24:
		d := Decision{Binome: g.binome()}
		switch r.IntN(3) {
		case 0:
			p := g.pair(d.Binome)
			d.Outcome, d.Pair = OutcomeDesignated, p[:]
		case 1:
			d.Outcome, d.Debated = OutcomeNoConsensus, []string{g.profile()}
		default:
			d.Outcome = OutcomeNoCandidate
		}
		if r.IntN(4) == 0 {
			return m.op(OpDecisionClear, g.mostlyFac(), DecisionClear{Binome: d.Binome})
		}
		return m.op(OpDecisionSet, g.mostlyFac(), DecisionSet{d})
	case 25:
		switch r.IntN(4) {
		case 0:
			return m.op(OpGroupAdd, g.actor(""), GroupAdd{Remote: r.IntN(3) == 0})
		case 1:
			return m.op(OpGroupRemove, g.actor(""), GroupRef{GroupID: g.group()})
		case 2:
			return m.op(OpTokenIssue, sys, TokenIssue{Hash: hashOf(fmt.Sprint(r.IntN(50))), Role: RoleParticipant, MemberID: g.member()})
		default:
			return m.op(OpRapporteurSet, g.actor(""), RapporteurSet{MemberID: g.member()})
		}
	default:
		switch r.IntN(5) {
		case 0:
			return m.op(OpBilanSet, g.actor(""), BilanSet{Binome: g.binome(), Text: "bilan"})
		case 1:
			return m.op(OpMemberRemove, g.actor(""), MemberRef{MemberID: g.member()})
		case 2:
			return m.op(OpProfileRemove, g.actor(""), ProfileRef{ProfileID: g.profile()})
		case 3:
			if r.IntN(3) == 0 {
				tpl := Default2026()
				tpl.CertifiedBefore = date()
				if tpl.CertifiedBefore == "" {
					tpl.CertifiedBefore = "2026-01-01"
				}
				return m.op(OpTemplateLoad, g.mostlyFac(), TemplateLoad{tpl})
			}
			return m.op(OpParitySet, g.actor(""), ParitySet{Confirmed: true})
		default:
			if g.late && r.IntN(10) == 0 {
				return m.op(OpMeetingPurge, g.actor(""), MeetingPurge{})
			}
			return m.op(OpTimerSet, g.actor(""), TimerSet{TimerEnd: ptr(t0.Add(time.Duration(m.seq+60) * time.Second))})
		}
	}
}

// TestReplayRandomOps: random op sequences (thousands, seeded), rebuilt from
// the encoded log, give the same encoded state as the live one; so does a
// state restored from a snapshot taken midway, then fed the rest of the log.
func TestReplayRandomOps(t *testing.T) {
	seeds, perSeed := 4, 1000
	if testing.Short() || raceEnabled {
		seeds, perSeed = 2, 500
	}
	for seed := 1; seed <= seeds; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			// Odd seeds start from an empty meeting, even ones from the
			// worked example (groups, profiles and lists already there).
			m := newMeeting(t)
			if seed%2 == 0 {
				m = workedExample(t)
			}
			m.sample = 7
			g := &opGen{r: rand.New(rand.NewPCG(uint64(seed), 2026)), s: m.s}
			applied := map[string]int{}
			var snap []byte
			var snapAt int
			for i := 0; i < perSeed; i++ {
				g.late = i > perSeed*9/10
				op := g.next(m)
				if _, err := m.run(op); err == nil {
					applied[op.Type]++
				}
				if i == perSeed/2 {
					snap, snapAt = m.s.Encode(), len(m.log)
				}
			}
			live := m.s.Encode()
			if got := replay(t, m.log).Encode(); !bytes.Equal(got, live) {
				t.Fatalf("replayed state differs from the live one (%d ops)", len(m.log))
			}
			restored, err := Decode(snap)
			if err != nil {
				t.Fatal(err)
			}
			for _, raw := range m.log[snapAt:] {
				op, err := DecodeOp(raw)
				if err != nil {
					t.Fatal(err)
				}
				Apply(restored, op)
			}
			if !bytes.Equal(restored.Encode(), live) {
				t.Fatal("snapshot + rest of the log differs from the live state")
			}
			// The generator must exercise the procedure, not only refusals.
			var kinds []string
			for k, n := range applied {
				if n > 0 {
					kinds = append(kinds, k)
				}
			}
			slices.Sort(kinds)
			if len(kinds) < 20 {
				t.Fatalf("only %d op types applied: %v", len(kinds), kinds)
			}
			t.Logf("%d ops, applied by type: %v", len(m.log), applied)
		})
	}
}
