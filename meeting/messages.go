package meeting

// codeMessage is the user-facing text of each code, French then English.
// A refusal whose detail has its own text (detailMessage) uses that one.
func codeMessage(c Code) (fr, en string) {
	switch c {
	case CodeInvalid:
		return "Valeur invalide : vérifiez ce qui a été saisi.", "Invalid value: check what was entered."
	case CodeUnknownOp:
		return "Action inconnue : rechargez la page.", "Unknown action: reload the page."
	case CodeNotAllowed:
		return "Vous n'avez pas le droit de faire cela.", "You are not allowed to do this."
	case CodeNotFound:
		return "Élément introuvable : il a peut-être été supprimé.", "Not found: it may have been removed."
	case CodeConflict:
		return "Impossible pour l'instant : cet élément existe déjà ou est utilisé.", "Not possible now: this already exists or is in use."
	case CodeWrongStep:
		return "Ce n'est pas possible à cette étape de la réunion.", "Not possible at this step of the meeting."
	case CodeGroupFull:
		return "Ce groupe est complet : il a atteint le nombre maximal de personnes.", "This group is full: it has reached its maximum size."
	case CodeListFull:
		return "La liste est complète : 2 noms pour un binôme au consensus, sinon le nombre maximal conseillé de noms est atteint.", "The list is full: 2 names for a consensus pair, otherwise the advised maximum of names is reached."
	case CodeIneligible:
		return "Ce choix ne respecte pas les règles d'éligibilité.", "This choice breaks an eligibility rule."
	case CodeArgumentMissing:
		return "Une objection doit être argumentée.", "An objection needs an argument."
	case CodeClosed:
		return "C'est terminé : ce n'est plus modifiable.", "This is closed and can no longer be changed."
	case CodePurged:
		return "Les données personnelles de cette réunion ont été effacées.", "This meeting's personal data was purged."
	case CodeNotCreated:
		return "Cette réunion n'existe pas encore.", "This meeting does not exist yet."
	}
	return "Action refusée.", "Action refused."
}

// detailMessage gives a more precise text for the refusals whose detail is
// one of the eligibility reasons or a known situation.
func detailMessage(detail string) (fr, en string, ok bool) {
	switch detail {
	case ReasonNotCertified:
		return "Son groupe d'action n'est pas certifié.", "Their action group is not certified.", true
	case ReasonCertifiedTooLate:
		return "Son groupe d'action a été certifié trop tard (après la date limite).", "Their action group was certified too late (after the cutoff).", true
	case ReasonSameActionGroup:
		return "Les deux personnes d'un binôme ne peuvent pas être du même groupe d'action.", "The two people of a pair cannot be from the same action group.", true
	case ReasonSamePerson:
		return "Un binôme, ce sont deux personnes différentes.", "A pair is two different people.", true
	case ReasonNoActionGroup:
		return "Cette personne n'a pas de groupe d'action.", "This person has no action group.", true
	case detailSubmitted:
		return "La liste de ce groupe a été transmise : rouvrez-la pour la modifier.", "This group's list was submitted: reopen it to change it.", true
	case detailNotPresent:
		return "Vous devez être enregistré·e comme présent·e.", "You must be checked in as present.", true
	case detailNotInGroup:
		return "Vous ne pouvez modifier que les listes de votre groupe.", "You can only edit your own group's lists.", true
	}
	return "", "", false
}

// MessageFor returns the user-facing message of a refusal in "fr" (default)
// or "en".
func (e *Error) MessageFor(lang string) string {
	if e == nil {
		return ""
	}
	fr, en := codeMessage(e.Code)
	if dfr, den, ok := detailMessage(e.Detail); ok {
		fr, en = dfr, den
	}
	if lang == "en" {
		return en
	}
	return fr
}
