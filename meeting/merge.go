package meeting

import (
	"cmp"
	"slices"
	"strings"
	"unicode"
)

// Merge is the plenary merge of one binome, computed from the breakout
// groups' lists: what the projector shows at step VI. It carries member
// names and action group names, never contact details, so every audience
// gets the same value.
type Merge struct {
	Binome string `json:"binome"`
	// Groups is every breakout group's position, in group order.
	Groups []GroupPosition `json:"groups"`
	// Names is every profile named by at least one group: most named first,
	// then by name.
	Names []MergedName `json:"names"`
	// SamePair is true when every group (at least one) reports a consensus
	// pair and all pairs are the same two people, in any order; Pair is then
	// that pair (profile ids, sorted) and PairEligible/PairReason its
	// eligibility.
	SamePair     bool     `json:"samePair"`
	Pair         []string `json:"pair,omitempty"`
	PairEligible bool     `json:"pairEligible"`
	PairReason   string   `json:"pairReason,omitempty"`
	// Ready is "ready to confirm": SamePair, the pair eligible and every
	// group submitted.
	Ready     bool `json:"ready"`
	Submitted int  `json:"submitted"` // groups that submitted
	Total     int  `json:"total"`     // groups of the meeting
}

// GroupPosition is one group's list for the binome, as the plenary sees it.
type GroupPosition struct {
	GroupID   string   `json:"groupId"`
	GroupName string   `json:"groupName"`
	Remote    bool     `json:"remote"`
	Consensus bool     `json:"consensus"`
	Names     []string `json:"names"` // profile ids, in the group's order
	Submitted bool     `json:"submitted"`
	// PairEligible and PairReason judge the group's consensus pair (a
	// consensus list of exactly two names); false with no reason otherwise.
	PairEligible bool   `json:"pairEligible"`
	PairReason   string `json:"pairReason,omitempty"`
}

// MergedName is one profile named by at least one group.
type MergedName struct {
	ProfileID   string `json:"profileId"`
	MemberID    string `json:"memberId"`
	Name        string `json:"name"`
	ActionGroup string `json:"actionGroup"` // action group name, tells homonyms apart
	// Groups are the ids of the groups that named it, in group order.
	Groups []string `json:"groups"`
	Count  int      `json:"count"`
	// Everyone is the highlight: named by every breakout group of the
	// meeting (a group that named nobody counts as not naming it).
	Everyone bool   `json:"everyone"`
	Eligible bool   `json:"eligible"`
	Reason   string `json:"reason,omitempty"`
}

// orderedGroups lists the groups in screen order: by Pos, then id.
func (s *State) orderedGroups() []*Group {
	gs := make([]*Group, 0, len(s.Groups))
	for _, id := range sortedKeys(s.Groups) {
		gs = append(gs, s.Groups[id])
	}
	slices.SortStableFunc(gs, func(a, b *Group) int { return cmp.Compare(a.Pos, b.Pos) })
	return gs
}

// memberLabel gives the name and the action group name of a profile.
func (s *State) profileLabel(profileID string) (memberID, name, actionGroup string) {
	p := s.Profiles[profileID]
	if p == nil {
		return "", "", ""
	}
	m := s.Members[p.MemberID]
	if m == nil {
		return p.MemberID, "", ""
	}
	if ag := s.ActionGroups[m.ActionGroupID]; ag != nil {
		actionGroup = ag.Name
	}
	return m.ID, m.Name, actionGroup
}

// Merge computes the plenary merge of binome k (an unknown binome gives an
// empty merge).
func (s *State) Merge(k string) Merge {
	mg := Merge{Binome: k, Groups: []GroupPosition{}, Names: []MergedName{}}
	if s.Template.binomeIndex(k) < 0 {
		return mg
	}
	groups := s.orderedGroups()
	mg.Total = len(groups)
	named := map[string]*MergedName{}
	var pairKey string
	mg.SamePair = len(groups) > 0
	for _, g := range groups {
		l := g.Lists[k]
		if l == nil {
			l = &GroupList{}
		}
		pos := GroupPosition{GroupID: g.ID, GroupName: g.Name, Remote: g.Remote, Consensus: l.Consensus,
			Names: slices.Clone(l.Names), Submitted: g.Submitted}
		if pos.Names == nil {
			pos.Names = []string{}
		}
		if g.Submitted {
			mg.Submitted++
		}
		isPair := l.Consensus && len(l.Names) == 2
		if isPair {
			pos.PairEligible, pos.PairReason = s.PairEligibility(l.Names[0], l.Names[1])
			pair := []string{l.Names[0], l.Names[1]}
			slices.Sort(pair)
			key := pair[0] + "\x00" + pair[1]
			if pairKey == "" {
				pairKey = key
				mg.Pair = pair
			} else if key != pairKey {
				mg.SamePair = false
			}
		} else {
			mg.SamePair = false
		}
		for _, id := range l.Names {
			n := named[id]
			if n == nil {
				mid, name, ag := s.profileLabel(id)
				n = &MergedName{ProfileID: id, MemberID: mid, Name: name, ActionGroup: ag}
				n.Eligible, n.Reason = s.ProfileEligibility(id)
				named[id] = n
			}
			n.Groups = append(n.Groups, g.ID)
			n.Count++
		}
		mg.Groups = append(mg.Groups, pos)
	}
	if mg.SamePair {
		mg.PairEligible, mg.PairReason = s.PairEligibility(mg.Pair[0], mg.Pair[1])
		mg.Ready = mg.PairEligible && mg.Submitted == mg.Total
	} else {
		mg.Pair = nil
	}
	for _, id := range sortedKeys(named) {
		n := named[id]
		n.Everyone = n.Count == mg.Total
		mg.Names = append(mg.Names, *n)
	}
	slices.SortStableFunc(mg.Names, func(a, b MergedName) int {
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		if c := collate(a.Name, b.Name); c != 0 {
			return c
		}
		return collate(a.ActionGroup, b.ActionGroup)
	})
	return mg
}

// collate orders names as a French reader expects: case and accents
// ignored first ("Béa" before "Bruno"), then byte order to stay total.
func collate(a, b string) int {
	fa, fb := foldName(a), foldName(b)
	if c := strings.Compare(fa, fb); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

func foldName(s string) string {
	return strings.Map(func(r rune) rune { return foldAccent(unicode.ToLower(r)) }, s)
}

// sortedKeys returns a map's keys in order: every iteration over a map in
// this package goes through it, so results never depend on map order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
