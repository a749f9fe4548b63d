package meeting

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
)

func TestReport(t *testing.T) {
	m := richMeeting(t)
	m.ok(OpParitySet, fac, ParitySet{Confirmed: true})
	r := m.s.Report()
	if len(r.Binomes) != 6 || r.Binomes[0].Key != "communication" || r.Rapporteur == nil || r.Rapporteur.MemberID != "x20" || !r.Parity {
		t.Fatalf("report %+v", r)
	}
	com := r.Binomes[0]
	if com.Outcome != OutcomeDesignated || len(com.Designated) != 2 || com.Designated[0].Name != "Alice Roux" ||
		com.Designated[0].Email != "alice@example.org" || com.Designated[0].Phone == "" || com.Designated[0].ActionGroup != "GA Bastide" {
		t.Fatalf("communication %+v", com)
	}
	if com.Check == nil || com.Check.Support != 1 || com.Check.Standing != 1 || com.Check.Objections[0].Argument != "déjà élu·e ailleurs" {
		t.Fatalf("check %+v", com.Check)
	}
	if len(com.Groups) != 4 || !com.Groups[0].Consensus || com.Groups[0].Names[0] != "Alice Roux (GA Bastide)" {
		t.Fatalf("groups %+v", com.Groups)
	}
	caisse := r.Binomes[2]
	if caisse.Outcome != OutcomeNoConsensus || len(caisse.Debated) != 2 || caisse.Debated[1].Email != "bea@example.org" || caisse.Note != "à trancher" {
		t.Fatalf("caisse %+v", caisse)
	}
	if r.Binomes[5].Outcome != OutcomeNoCandidate || r.Binomes[4].Outcome != "" {
		t.Fatal("outcomes of groupes-action / luttes")
	}
	if r.Present != 30 || len(r.Attendance) != 30 || r.Attendance[0].Name != "Alice Roux" {
		t.Fatalf("attendance %d %+v", r.Present, r.Attendance[0])
	}
	var left *Attendance
	for i := range r.Attendance {
		if r.Attendance[i].MemberID == "x29" {
			left = &r.Attendance[i]
		}
	}
	if left == nil || left.Stays[0].Out == nil {
		t.Fatal("departure time missing")
	}

	fr := r.Text("fr")
	for _, want := range []string{"Boucle de Gironde", "## Communication", "Binôme désigné", "Alice Roux (GA Bastide), e-mail alice@example.org",
		"Pas de consensus : profils débattus", "Béa Diallo", "Pas de candidature pertinente", "Non décidé",
		"Vérification du consensus sur Alice Roux (GA Bastide) + Bruno Petit (GA Chartrons) : 1 soutien, 1 réserve, 2 objection (1 maintenue)",
		"objection 1 (maintenue) : déjà élu·e ailleurs", "objection 2 (levée) : pas disponible en juillet",
		"Groupe 1 (binôme au consensus, non transmis)", "Liste d'émargement (30)", "arrivée 20:00", "départ 20:", "Parité de genre des animateur·rices : confirmée",
		"Rapporteur·e de la réunion : Militant·e 20", "Note : à trancher", "Groupe 4 (noms, transmis) : aucun"} {
		if !strings.Contains(fr, want) {
			t.Errorf("French report lacks %q", want)
		}
	}
	en := r.Text("en")
	for _, want := range []string{"Designated pair", "No consensus: debated profiles", "No relevant candidate", "Attendance (30)", "in person"} {
		if !strings.Contains(en, want) {
			t.Errorf("English report lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(fr)
	}

	rows, err := csv.NewReader(bytes.NewReader(r.CSV())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if rows[0][0] != "section" || len(rows) < 1+6+24+30 {
		t.Fatalf("%d csv rows", len(rows))
	}
	found := false
	for _, row := range rows {
		if row[0] == "outcome" && row[1] == "communication" && row[3] == "Alice Roux" && row[5] == "alice@example.org" &&
			strings.HasPrefix(row[6], "'+") == false && strings.Contains(row[7], "support=1") {
			found = true
		}
	}
	if !found {
		t.Fatalf("csv lacks Alice's row: %v", rows[:4])
	}
	if _, err := json.Marshal(r); err != nil {
		t.Fatal(err)
	}
}

func TestReportEdgeCases(t *testing.T) {
	m := newMeeting(t)
	m.ok(OpMeetingUpdate, fac, MeetingUpdate{Info{}})
	r := m.s.Report()
	txt := r.Text("fr")
	if !strings.HasPrefix(txt, "Compte rendu de la réunion de désignation\n") || !strings.Contains(txt, "non confirmée") {
		t.Fatal(txt)
	}
	// A member without action group, with a remote stay; formula-looking cells are neutralised.
	m.ok(OpMemberAdd, fac, MemberAdd{Member{ID: "r1", Name: "=HYPERLINK(x)", Phone: "+33 6 00 00 00 00"}})
	m.checkin("r1", true)
	m.ok(OpRapporteurSet, fac, RapporteurSet{MemberID: "r1"})
	r = m.s.Report()
	if r.Attendance[0].ActionGroup != "" || !r.Attendance[0].Remote {
		t.Fatalf("%+v", r.Attendance)
	}
	if !strings.Contains(r.Text("en"), "remote") || !strings.Contains(r.Text("fr"), "téléphone +33") {
		t.Fatal(r.Text("fr"))
	}
	if !bytes.Contains(r.CSV(), []byte("'=HYPERLINK(x)")) {
		t.Fatalf("csv: %s", r.CSV())
	}
	// An ineligible designated person is flagged in the text (a decision
	// recorded before a certification date was corrected).
	b := basic(t)
	b.step(StepVI)
	b.ok(OpDecisionSet, fac, DecisionSet{Decision{Binome: "caisse", Outcome: OutcomeDesignated, Pair: []string{"pa1", "pb1"}}})
	b.ag("ga2", "GA Chartrons", "")
	if txt := b.s.Report().Text("fr"); !strings.Contains(txt, "[non éligible : not_certified]") {
		t.Fatal(txt)
	}
	// The latest check of a binome is reported when the decision names none.
	b.ag("ga2", "GA Chartrons", "2026-01-01")
	b.ok(OpConsensusOpen, fac, ConsensusOpen{CheckID: "c1", Binome: "caisse", Pair: [2]string{"pa1", "pb1"}})
	b.ok(OpConsensusClose, fac, ConsensusClose{CheckID: "c1"})
	b.ok(OpConsensusOpen, fac, ConsensusOpen{CheckID: "c2", Binome: "caisse", Pair: [2]string{"pa1", "pb3"}})
	if br := b.s.Report().Binomes[2]; br.Check == nil || br.CheckPair[1] != "Membre b3 (GA Chartrons)" {
		t.Fatalf("latest check %+v", br)
	}
	b.ok(OpDecisionSet, fac, DecisionSet{Decision{Binome: "caisse", Outcome: OutcomeDesignated, Pair: []string{"pa1", "pb1"}, CheckID: "c1"}})
	if br := b.s.Report().Binomes[2]; br.CheckPair[1] != "Membre b1 (GA Chartrons)" {
		t.Fatalf("decision's check %+v", br)
	}
	// Times are written in the meeting's zone: Paris by default, the
	// department's own when set, UTC when the zone is unknown.
	tz := newMeeting(t)
	tz.member("r1", "R", "")
	tz.checkin("r1", false) // 18:00:0x UTC
	for zone, want := range map[string]string{"": "arrivée 20:00", "America/Guadeloupe": "arrivée 14:00", "Mars/Olympus": "arrivée 18:00"} {
		tz.ok(OpMeetingUpdate, fac, MeetingUpdate{Info{TimeZone: zone}})
		r := tz.s.Report()
		if txt := r.Text("fr"); !strings.Contains(txt, want) {
			t.Fatalf("zone %q: %s", zone, txt)
		}
		if zone == "" && (r.TimeZone != DefaultTimeZone || !bytes.Contains(r.CSV(), []byte("+02:00"))) {
			t.Fatalf("default zone %q %s", r.TimeZone, r.CSV())
		}
	}
	tz.no(CodeInvalid, OpMeetingUpdate, fac, MeetingUpdate{Info{TimeZone: "Europe/Paris; rm"}})
	tz.no(CodeInvalid, OpMeetingUpdate, fac, MeetingUpdate{Info{TimeZone: strings.Repeat("a", 65)}})
	if p := b.s.person("zz", ""); p.Name != "" || p.label() != "" {
		t.Fatal("unknown person has a name")
	}
}
