package meeting

import (
	"encoding/json"
	"fmt"
	"strings"
)

// This file is the package's contract with the hub, the stores and the
// server. MessageFor is in messages.go, View and ChangesFor in view.go,
// Default2026 and ParseTemplate in template.go.

// Ref names one entity of the state. Kind is one of the Kind* constants.
type Ref struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
}

// Entity kinds of a Ref and of a change on the wire.
const (
	KindMeeting     = "meeting"     // ID "": Info, join code (public: the projector shows it), step, timer, template, parity, facilitators, rapporteur, purged, presence counts
	KindActionGroup = "actionGroup" // ID: action group id
	KindMember      = "member"      // ID: member id
	KindProfile     = "profile"     // ID: profile id
	KindGroup       = "group"       // ID: group id (with its lists)
	KindList        = "list"        // ID: ListID(group id, binome key): one list of a group, when an op changed only that list
	KindBilan       = "bilan"       // ID: binome key
	KindCheck       = "check"       // ID: check id
	KindDecision    = "decision"    // ID: binome key
	KindMerge       = "merge"       // ID: binome key: the recomputed plenary merge
)

// ListID is the id of a KindList entity: the list of binome in group.
// Group ids and binome keys never hold a "/" (cleanID).
func ListID(group, binome string) string { return group + "/" + binome }

// SplitListID is the group id and binome key of a KindList id; ok is false
// when id is not one.
func SplitListID(id string) (group, binome string, ok bool) {
	group, binome, ok = strings.Cut(id, "/")
	return group, binome, ok && group != "" && binome != ""
}

// Changes lists the entities an op changed, sorted by (Kind, ID), without
// duplicates, merges of every binome it touched included.
type Changes []Ref

// Change is one changed entity as an audience sees it. Value is nil when the
// entity was removed (or the audience may not see it).
type Change struct {
	Kind  string `json:"kind"`
	ID    string `json:"id"`
	Value any    `json:"value"`
}

// New returns the empty state of meeting id: its first op must be
// meeting.create.
func New(id string) *State {
	return &State{
		ID:           id,
		Step:         StepBefore,
		Facilitators: []string{},
		ActionGroups: map[string]*ActionGroup{},
		Members:      map[string]*Member{},
		Bilans:       map[string]string{},
		Profiles:     map[string]*Profile{},
		Groups:       map[string]*Group{},
		Checks:       map[string]*ConsensusCheck{},
		Decisions:    map[string]*Decision{},
		Tokens:       map[string]*Token{},
	}
}

// DecodeOp decodes an op strictly: unknown fields, invalid UTF-8 and trailing
// data are refused with a CodeInvalid *Error.
func DecodeOp(data []byte) (*Op, error) {
	var op Op
	if err := decodeStrict(data, &op, maxOpBytes); err != nil {
		return nil, err
	}
	if !validID(op.ID) {
		return nil, invalid("id", "not an op id")
	}
	if op.Type == "" {
		return nil, invalid("type", "required")
	}
	return &op, nil
}

// Check says whether op may be applied to s now: permission by the actor's
// role, the rules, the current step. It returns a *Error, or nil.
func Check(s *State, op *Op) error {
	h, err := precheck(s, op)
	if err != nil {
		return err
	}
	if _, err := h(s, op, false, nil, false); err != nil {
		return err
	}
	return nil
}

// Apply checks op against s and, if it passes, applies it. It is
// deterministic: on a refused op it changes nothing but s.Seq and returns the
// *Error (so a log that holds a refused op replays the same everywhere).
// s.Seq becomes op.Seq in both cases.
func Apply(s *State, op *Op) (Changes, error) {
	if s == nil || op == nil {
		return nil, invalid("", "no op")
	}
	checked, fresh := op.checkedFor(s) // before the state's seq moves
	s.Seq = op.Seq
	h, err := precheck(s, op)
	if err != nil {
		return nil, err
	}
	ch, err := h(s, op, true, checked, fresh)
	if err != nil {
		return nil, err
	}
	return ch, nil
}

// Encode is the whole state, deterministic byte for byte (snapshots,
// replay-equality tests).
func (s *State) Encode() []byte {
	b, err := json.Marshal(s)
	if err != nil {
		// The state holds only strings, numbers, booleans and times from
		// checked ops: it always encodes.
		return nil
	}
	return b
}

// Decode rebuilds a state from Encode's output.
func Decode(data []byte) (*State, error) {
	s := New("")
	if err := json.Unmarshal(data, s); err != nil {
		return nil, fmt.Errorf("meeting: decode state: %w", err)
	}
	s.fillMaps()
	return s, nil
}

// fillMaps makes every nil map of a decoded state empty, as New makes them.
func (s *State) fillMaps() {
	if s.ActionGroups == nil {
		s.ActionGroups = map[string]*ActionGroup{}
	}
	if s.Members == nil {
		s.Members = map[string]*Member{}
	}
	if s.Bilans == nil {
		s.Bilans = map[string]string{}
	}
	if s.Profiles == nil {
		s.Profiles = map[string]*Profile{}
	}
	if s.Groups == nil {
		s.Groups = map[string]*Group{}
	}
	if s.Checks == nil {
		s.Checks = map[string]*ConsensusCheck{}
	}
	if s.Decisions == nil {
		s.Decisions = map[string]*Decision{}
	}
	if s.Tokens == nil {
		s.Tokens = map[string]*Token{}
	}
	if s.Facilitators == nil {
		s.Facilitators = []string{}
	}
	for _, c := range s.Checks {
		if c != nil && c.Answers == nil {
			c.Answers = map[string]*CheckAnswer{}
		}
	}
}

// Authenticate returns the actor of a (non-revoked) token, by the SHA-256
// hex of its secret. A participant who is the meeting's rapporteur gets
// RoleRapporteur.
func (s *State) Authenticate(tokenHash string) (Actor, bool) {
	t := s.Tokens[tokenHash]
	if t == nil || t.Revoked {
		return Actor{}, false
	}
	switch t.Role {
	case RoleParticipant:
		if s.Members[t.MemberID] == nil {
			return Actor{}, false
		}
		if s.Rapporteur != "" && s.Rapporteur == t.MemberID {
			return Actor{Role: RoleRapporteur, MemberID: t.MemberID}, true
		}
		return Actor{Role: RoleParticipant, MemberID: t.MemberID}, true
	case RoleFacilitator, RoleProjector:
		return Actor{Role: t.Role}, true
	}
	return Actor{}, false
}

// SameForEveryAudience tells whether ChangesFor(ch, a) is the same for
// every audience, so that a server may encode it once: true when ch names
// only kinds whose value holds no personal data (list edits, steps,
// merges: the bulk of a meeting). A member (contact details, attendance)
// or a check (who objected) differs by audience, and so does any kind not
// listed here.
func SameForEveryAudience(ch Changes) bool {
	for _, r := range ch {
		switch r.Kind {
		case KindMeeting, KindActionGroup, KindProfile, KindGroup, KindList, KindBilan, KindDecision, KindMerge:
		default:
			return false
		}
	}
	return true
}

// AccessMayChange tells whether an op of type opType that changed ch may
// have changed what a token opens (Authenticate) or the audience it gets
// (AudienceOf): token ops, and ops that change a member or the meeting
// itself (member removed, rapporteur set, purge). The others (list edits,
// the bulk of a meeting) cannot, so a server need not re-check its
// connections after them.
func AccessMayChange(opType string, ch Changes) bool {
	if opType == OpTokenIssue || opType == OpTokenRevoke {
		return true
	}
	for _, r := range ch {
		if r.Kind == KindMember || r.Kind == KindMeeting {
			return true
		}
	}
	return false
}

// AudienceOf is the view an actor receives.
func (s *State) AudienceOf(a Actor) Audience {
	switch a.Role {
	case RoleFacilitator, RoleSystem:
		return Full
	case RoleRapporteur:
		if a.MemberID != "" && a.MemberID == s.Rapporteur {
			return Full
		}
	}
	return Redacted
}
