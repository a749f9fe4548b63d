package meeting

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/boucle/designation/internal/strictjson"
)

// Bounds of the values an op may carry. They keep one op small and every
// screen readable; anything longer is refused, never cut.
const (
	maxNameRunes = 120  // display names, titles, places
	maxTextRunes = 2000 // free texts: bilans, profiles, qualities, arguments, notes
	maxIDLen     = 64   // ids: [A-Za-z0-9_-]
	maxURLLen    = 500
	maxEmailLen  = 254
	maxPhoneLen  = 32
	// maxPayloadBytes bounds a payload (a whole members.import fits);
	// maxOpBytes bounds a whole op, envelope included, so that every op
	// whose payload passed Check decodes again from the log.
	maxPayloadBytes = 1 << 20
	maxOpBytes      = maxPayloadBytes + 64<<10
)

// invalid builds a CodeInvalid refusal.
func invalid(field, format string, args ...any) *Error {
	return &Error{Code: CodeInvalid, Field: field, Detail: fmt.Sprintf(format, args...)}
}

// refuse builds a refusal with any code.
func refuse(code Code, field, format string, args ...any) *Error {
	return &Error{Code: code, Field: field, Detail: fmt.Sprintf(format, args...)}
}

// decodeStrict decodes exactly one JSON value of at most limit bytes into
// v: unknown fields, invalid UTF-8 and trailing data are refused.
func decodeStrict(data []byte, v any, limit int) *Error {
	if len(data) > limit {
		return invalid("", "too large (%d bytes)", len(data))
	}
	if !utf8.Valid(data) {
		return invalid("", "invalid UTF-8")
	}
	switch err := strictjson.Decode(data, v); {
	case errors.Is(err, strictjson.ErrTrailing):
		return invalid("", "trailing data after the JSON value")
	case err != nil:
		return invalid(jsonErrorField(err), "malformed JSON: %v", err)
	}
	return nil
}

// jsonErrorField names the field of a decoding error when encoding/json
// tells it.
func jsonErrorField(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return te.Field
	}
	return ""
}

// decodePayload decodes an op's payload strictly; an absent or null payload
// decodes as the zero value (the ops with an empty payload).
func decodePayload(raw json.RawMessage, v any) *Error {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || bytes.Equal(t, []byte("null")) {
		t = []byte("{}")
	}
	if err := decodeStrict(t, v, maxPayloadBytes); err != nil {
		if err.Field != "" {
			err.Field = "payload." + err.Field
		} else {
			err.Field = "payload"
		}
		return err
	}
	return nil
}

// validRunes refuses control characters (newlines too unless multiline).
func validRunes(s string, multiline bool) bool {
	for _, r := range s {
		if r == '\n' && multiline {
			continue
		}
		// Format characters (bidi overrides, zero-width spaces) can make a
		// name look like another; the zero-width joiner of emoji stays.
		if unicode.IsControl(r) || r == utf8.RuneError || r == '\u2028' || r == '\u2029' ||
			(unicode.Is(unicode.Cf, r) && r != '\u200d') {
			return false
		}
	}
	return true
}

// cleanName trims a one-line name and checks it: required when required,
// at most maxNameRunes, no control character.
func cleanName(field string, v *string, required bool) *Error {
	*v = strings.TrimSpace(*v)
	if *v == "" {
		if required {
			return invalid(field, "required")
		}
		return nil
	}
	if !utf8.ValidString(*v) || !validRunes(*v, false) {
		return invalid(field, "control character")
	}
	if utf8.RuneCountInString(*v) > maxNameRunes {
		return invalid(field, "longer than %d characters", maxNameRunes)
	}
	return nil
}

// cleanText trims a free text (newlines allowed) and checks it.
func cleanText(field string, v *string, required bool) *Error {
	*v = strings.TrimSpace(strings.ReplaceAll(*v, "\r\n", "\n"))
	if *v == "" {
		if required {
			return invalid(field, "required")
		}
		return nil
	}
	if !utf8.ValidString(*v) || !validRunes(*v, true) {
		return invalid(field, "control character")
	}
	if utf8.RuneCountInString(*v) > maxTextRunes {
		return invalid(field, "longer than %d characters", maxTextRunes)
	}
	return nil
}

// validID says whether s is a well-formed id: 1 to 64 of [A-Za-z0-9_-].
func validID(s string) bool {
	if s == "" || len(s) > maxIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// cleanID trims and checks an id; an empty one passes when optional.
func cleanID(field string, v *string, required bool) *Error {
	*v = strings.TrimSpace(*v)
	if *v == "" {
		if required {
			return invalid(field, "required")
		}
		return nil
	}
	if !validID(*v) {
		return invalid(field, "not an id (1 to %d of A-Z a-z 0-9 _ -)", maxIDLen)
	}
	return nil
}

// validDate says whether s is a real calendar date written YYYY-MM-DD.
func validDate(s string) bool {
	if len(s) != 10 {
		return false
	}
	t, err := time.Parse("2006-01-02", s)
	return err == nil && t.Format("2006-01-02") == s
}

// cleanDate trims and checks an optional YYYY-MM-DD date.
func cleanDate(field string, v *string, required bool) *Error {
	*v = strings.TrimSpace(*v)
	if *v == "" {
		if required {
			return invalid(field, "required")
		}
		return nil
	}
	if !validDate(*v) {
		return invalid(field, "not a date (YYYY-MM-DD)")
	}
	return nil
}

// cleanURL trims and checks an optional https:// URL.
func cleanURL(field string, v *string) *Error {
	*v = strings.TrimSpace(*v)
	if *v == "" {
		return nil
	}
	if len(*v) > maxURLLen {
		return invalid(field, "longer than %d characters", maxURLLen)
	}
	if !strings.HasPrefix(*v, "https://") || len(*v) == len("https://") {
		return invalid(field, "only https:// links")
	}
	for _, r := range *v {
		if r <= ' ' || r == '"' || r == '<' || r == '>' || r == '\\' || r == '`' || unicode.IsControl(r) || unicode.IsSpace(r) {
			return invalid(field, "not a link")
		}
	}
	return nil
}

// cleanEmail trims and checks an optional e-mail address (a plausible
// shape, not a deliverability test).
func cleanEmail(field string, v *string) *Error {
	*v = strings.TrimSpace(*v)
	if *v == "" {
		return nil
	}
	at := strings.LastIndexByte(*v, '@')
	if len(*v) > maxEmailLen || at < 1 || at == len(*v)-1 || !strings.Contains((*v)[at:], ".") {
		return invalid(field, "not an e-mail address")
	}
	for _, r := range *v {
		if r <= ' ' || unicode.IsControl(r) || unicode.IsSpace(r) || r == '<' || r == '>' || r == '"' || r == ',' || r == ';' {
			return invalid(field, "not an e-mail address")
		}
	}
	return nil
}

// cleanPhone trims and checks an optional phone number: digits, spaces and
// + . - ( ), at least 4 digits.
func cleanPhone(field string, v *string) *Error {
	*v = strings.TrimSpace(*v)
	if *v == "" {
		return nil
	}
	if len(*v) > maxPhoneLen {
		return invalid(field, "longer than %d characters", maxPhoneLen)
	}
	digits := 0
	for _, r := range *v {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == ' ' || r == '+' || r == '.' || r == '-' || r == '(' || r == ')':
		default:
			return invalid(field, "not a phone number")
		}
	}
	if digits < 4 {
		return invalid(field, "not a phone number")
	}
	return nil
}

// validHash says whether s is a lower-case SHA-256 hex digest.
func validHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// validJoinCode says whether s is 6 upper-case ASCII letters.
func validJoinCode(s string) bool {
	if len(s) != 6 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// validClock says whether s is HH:MM (24 h).
func validClock(s string) bool {
	if len(s) != 5 {
		return false
	}
	t, err := time.Parse("15:04", s)
	return err == nil && t.Format("15:04") == s
}

// validZoneName says whether s looks like an IANA zone name ("" allowed):
// the state never depends on the machine's zone database, only the report's
// rendering does.
func validZoneName(s string) bool {
	if len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '+' || c == '/') {
			return false
		}
	}
	return true
}
