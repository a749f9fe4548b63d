package meeting

// This file is the package's contract with the hub, the stores and the
// server. The bodies are filled in by the domain work (issue #2).

// Ref names one entity of the state. Kind is one of the Kind* constants.
type Ref struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
}

// Entity kinds of a Ref and of a change on the wire.
const (
	KindMeeting     = "meeting"     // ID "": Info, join code (facilitators only), step, timer, template, parity, facilitators, rapporteur, purged
	KindActionGroup = "actionGroup" // ID: action group id
	KindMember      = "member"      // ID: member id
	KindProfile     = "profile"     // ID: profile id
	KindGroup       = "group"       // ID: group id (with its lists)
	KindBilan       = "bilan"       // ID: binome key
	KindCheck       = "check"       // ID: check id
	KindDecision    = "decision"    // ID: binome key
	KindMerge       = "merge"       // ID: binome key: the recomputed plenary merge
)

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

// MessageFor returns the user-facing message of a refusal in "fr" (default)
// or "en".
func (e *Error) MessageFor(lang string) string { panic("todo #2") }

// New returns the empty state of meeting id: its first op must be
// meeting.create.
func New(id string) *State { panic("todo #2") }

// DecodeOp decodes an op strictly: unknown fields, invalid UTF-8 and trailing
// data are refused with a CodeInvalid *Error.
func DecodeOp(data []byte) (*Op, error) { panic("todo #2") }

// Check says whether op may be applied to s now: permission by the actor's
// role, the rules, the current step. It returns a *Error, or nil.
func Check(s *State, op *Op) error { panic("todo #2") }

// Apply checks op against s and, if it passes, applies it. It is
// deterministic: on a refused op it changes nothing but s.Seq and returns the
// *Error (so a log that holds a refused op replays the same everywhere).
// s.Seq becomes op.Seq in both cases.
func Apply(s *State, op *Op) (Changes, error) { panic("todo #2") }

// Encode is the whole state, deterministic byte for byte (snapshots,
// replay-equality tests).
func (s *State) Encode() []byte { panic("todo #2") }

// Decode rebuilds a state from Encode's output.
func Decode(data []byte) (*State, error) { panic("todo #2") }

// View is the whole state as audience a may see it (a snapshot on the wire).
func (s *State) View(a Audience) any { panic("todo #2") }

// ChangesFor is the value of each changed entity as audience a may see it.
func (s *State) ChangesFor(ch Changes, a Audience) []Change { panic("todo #2") }

// Authenticate returns the actor of a (non-revoked) token, by the SHA-256
// hex of its secret. A participant who is the meeting's rapporteur gets
// RoleRapporteur.
func (s *State) Authenticate(tokenHash string) (Actor, bool) { panic("todo #2") }

// AudienceOf is the view an actor receives.
func (s *State) AudienceOf(a Actor) Audience { panic("todo #2") }

// Default2026 is the 2026 template (the default).
func Default2026() Template { panic("todo #2") }

// ParseTemplate decodes and validates a template from JSON.
func ParseTemplate(data []byte) (Template, error) { panic("todo #2") }
