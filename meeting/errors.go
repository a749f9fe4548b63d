package meeting

import "fmt"

// Code is a stable, machine-readable error code, sent on the wire as is.
type Code string

// The error codes. Every refusal carries one; docs/PROTOCOL.md lists them.
const (
	CodeInvalid         Code = "invalid"          // malformed payload, bad field value
	CodeUnknownOp       Code = "unknown_op"       // op type not known
	CodeNotAllowed      Code = "not_allowed"      // the actor's role may not do this
	CodeNotFound        Code = "not_found"        // a referenced entity does not exist
	CodeConflict        Code = "conflict"         // duplicate id, or the entity is in use
	CodeWrongStep       Code = "wrong_step"       // not at this agenda step
	CodeGroupFull       Code = "group_full"       // breakout group at its cap
	CodeListFull        Code = "list_full"        // pair already has 2 names, or names at the advised max
	CodeIneligible      Code = "ineligible"       // breaks an eligibility rule
	CodeArgumentMissing Code = "argument_missing" // objection without an argument
	CodeClosed          Code = "closed"           // consensus check closed, or meeting closed
	CodePurged          Code = "purged"           // the meeting's personal data was purged
	CodeNotCreated      Code = "not_created"      // the first op must be meeting.create
)

// Error is a refusal with a stable code, the field it concerns (a JSON path
// in the payload, may be empty) and a short English detail for logs and
// developers. Message gives the user-facing text in French or English.
type Error struct {
	Code   Code   `json:"code"`
	Field  string `json:"field,omitempty"`
	Detail string `json:"detail,omitempty"`
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s: %s", e.Code, e.Field, e.Detail)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Detail)
}
