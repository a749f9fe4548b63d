package meeting

import (
	"slices"
	"time"
)

// StateView is the whole meeting as one audience sees it: the value of a
// snapshot on the wire. Each map holds the same values ChangesFor sends for
// its kind, so a client renders both with the same code.
type StateView struct {
	ID           string                  `json:"id"`
	Seq          uint64                  `json:"seq"`
	Audience     string                  `json:"audience"` // "full" or "redacted"
	Meeting      MeetingView             `json:"meeting"`
	ActionGroups map[string]*ActionGroup `json:"actionGroups"`
	Members      map[string]MemberView   `json:"members"`
	Bilans       map[string]string       `json:"bilans"`
	Profiles     map[string]*Profile     `json:"profiles"`
	Groups       map[string]*Group       `json:"groups"`
	Checks       map[string]CheckView    `json:"checks"`
	Decisions    map[string]*Decision    `json:"decisions"`
	Merges       map[string]Merge        `json:"merges"` // by binome key
}

// MeetingView is the value of KindMeeting: everything about the meeting
// itself. The join code is public: the projector shows it.
type MeetingView struct {
	Created      bool       `json:"created"`
	Info         Info       `json:"info"`
	JoinCode     string     `json:"joinCode"`
	Template     Template   `json:"template"`
	Step         Step       `json:"step"`
	TimerEnd     *time.Time `json:"timerEnd,omitempty"`
	CreatedAt    time.Time  `json:"createdAt"`
	Parity       bool       `json:"parity"`
	Facilitators []string   `json:"facilitators"`
	Rapporteur   string     `json:"rapporteur,omitempty"` // member id
	Purged       bool       `json:"purged"`
	// DateOutsideWindow warns that the meeting's date is outside the
	// template's recommended window.
	DateOutsideWindow bool `json:"dateOutsideWindow"`
	Present           int  `json:"present"`       // members checked in now
	PresentRemote     int  `json:"presentRemote"` // of which remote
	Members           int  `json:"members"`       // members on the list
}

// MemberView is the value of KindMember. Email, Phone and Attendance are
// empty in the redacted view.
type MemberView struct {
	ID            string     `json:"id"`
	Name          string     `json:"name"`
	ActionGroupID string     `json:"actionGroupId,omitempty"`
	Email         string     `json:"email,omitempty"`
	Phone         string     `json:"phone,omitempty"`
	Present       bool       `json:"present"`
	Remote        bool       `json:"remote"`
	Attendance    []Presence `json:"attendance,omitempty"`
	GroupID       string     `json:"groupId,omitempty"`
	// Eligible tells whether the member may be a referent, Reason why not.
	Eligible bool   `json:"eligible"`
	Reason   string `json:"reason,omitempty"`
}

// CheckView is the value of KindCheck. Answers (by member id) are in the
// full view only; the result is in both.
type CheckView struct {
	ID       string                  `json:"id"`
	Binome   string                  `json:"binome"`
	Pair     [2]string               `json:"pair"`
	Open     bool                    `json:"open"`
	OpenedAt time.Time               `json:"openedAt"`
	ClosedAt *time.Time              `json:"closedAt,omitempty"`
	Result   CheckResult             `json:"result"`
	Answers  map[string]*CheckAnswer `json:"answers,omitempty"`
}

// CheckResult counts the answers of a consensus check and lists the
// objections (with their arguments), standing ones first.
type CheckResult struct {
	Support     int         `json:"support"`
	Reservation int         `json:"reservation"`
	Objection   int         `json:"objection"`
	Standing    int         `json:"standing"` // objections that still stand
	Answers     int         `json:"answers"`  // how many answered
	Objections  []Objection `json:"objections"`
}

// Objection is one objection of a check. MemberID and Name are empty in
// the redacted view; No numbers the objections in a stable order.
type Objection struct {
	No       int    `json:"no"`
	MemberID string `json:"memberId,omitempty"`
	Name     string `json:"name,omitempty"`
	Argument string `json:"argument"`
	Standing bool   `json:"standing"`
}

// Result computes the check's result for audience a.
func (s *State) checkResult(c *ConsensusCheck, a Audience) CheckResult {
	r := CheckResult{Objections: []Objection{}}
	for _, id := range sortedKeys(c.Answers) {
		ans := c.Answers[id]
		r.Answers++
		switch ans.Kind {
		case AnswerSupport:
			r.Support++
		case AnswerReservation:
			r.Reservation++
		case AnswerObjection:
			r.Objection++
			o := Objection{No: r.Objection, Argument: ans.Argument, Standing: ans.Standing}
			if ans.Standing {
				r.Standing++
			}
			if a == Full {
				o.MemberID = id
				if m := s.Members[id]; m != nil {
					o.Name = m.Name
				}
			}
			r.Objections = append(r.Objections, o)
		}
	}
	slices.SortStableFunc(r.Objections, func(x, y Objection) int {
		if x.Standing != y.Standing {
			if x.Standing {
				return -1
			}
			return 1
		}
		return x.No - y.No
	})
	return r
}

func (s *State) meetingView() MeetingView {
	v := MeetingView{
		Created: s.Created, Info: s.Info, JoinCode: s.JoinCode, Template: s.Template, Step: s.Step,
		TimerEnd: s.TimerEnd, CreatedAt: s.CreatedAt, Parity: s.Parity, Facilitators: s.Facilitators,
		Rapporteur: s.Rapporteur, Purged: s.Purged, Members: len(s.Members),
	}
	if v.Facilitators == nil {
		v.Facilitators = []string{}
	}
	if s.Info.Date != "" && s.Template.WindowStart != "" {
		v.DateOutsideWindow = s.Info.Date < s.Template.WindowStart || s.Info.Date > s.Template.WindowEnd
	}
	for _, m := range s.Members {
		if m.Present {
			v.Present++
			if m.Remote {
				v.PresentRemote++
			}
		}
	}
	return v
}

func (s *State) memberView(m *Member, a Audience) MemberView {
	v := MemberView{ID: m.ID, Name: m.Name, ActionGroupID: m.ActionGroupID, Present: m.Present, Remote: m.Remote, GroupID: m.GroupID}
	v.Eligible, v.Reason = s.MemberEligibility(m.ID)
	if a == Full {
		v.Email, v.Phone = m.Email, m.Phone
		v.Attendance = m.Attendance
	}
	return v
}

func (s *State) checkView(c *ConsensusCheck, a Audience) CheckView {
	v := CheckView{ID: c.ID, Binome: c.Binome, Pair: c.Pair, Open: c.Open, OpenedAt: c.OpenedAt, ClosedAt: c.ClosedAt,
		Result: s.checkResult(c, a)}
	if a == Full {
		v.Answers = c.Answers
	}
	return v
}

// View is the whole state as audience a may see it (a snapshot on the
// wire): a StateView. It shares the state's values: encode it before the
// next Apply.
func (s *State) View(a Audience) any {
	return s.view(a)
}

func (s *State) view(a Audience) StateView {
	v := StateView{
		ID: s.ID, Seq: s.Seq, Audience: a.String(), Meeting: s.meetingView(),
		ActionGroups: s.ActionGroups, Members: make(map[string]MemberView, len(s.Members)),
		Bilans: s.Bilans, Profiles: s.Profiles, Groups: s.Groups,
		Checks: make(map[string]CheckView, len(s.Checks)), Decisions: s.Decisions,
		Merges: make(map[string]Merge, len(s.Template.Binomes)),
	}
	for id, m := range s.Members {
		v.Members[id] = s.memberView(m, a)
	}
	for id, c := range s.Checks {
		v.Checks[id] = s.checkView(c, a)
	}
	for _, b := range s.Template.Binomes {
		v.Merges[b.Key] = s.Merge(b.Key)
	}
	return v
}

// ChangesFor is the value of each changed entity as audience a may see it:
// for each Ref, the same value View holds under that kind and id, or nil
// when the entity is gone.
func (s *State) ChangesFor(ch Changes, a Audience) []Change {
	out := make([]Change, 0, len(ch))
	for _, r := range ch {
		out = append(out, Change{Kind: r.Kind, ID: r.ID, Value: s.entityView(r, a)})
	}
	return out
}

// entityView is the value of one entity for audience a (nil when absent).
// The nil returns are typed nil pointers turned into untyped nil, so that a
// removed entity encodes as null.
func (s *State) entityView(r Ref, a Audience) any {
	switch r.Kind {
	case KindMeeting:
		return s.meetingView()
	case KindActionGroup:
		if ag := s.ActionGroups[r.ID]; ag != nil {
			return ag
		}
	case KindMember:
		if m := s.Members[r.ID]; m != nil {
			return s.memberView(m, a)
		}
	case KindProfile:
		if p := s.Profiles[r.ID]; p != nil {
			return p
		}
	case KindGroup:
		if g := s.Groups[r.ID]; g != nil {
			return g
		}
	case KindList:
		if g, b, ok := SplitListID(r.ID); ok && s.Groups[g] != nil {
			if l := s.Groups[g].Lists[b]; l != nil {
				return l
			}
		}
	case KindBilan:
		if b, ok := s.Bilans[r.ID]; ok {
			return b
		}
	case KindCheck:
		if c := s.Checks[r.ID]; c != nil {
			return s.checkView(c, a)
		}
	case KindDecision:
		if d := s.Decisions[r.ID]; d != nil {
			return d
		}
	case KindMerge:
		if s.Template.binomeIndex(r.ID) >= 0 {
			return s.Merge(r.ID)
		}
	}
	return nil
}

// Lens is what one connection follows of the breakout groups' lists: all of
// them (facilitators, the meeting's rapporteur, the projector), or, for a
// participant, only its own group's. A phone shows its own group's lists
// and the plenary merge, never another group's lists; leaving those out of
// its view is what lets the server send a group's list edits (the bulk of
// the traffic at steps IV–V) only to that group's phones.
type Lens struct {
	Audience Audience
	// OwnGroupOnly: the lists of every group but Group are left out.
	OwnGroupOnly bool
	Group        string // the participant's breakout group, "" for none
}

// LensOf is the lens of an actor now.
func (s *State) LensOf(a Actor) Lens {
	l := Lens{Audience: s.AudienceOf(a)}
	if l.Audience == Redacted && a.MemberID != "" {
		l.OwnGroupOnly = true
		if m := s.Members[a.MemberID]; m != nil {
			l.Group = m.GroupID
		}
	}
	return l
}

// ViewFor is the whole state as lens l sees it: View(l.Audience), where,
// for a participant, every other group is its Outline.
func (s *State) ViewFor(l Lens) any {
	v := s.view(l.Audience)
	if l.OwnGroupOnly {
		v.Groups = make(map[string]*Group, len(s.Groups))
		for id := range s.Groups {
			if id == l.Group {
				v.Groups[id] = s.Groups[id]
			} else {
				v.Groups[id] = s.Outline(id)
			}
		}
	}
	return v
}

// Outline is breakout group id as a participant of another group sees it:
// everything but its lists (null on the wire). Nil when there is no such
// group.
func (s *State) Outline(id string) *Group {
	g := s.Groups[id]
	if g == nil {
		return nil
	}
	o := *g
	o.Lists = nil
	return &o
}
