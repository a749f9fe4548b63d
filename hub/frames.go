package hub

import (
	"encoding/json"
	"time"

	"github.com/boucle/designation/meeting"
)

// Frame types on the wire (docs/PROTOCOL.md).
const (
	frameHello    = "hello"
	frameOp       = "op"
	frameWelcome  = "welcome"
	frameSnapshot = "snapshot"
	frameChanges  = "changes"
	frameAck      = "ack"
	frameRefused  = "refused"
	framePresence = "presence"
	frameError    = "error"
	frameStatus   = "status"
)

// CodeUnavailable is the wire code of an op that could not be made durable
// (store down, room rebuilding, server stopping): it was not applied, the
// client sends it again later with the same id.
const CodeUnavailable meeting.Code = "unavailable"

// Connection-level error codes sent in an "error" frame before the server
// closes the socket.
const (
	codeBadHello     = "bad_hello"    // first frame was not a valid hello
	codeBadFrame     = "bad_frame"    // a frame that is not valid JSON or not a known type
	codeNotFound     = "not_found"    // no meeting with that id
	codeUnauthorized = "unauthorized" // no token, or a token that does not open this meeting
)

// helloFrame is the first frame a client sends.
type helloFrame struct {
	Type    string `json:"type"`
	Meeting string `json:"meeting"`
	Token   string `json:"token"`
	LastSeq uint64 `json:"lastSeq"`
	Lang    string `json:"lang"`
	// As picks the cookie when there is no token: "projector" (the screen
	// page: never the facilitator's cookie, even if the browser has it) or
	// "facilitator"; empty tries the facilitator's, then the projector's.
	As string `json:"as"`
	// Batch says the client splits a message on newlines: only then does
	// the server put several frames in one message (a page loaded before
	// the server could would drop such a message).
	Batch bool `json:"batch"`
	// Lists says the client reads changes of kind "list" (one list of a
	// group): only then is a list edit sent as that list rather than as
	// its group whole (see legacyFrames).
	Lists bool `json:"lists"`
}

// opFrame is an intent sent by a client.
type opFrame struct {
	Type    string          `json:"type"`
	ID      string          `json:"id"`
	Op      string          `json:"op"`
	Payload json.RawMessage `json:"payload"`
}

type welcomeFrame struct {
	Type     string       `json:"type"`
	Meeting  string       `json:"meeting"`
	Role     meeting.Role `json:"role"`
	MemberID string       `json:"memberId,omitempty"`
	Audience string       `json:"audience"`
	Seq      uint64       `json:"seq"`
	Now      time.Time    `json:"now"`
}

type snapshotFrame struct {
	Type  string `json:"type"`
	Seq   uint64 `json:"seq"`
	State any    `json:"state"`
}

type changesFrame struct {
	Type    string           `json:"type"`
	Seq     uint64           `json:"seq"`
	OpID    string           `json:"opId"`
	OpType  string           `json:"opType"`
	Changes []meeting.Change `json:"changes"`
}

type ackFrame struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Seq  uint64 `json:"seq"`
}

type refusedFrame struct {
	Type    string       `json:"type"`
	ID      string       `json:"id"`
	Code    meeting.Code `json:"code"`
	Field   string       `json:"field,omitempty"`
	Message string       `json:"message"`
}

type presenceFrame struct {
	Type      string              `json:"type"`
	Connected int                 `json:"connected"`
	Members   []string            `json:"members"`
	Groups    map[string][]string `json:"groups"`
	Screens   int                 `json:"screens"`
	Facilit   int                 `json:"facilitators"`
}

// statusFrame tells the clients whether their edits can be saved now: false
// while the store does not answer (every op is refused "unavailable"; the
// client keeps its state and its unsent ops), true once it answers again.
// Sent on every change, and after the catch-up of a client that connects
// while the store is down.
type statusFrame struct {
	Type      string `json:"type"`
	Available bool   `json:"available"`
}

type errorFrame struct {
	Type    string `json:"type"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// mustJSON encodes a frame built from our own types, which cannot fail to
// encode; a failure is a programming error.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("hub: encode frame: " + err.Error())
	}
	return b
}
