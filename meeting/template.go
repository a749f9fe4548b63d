package meeting

import "strconv"

// Default2026 is the 2026 template (the default): the six referent roles of
// a boucle départementale, with missions summarised in our own words from
// the 2026 procedure, and its rules.
func Default2026() Template {
	return Template{
		ID:               "boucles-departementales-2026",
		Title:            "Désignation des binômes opérationnels 2026",
		CertifiedBefore:  "2026-04-12",
		WindowStart:      "2026-06-25",
		WindowEnd:        "2026-07-05",
		GroupSizeMax:     10,
		NamesMaxNoConsen: 4,
		PairSize:         2,
		Binomes: []BinomeSpec{
			{
				Key:   "communication",
				Title: "Communication",
				Mission: "Fait vivre les réseaux sociaux du département et y relaie les campagnes numériques. " +
					"Entretient le contact avec la presse locale pour faire connaître les actions menées dans le département. " +
					"Travaille avec les pôles nationaux presse et communication.",
				TitleEN: "Communication",
				MissionEN: "Runs the department's social media and relays the online campaigns. " +
					"Keeps in touch with the local press to make the department's actions known. " +
					"Works with the national press and communication teams.",
			},
			{
				Key:   "materiel",
				Title: "Matériel militant",
				Mission: "Informe les groupes d'action du matériel de campagne disponible et recense leurs besoins. " +
					"Réceptionne les palettes envoyées par l'équipe nationale et répartit le matériel entre les groupes qui le demandent. " +
					"Avec le binôme luttes, assure la présence visible du mouvement dans les mobilisations (point fixe, drapeaux, tracts). " +
					"Travaille avec le pôle national matériel.",
				TitleEN: "Campaign material",
				MissionEN: "Tells the action groups what campaign material is available and gathers their needs. " +
					"Receives the pallets sent by the national team and shares the material among the groups that ask for it. " +
					"With the struggles pair, makes the movement visible in demonstrations (stand, flags, leaflets). " +
					"Works with the national material team.",
			},
			{
				Key:   "caisse",
				Title: "Caisse départementale",
				Mission: "Gère la caisse et le budget du département : demandes de dépenses et de remboursements sur la plateforme militante. " +
					"Veille au respect des règles des comptes de campagne lors des élections. " +
					"Travaille avec la trésorerie nationale.",
				TitleEN: "Department funds",
				MissionEN: "Manages the department's funds and budget: spending and refund requests on the activist platform. " +
					"Makes sure campaign accounting rules are followed during elections. " +
					"Works with the national treasury.",
			},
			{
				Key:   "relations-exterieures",
				Title: "Relations extérieures",
				Mission: "Entretient les relations avec les organisations politiques du département. " +
					"Avec le binôme luttes, peut prendre part aux réunions entre organisations pour préparer des initiatives communes. " +
					"Travaille avec l'espace national des relations unitaires.",
				TitleEN: "External relations",
				MissionEN: "Keeps up relations with the political organisations of the department. " +
					"With the struggles pair, may join meetings between organisations to prepare joint initiatives. " +
					"Works with the national unitary relations team.",
			},
			{
				Key:   "luttes",
				Title: "Suivi des luttes et collectifs unitaires",
				Mission: "Entretient les relations avec les syndicats, associations et collectifs unitaires du département. " +
					"Suit et recense les luttes sociales, écologiques et citoyennes, et mobilise les militant·es pour les manifestations et rassemblements. " +
					"Avec le binôme relations extérieures, prend part aux réunions entre organisations. " +
					"Travaille avec les espaces nationaux relations unitaires et réseaux des luttes.",
				TitleEN: "Struggles and joint collectives",
				MissionEN: "Keeps up relations with the unions, associations and joint collectives of the department. " +
					"Follows and lists social, ecological and civic struggles, and mobilises activists for demonstrations and rallies. " +
					"With the external relations pair, joins meetings between organisations. " +
					"Works with the national unitary relations and struggles network teams.",
			},
			{
				Key:   "groupes-action",
				Title: "Suivi et développement des groupes d'action",
				Mission: "Aide à suivre et à développer les groupes d'action du département : repère les groupes inactifs pour tenir la carte à jour, " +
					"facilite les échanges entre groupes pour des événements communs et encourage la création de groupes là où l'activité est faible. " +
					"Ne dirige pas les groupes, qui restent autonomes ; peut proposer une médiation en cas de difficulté, sans remplacer les comités " +
					"nationaux compétents (respect des principes, violences sexistes et sexuelles). " +
					"Travaille avec le pôle groupes d'action et l'espace développement territorial.",
				TitleEN: "Action group follow-up and development",
				MissionEN: "Helps follow and grow the department's action groups: spots inactive groups to keep the map up to date, " +
					"eases exchanges between groups for joint events and encourages new groups where activity is low. " +
					"Does not run the groups, which stay autonomous; may offer mediation in a dispute, without replacing the national " +
					"committees in charge (respect of principles, sexist and sexual violence). " +
					"Works with the national action groups team and the territorial development team.",
			},
		},
	}
}

// ParseTemplate decodes and validates a template from JSON.
func ParseTemplate(data []byte) (Template, error) {
	var t Template
	if err := decodeStrict(data, &t, maxPayloadBytes); err != nil {
		return Template{}, err
	}
	if err := cleanTemplate(&t, ""); err != nil {
		return Template{}, err
	}
	return t, nil
}

// Template bounds: a template with more binomes or larger groups than this
// is not a meeting this app is made for.
const (
	maxBinomes      = 20
	maxGroupSizeCap = 50
)

// cleanTemplate normalises and validates t in place; field prefixes the
// error fields (e.g. "payload.template.").
func cleanTemplate(t *Template, field string) *Error {
	if err := cleanID(field+"id", &t.ID, true); err != nil {
		return err
	}
	if err := cleanName(field+"title", &t.Title, true); err != nil {
		return err
	}
	if err := cleanDate(field+"certifiedBefore", &t.CertifiedBefore, true); err != nil {
		return err
	}
	if err := cleanDate(field+"windowStart", &t.WindowStart, false); err != nil {
		return err
	}
	if err := cleanDate(field+"windowEnd", &t.WindowEnd, false); err != nil {
		return err
	}
	if (t.WindowStart == "") != (t.WindowEnd == "") || t.WindowStart > t.WindowEnd {
		return invalid(field+"windowEnd", "the window needs a start and an end, in order")
	}
	if t.GroupSizeMax < 2 || t.GroupSizeMax > maxGroupSizeCap {
		return invalid(field+"groupSizeMax", "between 2 and %d", maxGroupSizeCap)
	}
	if t.PairSize == 0 {
		t.PairSize = 2
	}
	if t.PairSize != 2 {
		return invalid(field+"pairSize", "a binome is a pair: 2")
	}
	if t.NamesMaxNoConsen < t.PairSize || t.NamesMaxNoConsen > 20 {
		return invalid(field+"namesMaxNoConsen", "between 2 and 20")
	}
	if len(t.Binomes) == 0 || len(t.Binomes) > maxBinomes {
		return invalid(field+"binomes", "between 1 and %d binomes", maxBinomes)
	}
	seen := map[string]bool{}
	for i := range t.Binomes {
		b := &t.Binomes[i]
		f := field + "binomes." + strconv.Itoa(i) + "."
		if err := cleanID(f+"key", &b.Key, true); err != nil {
			return err
		}
		if seen[b.Key] {
			return invalid(f+"key", "duplicate key %q", b.Key)
		}
		seen[b.Key] = true
		if err := cleanName(f+"title", &b.Title, true); err != nil {
			return err
		}
		if err := cleanText(f+"mission", &b.Mission, false); err != nil {
			return err
		}
		if err := cleanName(f+"titleEn", &b.TitleEN, false); err != nil {
			return err
		}
		if err := cleanText(f+"missionEn", &b.MissionEN, false); err != nil {
			return err
		}
	}
	return nil
}

// binomeIndex is the position of binome k in the template (-1 if unknown).
func (t *Template) binomeIndex(k string) int {
	for i, b := range t.Binomes {
		if b.Key == k {
			return i
		}
	}
	return -1
}
