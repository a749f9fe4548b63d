package meeting

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
