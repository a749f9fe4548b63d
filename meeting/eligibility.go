package meeting

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Eligibility reasons: codes the screens translate. An empty reason means
// eligible.
const (
	ReasonNotCertified     = "not_certified"      // the member's action group has no certification date
	ReasonCertifiedTooLate = "certified_too_late" // certified on or after Template.CertifiedBefore
	ReasonSameActionGroup  = "same_action_group"  // both people of a pair from one action group
	ReasonSamePerson       = "same_person"        // a pair of one person
	ReasonNoActionGroup    = "no_action_group"    // the member has no (known) action group
)

// MemberEligibility says whether member id may be a referent: their action
// group was certified strictly before the template's cutoff. The reason is
// one of the Reason* codes ("" when eligible).
func (s *State) MemberEligibility(memberID string) (bool, string) {
	m := s.Members[memberID]
	if m == nil || m.ActionGroupID == "" {
		return false, ReasonNoActionGroup
	}
	ag := s.ActionGroups[m.ActionGroupID]
	if ag == nil {
		return false, ReasonNoActionGroup
	}
	if ag.CertifiedOn == "" {
		return false, ReasonNotCertified
	}
	if ag.CertifiedOn >= s.Template.CertifiedBefore {
		return false, ReasonCertifiedTooLate
	}
	return true, ""
}

// ProfileEligibility is MemberEligibility of the profile's member.
func (s *State) ProfileEligibility(profileID string) (bool, string) {
	p := s.Profiles[profileID]
	if p == nil {
		return false, ReasonNoActionGroup
	}
	return s.MemberEligibility(p.MemberID)
}

// PairEligibility says whether two profiles make an eligible pair: two
// distinct people, both eligible, not of the same action group. The first
// broken rule is the reason.
func (s *State) PairEligibility(a, b string) (bool, string) {
	pa, pb := s.Profiles[a], s.Profiles[b]
	if a == b || (pa != nil && pb != nil && pa.MemberID == pb.MemberID) {
		return false, ReasonSamePerson
	}
	if ok, why := s.ProfileEligibility(a); !ok {
		return false, why
	}
	if ok, why := s.ProfileEligibility(b); !ok {
		return false, why
	}
	if s.Members[pa.MemberID].ActionGroupID == s.Members[pb.MemberID].ActionGroupID {
		return false, ReasonSameActionGroup
	}
	return true, ""
}

// ActionGroupID is the id the app gives an action group known by its name
// (a member list import names groups, not ids): a readable slug of the name
// plus a short digest of its lower-case form, so that the same name always
// gives the same id and two names never share one in practice.
func ActionGroupID(name string) string {
	folded := strings.ToLower(strings.Join(strings.Fields(name), " "))
	var slug strings.Builder
	dash := false
	for _, r := range folded {
		r = foldAccent(r)
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			slug.WriteRune(r)
			dash = false
		case !dash && slug.Len() > 0:
			slug.WriteByte('-')
			dash = true
		}
		if slug.Len() >= 40 {
			break
		}
	}
	sum := sha256.Sum256([]byte(folded))
	return "ga-" + strings.Trim(slug.String(), "-") + "-" + hex.EncodeToString(sum[:4])
}

// foldAccent maps the accented Latin letters of French names to their base
// letter.
func foldAccent(r rune) rune {
	switch r {
	case 'à', 'â', 'ä', 'á', 'ã':
		return 'a'
	case 'ç':
		return 'c'
	case 'é', 'è', 'ê', 'ë':
		return 'e'
	case 'î', 'ï', 'í', 'ì':
		return 'i'
	case 'ô', 'ö', 'ó', 'ò', 'õ':
		return 'o'
	case 'ù', 'û', 'ü', 'ú':
		return 'u'
	case 'ÿ':
		return 'y'
	case 'œ':
		return 'o'
	case 'æ':
		return 'a'
	}
	return r
}
