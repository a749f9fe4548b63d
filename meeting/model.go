// Package meeting is the designation procedure as a pure, deterministic
// domain: the state of one meeting, the ops that change it, the rules they
// obey, the plenary merge and the report.
//
// It does no I/O, starts no goroutine and reads no clock: time, identifiers
// and the actor come in the op. The same ops applied in the same order give
// the same state, byte for byte once encoded (see Encode), which is what crash
// recovery, reconnect-resume and multi-instance convergence stand on.
//
// Vocabulary: a "binome" is one of the template's six referent roles (the
// pairs the meeting designates); a "Role" is what an actor may do
// (facilitator, rapporteur, participant, projector, system).
package meeting

import (
	"time"
)

// Step is the meeting's current agenda step.
type Step string

// The agenda steps, in order (see procedure-2026.txt).
const (
	StepBefore Step = "before" // set-up, member list, check-in
	StepI      Step = "I"      // présentation des binômes
	StepII     Step = "II"     // bilan des binômes actuels
	StepIII    Step = "III"    // présentation des profils
	StepIV     Step = "IV"     // groupes : profils recherchés (qualités)
	StepV      Step = "V"      // groupes : étude des profils (shortlists)
	StepVI     Step = "VI"     // mise en commun en plénière
	StepVII    Step = "VII"    // remontées (rapport)
	StepClosed Step = "closed" // meeting over; report still readable until purge
)

// Steps lists every step in agenda order.
var Steps = []Step{StepBefore, StepI, StepII, StepIII, StepIV, StepV, StepVI, StepVII, StepClosed}

// Role is what an actor may do. It is decided by the server from the token,
// never taken from the client.
type Role string

const (
	RoleFacilitator Role = "facilitator" // admin token: configures and decides
	RoleRapporteur  Role = "rapporteur"  // the meeting's rapporteur: a participant who also sees contact details and the report
	RoleParticipant Role = "participant" // a checked-in member (in person or remote)
	RoleProjector   Role = "projector"   // the plenary screen: read-only
	RoleSystem      Role = "system"      // the server itself (meeting creation, joins, expiry)
)

// Audience is the view of the state a connection receives.
type Audience int

const (
	// Full is for facilitators and the meeting's rapporteur: contact details,
	// objection authors, attendance times.
	Full Audience = iota
	// Redacted is for everyone else, the projector included: no e-mail, no
	// phone, no objection author, no token.
	Redacted
)

func (a Audience) String() string {
	if a == Full {
		return "full"
	}
	return "redacted"
}

// Actor is who sent an op: set by the server from the authenticated
// connection.
type Actor struct {
	Role     Role   `json:"role"`
	MemberID string `json:"memberId,omitempty"` // participants and rapporteur
}

// Info is the meeting's descriptive data, set by the facilitators.
type Info struct {
	Title      string `json:"title"`
	Department string `json:"department"`          // e.g. "Gironde (33)"
	Date       string `json:"date"`                // YYYY-MM-DD, may be empty before it is set
	StartTime  string `json:"startTime,omitempty"` // HH:MM local
	Place      string `json:"place"`
	VideoURL   string `json:"videoUrl,omitempty"` // hybrid meetings only; https:// only
	Lang       string `json:"lang"`               // "fr" (default) or "en"
	// TimeZone is the IANA zone the report writes times in (default
	// DefaultTimeZone); overseas departments set theirs.
	TimeZone string `json:"timeZone,omitempty"`
}

// DefaultTimeZone is the zone of a meeting's times when Info.TimeZone is
// empty.
const DefaultTimeZone = "Europe/Paris"

// Template is the set of binomes and rules a meeting runs with. The 2026
// template is the default (see Default2026); another organisation can load
// its own from JSON before step I.
type Template struct {
	ID               string       `json:"id"`    // e.g. "boucles-departementales-2026"
	Title            string       `json:"title"` // human title
	Binomes          []BinomeSpec `json:"binomes"`
	CertifiedBefore  string       `json:"certifiedBefore"`  // YYYY-MM-DD; a group certified strictly before it is eligible
	WindowStart      string       `json:"windowStart"`      // YYYY-MM-DD, recommended meeting window (inclusive)
	WindowEnd        string       `json:"windowEnd"`        // YYYY-MM-DD (inclusive)
	GroupSizeMax     int          `json:"groupSizeMax"`     // breakout group cap (10)
	NamesMaxNoConsen int          `json:"namesMaxNoConsen"` // advised maximum names without consensus (4)
	PairSize         int          `json:"pairSize"`         // 2
}

// BinomeSpec is one of the template's referent roles.
type BinomeSpec struct {
	Key     string `json:"key"`     // stable key, e.g. "communication"
	Title   string `json:"title"`   // French title
	Mission string `json:"mission"` // French mission text, in our own words
	TitleEN string `json:"titleEn,omitempty"`
	// MissionEN is the English mission text, when the template has one.
	MissionEN string `json:"missionEn,omitempty"`
}

// ActionGroup is a groupe d'action (GA). CertifiedOn is empty when the group
// is not certified.
type ActionGroup struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	CertifiedOn string `json:"certifiedOn,omitempty"` // YYYY-MM-DD
}

// Presence is one stay of a member in the room (or the call): arrival and,
// once they left, departure. "Was present" is not "is present".
type Presence struct {
	In  time.Time  `json:"in"`
	Out *time.Time `json:"out,omitempty"`
}

// Member is a member of the boucle départementale.
type Member struct {
	ID            string     `json:"id"`
	Name          string     `json:"name"`
	ActionGroupID string     `json:"actionGroupId,omitempty"`
	Email         string     `json:"email,omitempty"` // Full audience only
	Phone         string     `json:"phone,omitempty"` // Full audience only
	Present       bool       `json:"present"`
	Remote        bool       `json:"remote"`
	Attendance    []Presence `json:"attendance,omitempty"` // Full audience only
	GroupID       string     `json:"groupId,omitempty"`    // breakout group, from step IV
}

// Profile is a candidate profile (step III): always a member of the list.
// There is at most one profile per member.
type Profile struct {
	ID           string   `json:"id"`
	MemberID     string   `json:"memberId"`
	Binomes      []string `json:"binomes"`    // binome keys proposed for, template order
	ProposedBy   string   `json:"proposedBy"` // action group id
	Skills       string   `json:"skills,omitempty"`
	Experience   string   `json:"experience,omitempty"`
	Availability string   `json:"availability,omitempty"`
	Commitments  string   `json:"commitments,omitempty"`
}

// Quality is one line of a group's "qualities sought" list for a binome.
type Quality struct {
	ID   string `json:"id"`
	Text string `json:"text"`
}

// GroupList is what one breakout group says about one binome.
type GroupList struct {
	Qualities []Quality `json:"qualities"`
	// Consensus is true when the group reports a consensus pair (exactly two
	// names), false when it reports the relevant names (at most the
	// template's NamesMaxNoConsen).
	Consensus bool     `json:"consensus"`
	Names     []string `json:"names"` // profile ids, in the order they were added
}

// Group is a breakout group of at most Template.GroupSizeMax members.
type Group struct {
	ID         string `json:"id"`
	Name       string `json:"name"` // "Groupe 1", "Groupe distanciel 1", ...
	Remote     bool   `json:"remote"`
	Rapporteur string `json:"rapporteur,omitempty"` // member id
	Submitted  bool   `json:"submitted"`
	// Pos orders the groups on every screen: the order they were made in.
	Pos   int                   `json:"pos"`
	Lists map[string]*GroupList `json:"lists"` // by binome key; every template binome has one
}

// Answer kinds of a consensus check.
const (
	AnswerSupport     = "support"
	AnswerReservation = "reservation"
	AnswerObjection   = "objection"
)

// CheckAnswer is one participant's answer to a consensus check.
type CheckAnswer struct {
	MemberID string `json:"memberId"` // Full audience only
	Kind     string `json:"kind"`     // support | reservation | objection
	Argument string `json:"argument,omitempty"`
	// Standing is the facilitators' verdict on an objection: true while it
	// stands (the default), false once lifted.
	Standing bool `json:"standing"`
}

// ConsensusCheck is a live check of the assembly's consensus on a pair.
type ConsensusCheck struct {
	ID       string                  `json:"id"`
	Binome   string                  `json:"binome"`
	Pair     [2]string               `json:"pair"` // profile ids
	Open     bool                    `json:"open"`
	OpenedAt time.Time               `json:"openedAt"`
	ClosedAt *time.Time              `json:"closedAt,omitempty"`
	Answers  map[string]*CheckAnswer `json:"answers"` // by member id
}

// Decision outcomes (step VI).
const (
	OutcomeDesignated  = "designated"   // a pair is designated by consensus
	OutcomeNoConsensus = "no_consensus" // the debated profiles go to the national coordinators
	OutcomeNoCandidate = "no_candidate" // no relevant candidate: groups look for new volunteers
)

// Decision records the facilitators' outcome for one binome.
type Decision struct {
	Binome  string    `json:"binome"`
	Outcome string    `json:"outcome"`
	Pair    []string  `json:"pair,omitempty"`    // profile ids, designated only
	Debated []string  `json:"debated,omitempty"` // profile ids, no_consensus only
	CheckID string    `json:"checkId,omitempty"` // the consensus check it rests on, if any
	Note    string    `json:"note,omitempty"`
	At      time.Time `json:"at"`
}

// Token is a credential's record. The state keeps only the SHA-256 of the
// secret (hex), never the secret; tokens never appear in any view.
type Token struct {
	Hash     string    `json:"hash"`
	Role     Role      `json:"role"` // facilitator, projector or participant
	MemberID string    `json:"memberId,omitempty"`
	IssuedAt time.Time `json:"issuedAt"`
	Revoked  bool      `json:"revoked"`
}

// State is one meeting. Maps are keyed by id; encoding/json writes map keys
// sorted, so Encode is deterministic.
type State struct {
	ID       string `json:"id"`
	Seq      uint64 `json:"seq"` // last op applied (refused ops in the log advance it too)
	Created  bool   `json:"created"`
	Info     Info   `json:"info"`
	JoinCode string `json:"joinCode"` // 6 letters, from the meeting.create op

	Template  Template   `json:"template"`
	Step      Step       `json:"step"`
	TimerEnd  *time.Time `json:"timerEnd,omitempty"`
	CreatedAt time.Time  `json:"createdAt"`
	// Parity is the facilitators' confirmation that they are two and at
	// gender parity. No gender is stored.
	Parity       bool     `json:"parity"`
	Facilitators []string `json:"facilitators"` // display names of the two facilitators (free text, at most 2)
	Rapporteur   string   `json:"rapporteur,omitempty"`

	ActionGroups map[string]*ActionGroup    `json:"actionGroups"`
	Members      map[string]*Member         `json:"members"`
	Bilans       map[string]string          `json:"bilans"` // by binome key
	Profiles     map[string]*Profile        `json:"profiles"`
	Groups       map[string]*Group          `json:"groups"`
	Checks       map[string]*ConsensusCheck `json:"checks"`
	Decisions    map[string]*Decision       `json:"decisions"` // by binome key
	Tokens       map[string]*Token          `json:"tokens"`    // by hash; never in a view

	// GroupsMade counts the breakout groups ever made (Group.Pos).
	GroupsMade int `json:"groupsMade"`

	// Purged is true once the facilitators purged the personal data.
	Purged bool `json:"purged"`
}
