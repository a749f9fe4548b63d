package meeting

import (
	"bytes"
	"encoding/json"
	"time"
)

// Op is one intent, ordered by the meeting's actor. ID is a client-made UUID
// (it makes a re-sent op idempotent); Seq, At and Actor are set by the server.
// Payload is the type's payload struct below, as JSON.
type Op struct {
	ID      string          `json:"id"`
	Seq     uint64          `json:"seq,omitempty"`
	Type    string          `json:"type"`
	At      time.Time       `json:"at"`
	Actor   Actor           `json:"actor"`
	Payload json.RawMessage `json:"payload"`

	// checked is the payload the last Check passed, for Apply (never
	// encoded: an op read back from a log has none).
	checked *checkedOp
}

// checkedOp is an op's payload as Check decoded, normalised and passed it
// against state s at seq: while s is still at seq and the op is the same,
// Apply applies it as it is. The server checks an op when it arrives and
// applies it once the log has it; most often nothing came in between, and
// the payload is decoded and checked once, not twice. When s moved on, the
// list edits check it again without decoding it (handleRechecked).
type checkedOp struct {
	s       *State
	seq     uint64
	typ     string
	at      time.Time
	actor   Actor
	raw     json.RawMessage
	payload any // the *P of the op type's handler
}

// keepChecked keeps payload, which passed Check against s now.
func (op *Op) keepChecked(s *State, payload any) {
	op.checked = &checkedOp{s: s, seq: s.Seq, typ: op.Type, at: op.At, actor: op.Actor, raw: op.Payload, payload: payload}
}

// checkedFor is the payload Check kept, when the op has not changed since
// (Apply may set its Seq) and s is the state it was checked against, or
// nil; fresh says s has not changed since either. It is given once: an
// applied payload may be part of the state.
func (op *Op) checkedFor(s *State) (payload any, fresh bool) {
	c := op.checked
	op.checked = nil
	if c == nil || c.s != s || c.typ != op.Type || !c.at.Equal(op.At) ||
		c.actor != op.Actor || !bytes.Equal(c.raw, op.Payload) {
		return nil, false
	}
	return c.payload, c.seq == s.Seq
}

// Op types. Who may send each is in the comment; "group member" means a
// participant whose breakout group is the one named in the payload (the
// facilitators may edit every group too).
const (
	// Set-up and agenda.
	OpMeetingCreate   = "meeting.create"   // system: first op of every meeting
	OpMeetingUpdate   = "meeting.update"   // facilitator
	OpTemplateLoad    = "template.load"    // facilitator, step "before" only
	OpParitySet       = "parity.set"       // facilitator
	OpFacilitatorsSet = "facilitators.set" // facilitator
	OpRapporteurSet   = "rapporteur.set"   // facilitator: the meeting's rapporteur
	OpStepSet         = "step.set"         // facilitator
	OpTimerSet        = "timer.set"        // facilitator

	// Members and attendance.
	OpActionGroupUpsert = "actiongroup.upsert" // facilitator
	OpMemberAdd         = "member.add"         // facilitator
	OpMemberUpdate      = "member.update"      // facilitator
	OpMemberRemove      = "member.remove"      // facilitator; refused once the member is in a profile, group list or check
	OpMembersImport     = "members.import"     // facilitator: a whole CSV at once, all or nothing
	OpMemberCheckIn     = "member.checkin"     // facilitator, or system on join
	OpMemberCheckOut    = "member.checkout"    // facilitator, or the participant themself
	OpTokenIssue        = "token.issue"        // system
	OpTokenRevoke       = "token.revoke"       // facilitator

	// Step II and III.
	OpBilanSet      = "bilan.set"      // facilitator
	OpProfileAdd    = "profile.add"    // facilitator, or a participant for a member of their own action group
	OpProfileUpdate = "profile.update" // same as profile.add
	OpProfileRemove = "profile.remove" // facilitator; refused once the profile is named in a list, check or decision

	// Breakout groups (steps IV-V).
	OpGroupsSplit       = "groups.split"     // facilitator: auto-split of present members
	OpGroupAdd          = "group.add"        // facilitator
	OpGroupRemove       = "group.remove"     // facilitator; only an empty group
	OpGroupMove         = "group.move"       // facilitator
	OpGroupRapporteur   = "group.rapporteur" // facilitator or group member
	OpQualityAdd        = "quality.add"      // group member, steps IV-V
	OpQualityEdit       = "quality.edit"     // group member, steps IV-V
	OpQualityRemove     = "quality.remove"   // group member, steps IV-V
	OpShortlistAdd      = "shortlist.add"    // group member, step V
	OpShortlistRemove   = "shortlist.remove" // group member, step V
	OpShortlistMode     = "shortlist.mode"   // group member, step V: consensus pair or names
	OpGroupSubmit       = "group.submit"     // the group's rapporteur (or a facilitator), step V
	OpConsensusOpen     = "check.open"       // facilitator, step VI
	OpConsensusAnswer   = "check.answer"     // participant (present), while open
	OpConsensusStanding = "check.standing"   // facilitator: an objection stands or is lifted
	OpConsensusClose    = "check.close"      // facilitator
	OpDecisionSet       = "decision.set"     // facilitator, steps VI-VII
	OpDecisionClear     = "decision.clear"   // facilitator

	// End of life.
	OpMeetingPurge = "meeting.purge" // facilitator or system (retention): removes personal data
)

// MeetingCreate is the payload of OpMeetingCreate. The server makes the join
// code and the two tokens; only their hashes are in the op.
type MeetingCreate struct {
	Info               Info      `json:"info"`
	JoinCode           string    `json:"joinCode"`           // 6 upper-case letters
	FacilitatorToken   string    `json:"facilitatorToken"`   // sha-256 hex of the admin secret
	ProjectorToken     string    `json:"projectorToken"`     // sha-256 hex of the projector secret
	Template           *Template `json:"template,omitempty"` // nil: Default2026
	FacilitatorsNames  []string  `json:"facilitators,omitempty"`
	ParityConfirmation bool      `json:"parity,omitempty"`
}

// MeetingUpdate is the payload of OpMeetingUpdate (the whole Info).
type MeetingUpdate struct {
	Info Info `json:"info"`
}

// TemplateLoad is the payload of OpTemplateLoad.
type TemplateLoad struct {
	Template Template `json:"template"`
}

// ParitySet is the payload of OpParitySet.
type ParitySet struct {
	Confirmed bool `json:"confirmed"`
}

// FacilitatorsSet is the payload of OpFacilitatorsSet (at most 2 names).
type FacilitatorsSet struct {
	Names []string `json:"names"`
}

// RapporteurSet is the payload of OpRapporteurSet ("" clears it).
type RapporteurSet struct {
	MemberID string `json:"memberId"`
}

// StepSet is the payload of OpStepSet. TimerEnd, when set, starts the step's
// timer (it must be after the op's time).
type StepSet struct {
	Step     Step       `json:"step"`
	TimerEnd *time.Time `json:"timerEnd,omitempty"`
}

// TimerSet is the payload of OpTimerSet (nil stops the timer).
type TimerSet struct {
	TimerEnd *time.Time `json:"timerEnd"`
}

// ActionGroupUpsert is the payload of OpActionGroupUpsert.
type ActionGroupUpsert struct {
	ActionGroup ActionGroup `json:"actionGroup"`
}

// MemberAdd is the payload of OpMemberAdd and OpMemberUpdate. Only ID, Name,
// ActionGroupID, Email and Phone are read; presence is changed by check-in.
type MemberAdd struct {
	Member Member `json:"member"`
}

// MemberRef is the payload of ops that name a single member
// (OpMemberRemove, OpMemberCheckOut).
type MemberRef struct {
	MemberID string `json:"memberId"`
}

// MembersImport is the payload of OpMembersImport: action groups (new or
// updated) and members (new; a member with the same name and action group as
// an existing one updates its contact details). All or nothing.
type MembersImport struct {
	ActionGroups []ActionGroup `json:"actionGroups"`
	Members      []Member      `json:"members"`
}

// MemberCheckIn is the payload of OpMemberCheckIn.
type MemberCheckIn struct {
	MemberID string `json:"memberId"`
	Remote   bool   `json:"remote"`
}

// TokenIssue is the payload of OpTokenIssue.
type TokenIssue struct {
	Hash     string `json:"hash"` // sha-256 hex of the secret
	Role     Role   `json:"role"`
	MemberID string `json:"memberId,omitempty"`
}

// TokenRevoke is the payload of OpTokenRevoke: one token by hash, or every
// participant token of a member, or the projector's tokens.
type TokenRevoke struct {
	Hash      string `json:"hash,omitempty"`
	MemberID  string `json:"memberId,omitempty"`
	Projector bool   `json:"projector,omitempty"`
}

// BilanSet is the payload of OpBilanSet.
type BilanSet struct {
	Binome string `json:"binome"`
	Text   string `json:"text"`
}

// ProfileSet is the payload of OpProfileAdd and OpProfileUpdate.
type ProfileSet struct {
	Profile Profile `json:"profile"`
}

// ProfileRef is the payload of OpProfileRemove.
type ProfileRef struct {
	ProfileID string `json:"profileId"`
}

// GroupsSplit is the payload of OpGroupsSplit: present members who are not
// yet in a group are split into balanced groups of at most GroupSizeMax,
// remote members in their own groups, members of one action group spread
// across groups. Replace=true first dissolves every group (only while no
// group has content). The algorithm is deterministic (see AutoSplit).
type GroupsSplit struct {
	Replace bool `json:"replace"`
}

// GroupAdd is the payload of OpGroupAdd.
type GroupAdd struct {
	GroupID string `json:"groupId"`
	Name    string `json:"name"`
	Remote  bool   `json:"remote"`
}

// GroupRef is the payload of OpGroupRemove and OpGroupSubmit.
type GroupRef struct {
	GroupID   string `json:"groupId"`
	Submitted bool   `json:"submitted,omitempty"` // OpGroupSubmit: true marks submitted, false reopens
}

// GroupMove is the payload of OpGroupMove ("" takes the member out of any
// group).
type GroupMove struct {
	MemberID string `json:"memberId"`
	GroupID  string `json:"groupId"`
}

// GroupRapporteur is the payload of OpGroupRapporteur.
type GroupRapporteur struct {
	GroupID  string `json:"groupId"`
	MemberID string `json:"memberId"`
}

// QualityOp is the payload of OpQualityAdd, OpQualityEdit (Quality.ID
// names the line) and OpQualityRemove (Quality.Text ignored).
type QualityOp struct {
	GroupID string  `json:"groupId"`
	Binome  string  `json:"binome"`
	Quality Quality `json:"quality"`
}

// ShortlistOp is the payload of OpShortlistAdd and OpShortlistRemove.
type ShortlistOp struct {
	GroupID   string `json:"groupId"`
	Binome    string `json:"binome"`
	ProfileID string `json:"profileId"`
}

// ShortlistMode is the payload of OpShortlistMode.
type ShortlistMode struct {
	GroupID   string `json:"groupId"`
	Binome    string `json:"binome"`
	Consensus bool   `json:"consensus"`
}

// ConsensusOpen is the payload of OpConsensusOpen.
type ConsensusOpen struct {
	CheckID string    `json:"checkId"`
	Binome  string    `json:"binome"`
	Pair    [2]string `json:"pair"`
}

// ConsensusAnswer is the payload of OpConsensusAnswer. An objection must
// carry a non-blank argument. Answering again replaces the earlier answer.
type ConsensusAnswer struct {
	CheckID  string `json:"checkId"`
	Kind     string `json:"kind"`
	Argument string `json:"argument,omitempty"`
}

// ConsensusStanding is the payload of OpConsensusStanding. The objection is
// named by its author (facilitators see authors; the redacted view numbers
// objections by their position in ObjectionIDs order instead).
type ConsensusStanding struct {
	CheckID  string `json:"checkId"`
	MemberID string `json:"memberId"`
	Standing bool   `json:"standing"`
}

// ConsensusClose is the payload of OpConsensusClose.
type ConsensusClose struct {
	CheckID string `json:"checkId"`
}

// DecisionSet is the payload of OpDecisionSet.
type DecisionSet struct {
	Decision Decision `json:"decision"` // At is taken from the op
}

// DecisionClear is the payload of OpDecisionClear.
type DecisionClear struct {
	Binome string `json:"binome"`
}

// MeetingPurge is the payload of OpMeetingPurge (empty).
type MeetingPurge struct{}
