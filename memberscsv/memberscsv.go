// Package memberscsv reads a member list exported from Action Populaire (or
// typed in a spreadsheet): one member per line with their name, action
// group, the group's certification date, e-mail and phone. It is tolerant of
// what spreadsheets produce (';' or ',' separators, a UTF-8 byte order mark,
// French header names with or without accents, dates as YYYY-MM-DD or
// DD/MM/YYYY) and strict about the content: every problem is reported with
// its line, so the facilitators can fix the file and import it all at once.
//
// It is pure: no I/O beyond the reader it is given, no clock, no randomness.
package memberscsv

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits of one import.
const (
	MaxMembers  = 5000 // lines of members
	MaxFieldLen = 200  // bytes per field
)

// Member is one line of the file.
type Member struct {
	Line        int    `json:"line"` // 1-based line of the file
	Name        string `json:"name"`
	ActionGroup string `json:"actionGroup,omitempty"`
	Email       string `json:"email,omitempty"`
	Phone       string `json:"phone,omitempty"`
}

// ActionGroup is an action group named in the file, with its certification
// date (YYYY-MM-DD) when the file gives one.
type ActionGroup struct {
	Name        string `json:"name"`
	CertifiedOn string `json:"certifiedOn,omitempty"`
}

// LineError is a problem on one line (line 0: the whole file).
type LineError struct {
	Line    int    `json:"line"`
	Message string `json:"message"`
}

// Result is what Parse found. Errors is empty when the file can be imported
// as is.
type Result struct {
	ActionGroups []ActionGroup `json:"actionGroups"`
	Members      []Member      `json:"members"`
	Errors       []LineError   `json:"errors"`
}

// column roles.
const (
	colFullName = iota
	colFirstName
	colLastName
	colGroup
	colCertified
	colEmail
	colPhone
)

// headerNames maps folded header names to their column role. "nom" alone is
// a last name when there is a first name column, else the full name.
func headerRole(h string) (int, bool) {
	switch h {
	case "nom complet", "name", "full name", "nom et prenom", "prenom et nom", "nom prenom", "prenom nom", "membre", "personne", "participant", "participante":
		return colFullName, true
	case "prenom", "first name", "firstname", "given name":
		return colFirstName, true
	case "nom", "nom de famille", "last name", "lastname", "surname", "family name":
		return colLastName, true
	case "groupe d'action", "groupe daction", "groupe d action", "groupe", "ga", "action group", "group", "nom du groupe", "groupe d'action (ga)":
		return colGroup, true
	case "date de certification", "certification", "certifie le", "date certification", "certified on", "certification date",
		"date de certification du groupe", "certification du groupe", "groupe certifie le":
		return colCertified, true
	case "email", "e-mail", "mail", "courriel", "adresse email", "adresse e-mail", "adresse mail", "e mail":
		return colEmail, true
	case "telephone", "tel", "tel.", "phone", "mobile", "portable", "numero de telephone", "telephone mobile", "phone number":
		return colPhone, true
	}
	return 0, false
}

// Parse reads the whole file. It never fails: problems are in Result.Errors
// (by line); the lists hold what could be read, for the preview.
func Parse(r io.Reader) Result {
	res := Result{ActionGroups: []ActionGroup{}, Members: []Member{}, Errors: []LineError{}}
	data, err := io.ReadAll(io.LimitReader(r, 16<<20))
	if err != nil {
		res.Errors = append(res.Errors, LineError{0, "cannot read the file: " + err.Error()})
		return res
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if len(bytes.TrimSpace(data)) == 0 {
		res.Errors = append(res.Errors, LineError{0, "the file is empty"})
		return res
	}
	if !utf8.Valid(data) {
		line := 1 + bytes.Count(data[:firstInvalid(data)], []byte("\n"))
		res.Errors = append(res.Errors, LineError{line, "the file is not UTF-8 text (save it as CSV UTF-8)"})
		return res
	}
	rd := csv.NewReader(bytes.NewReader(data))
	rd.Comma = sniffSeparator(data)
	rd.FieldsPerRecord = -1
	rd.LazyQuotes = true
	rd.TrimLeadingSpace = true

	header, err := rd.Read()
	if err != nil {
		res.Errors = append(res.Errors, LineError{1, "cannot read the header line: " + csvMessage(err)})
		return res
	}
	cols := map[int]int{} // role -> column index
	for i, h := range header {
		role, ok := headerRole(Fold(strings.TrimSpace(h)))
		if !ok {
			continue
		}
		if _, dup := cols[role]; dup {
			res.Errors = append(res.Errors, LineError{1, fmt.Sprintf("column %q appears twice", strings.TrimSpace(h))})
			return res
		}
		cols[role] = i
	}
	// "nom" alone (no first name column) is the full name.
	if _, hasFirst := cols[colFirstName]; !hasFirst {
		if i, ok := cols[colLastName]; ok {
			if _, hasFull := cols[colFullName]; !hasFull {
				cols[colFullName] = i
				delete(cols, colLastName)
			}
		}
	}
	_, hasFull := cols[colFullName]
	_, hasFirst := cols[colFirstName]
	_, hasLast := cols[colLastName]
	if !hasFull && !hasFirst && !hasLast {
		res.Errors = append(res.Errors, LineError{1, "no name column (expected \"Nom\", \"Prénom\" or \"Nom complet\")"})
		return res
	}

	groups := map[string]int{}   // folded name -> index in res.ActionGroups
	certLine := map[string]int{} // folded group -> line that set its date
	seen := map[string]int{}     // folded name + group -> line
	for {
		rec, err := rd.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			line := 0
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line = pe.Line
			}
			res.Errors = append(res.Errors, LineError{line, csvMessage(err)})
			if pe == nil {
				break
			}
			continue
		}
		line, _ := rd.FieldPos(0)
		if blank(rec) {
			continue
		}
		if len(res.Members) >= MaxMembers {
			res.Errors = append(res.Errors, LineError{line, fmt.Sprintf("too many members (%d at most)", MaxMembers)})
			break
		}
		field := func(role int) string {
			i, ok := cols[role]
			if !ok || i >= len(rec) {
				return ""
			}
			return cleanSpace(rec[i])
		}
		lineErr := func(format string, args ...any) {
			res.Errors = append(res.Errors, LineError{line, fmt.Sprintf(format, args...)})
		}
		name := field(colFullName)
		if name == "" {
			name = cleanSpace(field(colFirstName) + " " + field(colLastName))
		}
		m := Member{Line: line, Name: name, ActionGroup: field(colGroup), Email: field(colEmail), Phone: field(colPhone)}
		ok := true
		for _, v := range []string{m.Name, m.ActionGroup, m.Email, m.Phone, field(colCertified)} {
			if len(v) > MaxFieldLen {
				lineErr("a field is longer than %d characters", MaxFieldLen)
				ok = false
				break
			}
		}
		if m.Name == "" {
			lineErr("the name is missing")
			ok = false
		}
		if m.Email != "" && !validEmail(m.Email) {
			lineErr("invalid e-mail address")
			ok = false
		}
		if m.Phone != "" && !validPhone(m.Phone) {
			lineErr("invalid phone number")
			ok = false
		}
		cert := field(colCertified)
		if cert != "" {
			d, good := parseDate(cert)
			if !good {
				lineErr("invalid certification date %q (expected YYYY-MM-DD or DD/MM/YYYY)", cert)
				ok = false
			}
			cert = d
		}
		if cert != "" && m.ActionGroup == "" {
			lineErr("a certification date without an action group")
			ok = false
		}
		if m.ActionGroup != "" {
			key := Fold(m.ActionGroup)
			i, known := groups[key]
			if !known {
				groups[key] = len(res.ActionGroups)
				res.ActionGroups = append(res.ActionGroups, ActionGroup{Name: m.ActionGroup, CertifiedOn: cert})
				if cert != "" {
					certLine[key] = line
				}
			} else if cert != "" {
				g := &res.ActionGroups[i]
				switch {
				case g.CertifiedOn == "":
					g.CertifiedOn = cert
					certLine[key] = line
				case g.CertifiedOn != cert:
					lineErr("action group %q has another certification date on line %d", m.ActionGroup, certLine[key])
					ok = false
				}
			}
			m.ActionGroup = res.ActionGroups[groups[key]].Name
		}
		if m.Name != "" {
			key := Fold(m.Name) + "\x00" + Fold(m.ActionGroup)
			if first, dup := seen[key]; dup {
				lineErr("same member as line %d", first)
				ok = false
			} else {
				seen[key] = line
			}
		}
		if ok {
			res.Members = append(res.Members, m)
		}
	}
	if len(res.Members) == 0 && len(res.Errors) == 0 {
		res.Errors = append(res.Errors, LineError{0, "no member in the file"})
	}
	return res
}

func firstInvalid(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return len(b)
}

func csvMessage(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return "malformed CSV: " + pe.Err.Error()
	}
	return "malformed CSV"
}

// sniffSeparator picks ';', ',' or tab from the header line (outside quotes).
func sniffSeparator(data []byte) rune {
	counts := map[rune]int{}
	inQuotes := false
	for _, r := range string(data) {
		if r == '"' {
			inQuotes = !inQuotes
			continue
		}
		if inQuotes {
			continue
		}
		if r == '\n' {
			break
		}
		if r == ';' || r == ',' || r == '\t' {
			counts[r]++
		}
	}
	best := ','
	for _, r := range []rune{';', '\t'} {
		if counts[r] > counts[best] {
			best = r
		}
	}
	return best
}

func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// cleanSpace trims and collapses runs of white space (a typed list has
// double spaces and non-breaking ones).
func cleanSpace(s string) string {
	return strings.Join(strings.FieldsFunc(s, unicode.IsSpace), " ")
}

func validEmail(s string) bool {
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || strings.ContainsAny(s, " ,;<>\"") {
		return false
	}
	domain := s[at+1:]
	return strings.Contains(domain, ".") && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}

func validPhone(s string) bool {
	digits := 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '+' || r == ' ' || r == '.' || r == '-' || r == '(' || r == ')':
		default:
			return false
		}
	}
	return digits >= 6 && digits <= 15
}

// parseDate accepts YYYY-MM-DD, DD/MM/YYYY (or D/M/YYYY, or with '-' or
// '.'), optionally followed by a time, and returns YYYY-MM-DD.
func parseDate(s string) (string, bool) {
	if i := strings.IndexAny(s, " T"); i > 0 {
		s = s[:i]
	}
	for _, layout := range []string{"2006-01-02", "02/01/2006", "2/1/2006", "02-01-2006", "2-1-2006", "02.01.2006", "2.1.2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.Format("2006-01-02"), true
		}
	}
	return "", false
}

// Fold lowercases s and removes the accents of Latin letters, so "Élodie"
// and "elodie" compare equal (header names, duplicate detection, member
// search).
func Fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		r = unicode.ToLower(r)
		switch r {
		case 'à', 'â', 'ä', 'á', 'ã', 'å':
			b.WriteByte('a')
		case 'ç':
			b.WriteByte('c')
		case 'é', 'è', 'ê', 'ë':
			b.WriteByte('e')
		case 'î', 'ï', 'í', 'ì':
			b.WriteByte('i')
		case 'ô', 'ö', 'ó', 'ò', 'õ':
			b.WriteByte('o')
		case 'ù', 'û', 'ü', 'ú':
			b.WriteByte('u')
		case 'ÿ', 'ý':
			b.WriteByte('y')
		case 'ñ':
			b.WriteByte('n')
		case 'œ':
			b.WriteString("oe")
		case 'æ':
			b.WriteString("ae")
		case '’', '‘', '`':
			b.WriteByte('\'')
		case '\u00a0':
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
