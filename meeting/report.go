package meeting

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // the report's times in the meeting's zone even without a system zone database
)

// Report is the meeting's report (step VII), built from the state: what the
// rapporteur copies into the national form. It holds contact details: only
// the Full audience may get it. Its JSON is the report.json export.
type Report struct {
	MeetingID    string         `json:"meetingId"`
	Info         Info           `json:"info"`
	Template     string         `json:"template"` // template id
	Step         Step           `json:"step"`
	Facilitators []string       `json:"facilitators"`
	Rapporteur   *Person        `json:"rapporteur,omitempty"`
	Parity       bool           `json:"parity"`
	Present      int            `json:"present"` // members who came (at least one arrival)
	Binomes      []BinomeReport `json:"binomes"` // template order
	Attendance   []Attendance   `json:"attendance"`
	Purged       bool           `json:"purged"`
	// TimeZone is the zone Text and CSV write times in.
	TimeZone string `json:"timeZone"`
}

// location is the report's time zone (UTC when the name is unknown).
func (r Report) location() *time.Location {
	if loc, err := time.LoadLocation(r.TimeZone); err == nil && r.TimeZone != "" {
		return loc
	}
	return time.UTC
}

// Person is a member as the report names them, with contact details.
type Person struct {
	ProfileID   string `json:"profileId,omitempty"`
	MemberID    string `json:"memberId"`
	Name        string `json:"name"`
	ActionGroup string `json:"actionGroup"`
	Email       string `json:"email,omitempty"`
	Phone       string `json:"phone,omitempty"`
	Eligible    bool   `json:"eligible"`
	Reason      string `json:"reason,omitempty"`
}

// BinomeReport is the outcome of one binome.
type BinomeReport struct {
	Key     string `json:"key"`
	Title   string `json:"title"`
	Outcome string `json:"outcome"` // designated | no_consensus | no_candidate | "" (not decided)
	// Designated is the pair (designated); Debated the debated profiles
	// (no_consensus).
	Designated []Person `json:"designated"`
	Debated    []Person `json:"debated"`
	Note       string   `json:"note,omitempty"`
	// Groups is each breakout group's position, names resolved.
	Groups []GroupReport `json:"groups"`
	// Check is the result of the consensus check the decision rests on (or
	// the binome's latest check), nil when there was none.
	Check     *CheckResult `json:"check,omitempty"`
	CheckPair []string     `json:"checkPair,omitempty"` // names of the checked pair
}

// GroupReport is one group's list for a binome in the report.
type GroupReport struct {
	Group     string   `json:"group"`
	Consensus bool     `json:"consensus"`
	Submitted bool     `json:"submitted"`
	Names     []string `json:"names"` // "Name (action group)"
}

// Attendance is one line of the attendance list.
type Attendance struct {
	MemberID    string     `json:"memberId"`
	Name        string     `json:"name"`
	ActionGroup string     `json:"actionGroup"`
	Remote      bool       `json:"remote"`
	Stays       []Presence `json:"stays"`
}

// person resolves a profile (or, with profileID "", a member) for the report.
func (s *State) person(profileID, memberID string) Person {
	if p := s.Profiles[profileID]; p != nil {
		memberID = p.MemberID
	}
	pr := Person{ProfileID: profileID, MemberID: memberID}
	if m := s.Members[memberID]; m != nil {
		pr.Name, pr.Email, pr.Phone = m.Name, m.Email, m.Phone
		if ag := s.ActionGroups[m.ActionGroupID]; ag != nil {
			pr.ActionGroup = ag.Name
		}
	}
	pr.Eligible, pr.Reason = s.MemberEligibility(memberID)
	return pr
}

// label is "Name (action group)".
func (p Person) label() string {
	if p.ActionGroup == "" {
		return p.Name
	}
	return p.Name + " (" + p.ActionGroup + ")"
}

// reportCheck is the check a binome's report shows: the decision's, else
// the latest opened for the binome.
func (s *State) reportCheck(k string) *ConsensusCheck {
	if d := s.Decisions[k]; d != nil && d.CheckID != "" {
		if c := s.Checks[d.CheckID]; c != nil {
			return c
		}
	}
	var latest *ConsensusCheck
	for _, id := range sortedKeys(s.Checks) {
		c := s.Checks[id]
		if c.Binome == k && (latest == nil || !c.OpenedAt.Before(latest.OpenedAt)) {
			latest = c
		}
	}
	return latest
}

// Report builds the report from the state.
func (s *State) Report() Report {
	r := Report{
		MeetingID: s.ID, Info: s.Info, Template: s.Template.ID, Step: s.Step,
		Facilitators: slices.Clone(s.Facilitators), Parity: s.Parity, Purged: s.Purged,
		Binomes: []BinomeReport{}, Attendance: []Attendance{}, TimeZone: s.Info.TimeZone,
	}
	if r.TimeZone == "" {
		r.TimeZone = DefaultTimeZone
	}
	if r.Facilitators == nil {
		r.Facilitators = []string{}
	}
	if s.Rapporteur != "" {
		p := s.person("", s.Rapporteur)
		r.Rapporteur = &p
	}
	for _, b := range s.Template.Binomes {
		br := BinomeReport{Key: b.Key, Title: b.Title, Designated: []Person{}, Debated: []Person{}, Groups: []GroupReport{}}
		if d := s.Decisions[b.Key]; d != nil {
			br.Outcome, br.Note = d.Outcome, d.Note
			for _, id := range d.Pair {
				br.Designated = append(br.Designated, s.person(id, ""))
			}
			for _, id := range d.Debated {
				br.Debated = append(br.Debated, s.person(id, ""))
			}
		}
		for _, g := range s.orderedGroups() {
			l := g.Lists[b.Key]
			gr := GroupReport{Group: g.Name, Submitted: g.Submitted, Names: []string{}}
			if l != nil {
				gr.Consensus = l.Consensus
				for _, id := range l.Names {
					gr.Names = append(gr.Names, s.person(id, "").label())
				}
			}
			br.Groups = append(br.Groups, gr)
		}
		if c := s.reportCheck(b.Key); c != nil {
			res := s.checkResult(c, Full)
			br.Check = &res
			br.CheckPair = []string{s.person(c.Pair[0], "").label(), s.person(c.Pair[1], "").label()}
		}
		r.Binomes = append(r.Binomes, br)
	}
	for _, id := range sortedKeys(s.Members) {
		m := s.Members[id]
		if len(m.Attendance) == 0 {
			continue
		}
		r.Present++
		p := s.person("", id)
		r.Attendance = append(r.Attendance, Attendance{MemberID: id, Name: m.Name, ActionGroup: p.ActionGroup, Remote: m.Remote, Stays: slices.Clone(m.Attendance)})
	}
	slices.SortStableFunc(r.Attendance, func(a, b Attendance) int {
		if c := collate(a.Name, b.Name); c != 0 {
			return c
		}
		return collate(a.ActionGroup, b.ActionGroup)
	})
	return r
}

// reportWords are the report's fixed texts in French and English.
type reportWords struct {
	report, department, date, place, facilitators, rapporteur, parity, parityYes, parityNo,
	designated, noConsensus, noCandidate, undecided, debated, groups, consensusPair, names,
	submitted, notSubmitted, check, support, reservation, objection, standing, lifted,
	attendance, remote, inPerson, arrived, left, none, note, email, phone, notEligible string
}

func wordsFor(lang string) reportWords {
	if lang == "en" {
		return reportWords{"Designation meeting report", "Department", "Date", "Place", "Facilitators", "Meeting rapporteur",
			"Gender parity of the facilitators", "confirmed", "not confirmed",
			"Designated pair", "No consensus: debated profiles", "No relevant candidate: the action groups look for new volunteers",
			"Not decided", "Debated", "Breakout groups", "consensus pair", "names", "submitted", "not submitted",
			"Consensus check on", "support", "reservation", "objection", "stands", "lifted",
			"Attendance", "remote", "in person", "arrived", "left", "none", "Note", "e-mail", "phone", "not eligible"}
	}
	return reportWords{"Compte rendu de la réunion de désignation", "Département", "Date", "Lieu", "Animateur·rices", "Rapporteur·e de la réunion",
		"Parité de genre des animateur·rices", "confirmée", "non confirmée",
		"Binôme désigné", "Pas de consensus : profils débattus", "Pas de candidature pertinente : les groupes d'action cherchent de nouveaux·elles volontaires",
		"Non décidé", "Débattu", "Petits groupes", "binôme au consensus", "noms", "transmis", "non transmis",
		"Vérification du consensus sur", "soutien", "réserve", "objection", "maintenue", "levée",
		"Liste d'émargement", "à distance", "sur place", "arrivée", "départ", "aucun", "Note", "e-mail", "téléphone", "non éligible"}
}

// Text is the report as copy-ready plain text for the national form, in
// French (default) or English ("en"). Times are in the report's zone.
func (r Report) Text(lang string) string {
	w := wordsFor(lang)
	loc := r.location()
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	title := r.Info.Title
	if title == "" {
		title = w.report
	}
	line("%s", title)
	line("%s", strings.Repeat("=", len([]rune(title))))
	line("%s : %s", w.department, r.Info.Department)
	line("%s : %s %s", w.date, r.Info.Date, r.Info.StartTime)
	line("%s : %s", w.place, r.Info.Place)
	line("%s : %s", w.facilitators, strings.Join(r.Facilitators, ", "))
	parity := w.parityNo
	if r.Parity {
		parity = w.parityYes
	}
	line("%s : %s", w.parity, parity)
	if r.Rapporteur != nil {
		line("%s : %s", w.rapporteur, contactLine(*r.Rapporteur, w))
	}
	for _, br := range r.Binomes {
		line("")
		line("## %s", br.Title)
		switch br.Outcome {
		case OutcomeDesignated:
			line("%s :", w.designated)
			for _, p := range br.Designated {
				line("- %s", contactLine(p, w))
			}
		case OutcomeNoConsensus:
			line("%s :", w.noConsensus)
			for _, p := range br.Debated {
				line("- %s", contactLine(p, w))
			}
		case OutcomeNoCandidate:
			line("%s", w.noCandidate)
		default:
			line("%s", w.undecided)
		}
		if br.Note != "" {
			line("%s : %s", w.note, br.Note)
		}
		if len(br.Groups) > 0 {
			line("%s :", w.groups)
			for _, g := range br.Groups {
				mode := w.names
				if g.Consensus {
					mode = w.consensusPair
				}
				sub := w.notSubmitted
				if g.Submitted {
					sub = w.submitted
				}
				names := strings.Join(g.Names, ", ")
				if names == "" {
					names = w.none
				}
				line("- %s (%s, %s) : %s", g.Group, mode, sub, names)
			}
		}
		if c := br.Check; c != nil {
			line("%s %s : %d %s, %d %s, %d %s (%d %s)", w.check, strings.Join(br.CheckPair, " + "),
				c.Support, w.support, c.Reservation, w.reservation, c.Objection, w.objection, c.Standing, w.standing)
			for _, o := range c.Objections {
				st := w.lifted
				if o.Standing {
					st = w.standing
				}
				line("- %s %d (%s) : %s", w.objection, o.No, st, oneLine(o.Argument))
			}
		}
	}
	line("")
	line("## %s (%d)", w.attendance, len(r.Attendance))
	for _, a := range r.Attendance {
		where := w.inPerson
		if a.Remote {
			where = w.remote
		}
		var stays []string
		for _, st := range a.Stays {
			s := w.arrived + " " + st.In.In(loc).Format("15:04")
			if st.Out != nil {
				s += ", " + w.left + " " + st.Out.In(loc).Format("15:04")
			}
			stays = append(stays, s)
		}
		line("- %s (%s), %s : %s", a.Name, a.ActionGroup, where, strings.Join(stays, " ; "))
	}
	return b.String()
}

func contactLine(p Person, w reportWords) string {
	s := p.label()
	if p.Email != "" {
		s += ", " + w.email + " " + p.Email
	}
	if p.Phone != "" {
		s += ", " + w.phone + " " + p.Phone
	}
	if !p.Eligible && p.ProfileID != "" {
		s += " [" + w.notEligible + " : " + p.Reason + "]"
	}
	return s
}

func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }

// CSV is the report as CSV (comma-separated, UTF-8, header first): one row
// per person named in an outcome (designated or debated), one per binome
// without names, then one per attendance stay. Columns: section, binome,
// outcome, name, action group, e-mail, phone, detail.
func (r Report) CSV() []byte {
	var buf bytes.Buffer
	loc := r.location()
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"section", "binome", "outcome", "name", "action_group", "email", "phone", "detail"})
	for _, br := range r.Binomes {
		people := append(slices.Clone(br.Designated), br.Debated...)
		detail := ""
		if c := br.Check; c != nil {
			detail = fmt.Sprintf("support=%d reservation=%d objection=%d standing=%d", c.Support, c.Reservation, c.Objection, c.Standing)
		}
		if len(people) == 0 {
			_ = w.Write(csvRow("outcome", br.Key, br.Outcome, "", "", "", "", detail))
		}
		for _, p := range people {
			_ = w.Write(csvRow("outcome", br.Key, br.Outcome, p.Name, p.ActionGroup, p.Email, p.Phone, detail))
		}
		for _, g := range br.Groups {
			mode := "names"
			if g.Consensus {
				mode = "consensus"
			}
			_ = w.Write(csvRow("group", br.Key, mode, g.Group, "", "", "", strings.Join(g.Names, "; ")))
		}
	}
	for _, a := range r.Attendance {
		for _, st := range a.Stays {
			out := ""
			if st.Out != nil {
				out = st.Out.In(loc).Format(time.RFC3339)
			}
			where := "in_person"
			if a.Remote {
				where = "remote"
			}
			_ = w.Write(csvRow("attendance", "", where, a.Name, a.ActionGroup, "", "", st.In.In(loc).Format(time.RFC3339)+" "+out))
		}
	}
	w.Flush()
	return buf.Bytes()
}

// csvRow neutralises cells a spreadsheet would run as a formula.
func csvRow(cells ...string) []string {
	for i, c := range cells {
		if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
			cells[i] = "'" + c
		}
	}
	return cells
}
