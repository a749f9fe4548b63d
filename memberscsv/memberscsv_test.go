package memberscsv

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		members []Member
		groups  []ActionGroup
		errors  []LineError
	}{
		{
			name: "semicolons, BOM, French headers with accents, first and last name",
			in: "\ufeffPrénom;Nom;Groupe d'action;Date de certification;E-mail;Téléphone\r\n" +
				"Élodie;Martin;GA Bordeaux Nord;03/02/2025;elodie@example.org;06 12 34 56 78\r\n" +
				"Jean;Dupont;GA Bordeaux Nord;;jean@example.org;\r\n",
			members: []Member{
				{Line: 2, Name: "Élodie Martin", ActionGroup: "GA Bordeaux Nord", Email: "elodie@example.org", Phone: "06 12 34 56 78"},
				{Line: 3, Name: "Jean Dupont", ActionGroup: "GA Bordeaux Nord", Email: "jean@example.org"},
			},
			groups: []ActionGroup{{Name: "GA Bordeaux Nord", CertifiedOn: "2025-02-03"}},
		},
		{
			name: "commas, full name, ISO dates, upper-case headers, quoted fields",
			in: "NOM COMPLET,GROUPE,CERTIFICATION,EMAIL,TEL\n" +
				"\"Martin, Élodie\",GA Talence,2024-11-30,e@example.org,+33 6 12 34 56 78\n" +
				"Paul Durand,GA Pessac,,,\n",
			members: []Member{
				{Line: 2, Name: "Martin, Élodie", ActionGroup: "GA Talence", Email: "e@example.org", Phone: "+33 6 12 34 56 78"},
				{Line: 3, Name: "Paul Durand", ActionGroup: "GA Pessac"},
			},
			groups: []ActionGroup{{Name: "GA Talence", CertifiedOn: "2024-11-30"}, {Name: "GA Pessac"}},
		},
		{
			name: "nom alone is the full name; blank lines skipped; group names folded",
			in:   "nom;groupe d’action\n\nAna Lopez;GA Bègles\n;\nLuc Roy;ga begles\n",
			members: []Member{
				{Line: 3, Name: "Ana Lopez", ActionGroup: "GA Bègles"},
				{Line: 5, Name: "Luc Roy", ActionGroup: "GA Bègles"},
			},
			groups: []ActionGroup{{Name: "GA Bègles"}},
		},
		{
			name:    "errors by line",
			in:      "Nom;Groupe;Certification;Email;Téléphone\nA B;G1;31/13/2025;;\n;G1;;;\nC D;G1;;pas-un-mail;\nE F;G1;;;abc\nA B;G1;;;\nG H;G2;2025-01-01;;\nI J;G2;2025-01-02;;\n",
			members: []Member{{Line: 7, Name: "G H", ActionGroup: "G2"}},
			groups:  []ActionGroup{{Name: "G1"}, {Name: "G2", CertifiedOn: "2025-01-01"}},
			errors: []LineError{
				{2, `invalid certification date "31/13/2025" (expected YYYY-MM-DD or DD/MM/YYYY)`},
				{3, "the name is missing"},
				{4, "invalid e-mail address"},
				{5, "invalid phone number"},
				{6, "same member as line 2"},
				{8, `action group "G2" has another certification date on line 7`},
			},
		},
		{
			name:   "no name column",
			in:     "Email;Téléphone\na@b.fr;0612345678\n",
			errors: []LineError{{1, `no name column (expected "Nom", "Prénom" or "Nom complet")`}},
		},
		{
			name:   "empty file",
			in:     "\ufeff  \n",
			errors: []LineError{{0, "the file is empty"}},
		},
		{
			name:   "not UTF-8",
			in:     "Nom\nJos\xe9\n",
			errors: []LineError{{2, "the file is not UTF-8 text (save it as CSV UTF-8)"}},
		},
		{
			name:   "header only",
			in:     "Nom;Groupe\n",
			errors: []LineError{{0, "no member in the file"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Parse(strings.NewReader(tt.in))
			if tt.members == nil {
				tt.members = []Member{}
			}
			if tt.groups == nil {
				tt.groups = []ActionGroup{}
			}
			if tt.errors == nil {
				tt.errors = []LineError{}
			}
			if !reflect.DeepEqual(got.Members, tt.members) {
				t.Errorf("members:\n got %+v\nwant %+v", got.Members, tt.members)
			}
			if !reflect.DeepEqual(got.ActionGroups, tt.groups) {
				t.Errorf("groups:\n got %+v\nwant %+v", got.ActionGroups, tt.groups)
			}
			if !reflect.DeepEqual(got.Errors, tt.errors) {
				t.Errorf("errors:\n got %+v\nwant %+v", got.Errors, tt.errors)
			}
		})
	}
}

func TestFold(t *testing.T) {
	for in, want := range map[string]string{
		"Élodie":           "elodie",
		"FRANÇOIS Cœur":    "francois coeur",
		"Groupe d’action":  "groupe d'action",
		"Téléphone":        "telephone",
		"already plain 12": "already plain 12",
	} {
		if got := Fold(in); got != want {
			t.Errorf("Fold(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzParse checks that any input gives a result without panicking, and
// that what is accepted is clean: valid UTF-8, a name, lines in order.
func FuzzParse(f *testing.F) {
	f.Add("Prénom;Nom;Groupe d'action;Date de certification;E-mail;Téléphone\nA;B;G;01/02/2025;a@b.fr;0612345678\n")
	f.Add("nom,email\n\"x,y\",z@z.fr\n")
	f.Add("\ufeffNom\n\"unterminated\n")
	f.Add("Nom;Nom\na;b\n")
	f.Fuzz(func(t *testing.T, in string) {
		res := Parse(strings.NewReader(in))
		last := 0
		for _, m := range res.Members {
			if m.Name == "" || !utf8.ValidString(m.Name) || !utf8.ValidString(m.ActionGroup) {
				t.Fatalf("bad member %+v", m)
			}
			if m.Line <= last {
				t.Fatalf("lines not increasing: %d after %d", m.Line, last)
			}
			last = m.Line
		}
		for _, g := range res.ActionGroups {
			if g.CertifiedOn != "" && len(g.CertifiedOn) != 10 {
				t.Fatalf("bad date %q", g.CertifiedOn)
			}
		}
		if len(res.Members) == 0 && len(res.Errors) == 0 {
			t.Fatal("nothing imported and no error")
		}
	})
}
