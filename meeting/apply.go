package meeting

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// opHandler decodes, checks and (when commit) applies one op type. With
// commit false it never touches the state. checked is what Check kept of
// this op (op.checkedFor), or nil; fresh says the state has not changed
// since.
type opHandler func(s *State, op *Op, commit bool, checked any, fresh bool) (Changes, *Error)

// handle makes the opHandler of payload type P: strict decoding, then check
// (which may normalise the decoded payload), then apply. Apply runs only on a
// payload that passed check against the same state, so it cannot fail.
// Check keeps the payload it passed in the op: an Apply on the same state
// then applies it without decoding and checking it again.
func handle[P any](check func(*State, *Op, *P) *Error, apply func(*State, *Op, *P) Changes) opHandler {
	return handleOf(check, apply, false)
}

// handleRechecked is handle for an op type whose check only trims and
// validates the payload's own fields (the same whatever the state, and
// the same again on a payload it already trimmed) before judging it
// against the state. When the state changed between Check and Apply,
// which at a busy meeting is every op of a batch but the first (they are
// all checked before the first is applied), Apply checks the payload
// Check kept again, as it is, instead of decoding the op a second time:
// a payload check passed, checked again, gives what a fresh decode gives.
// TestRecheckedOpsApplyAsDecoded holds them to it.
func handleRechecked[P any](check func(*State, *Op, *P) *Error, apply func(*State, *Op, *P) Changes) opHandler {
	return handleOf(check, apply, true)
}

func handleOf[P any](check func(*State, *Op, *P) *Error, apply func(*State, *Op, *P) Changes, recheck bool) opHandler {
	return func(s *State, op *Op, commit bool, checked any, fresh bool) (Changes, *Error) {
		if p, ok := checked.(*P); ok && commit {
			if fresh {
				return apply(s, op, p), nil
			}
			if recheck {
				if err := check(s, op, p); err != nil {
					return nil, err
				}
				return apply(s, op, p), nil
			}
		}
		var p P
		if err := decodePayload(op.Payload, &p); err != nil {
			return nil, err
		}
		if err := check(s, op, &p); err != nil {
			return nil, err
		}
		if !commit {
			op.keepChecked(s, &p)
			return nil, nil
		}
		return apply(s, op, &p), nil
	}
}

// handlerOf is the handler of an op type (nil when unknown).
func handlerOf(typ string) opHandler {
	return handlers[typ]
}

// handlers holds every op type's handler, made once: a handler made per
// op was a closure allocated twice per op (Check, then Apply).
var handlers = map[string]opHandler{
	OpMeetingCreate:     handle(checkMeetingCreate, applyMeetingCreate),
	OpMeetingUpdate:     handle(checkMeetingUpdate, applyMeetingUpdate),
	OpTemplateLoad:      handle(checkTemplateLoad, applyTemplateLoad),
	OpParitySet:         handle(checkFacilitatorOnly[ParitySet], applyParitySet),
	OpFacilitatorsSet:   handle(checkFacilitatorsSet, applyFacilitatorsSet),
	OpRapporteurSet:     handle(checkRapporteurSet, applyRapporteurSet),
	OpStepSet:           handle(checkStepSet, applyStepSet),
	OpTimerSet:          handle(checkTimerSet, applyTimerSet),
	OpActionGroupUpsert: handle(checkActionGroupUpsert, applyActionGroupUpsert),
	OpMemberAdd:         handle(checkMemberAdd, applyMemberAdd),
	OpMemberUpdate:      handle(checkMemberUpdate, applyMemberUpdate),
	OpMemberRemove:      handle(checkMemberRemove, applyMemberRemove),
	OpMembersImport:     handle(checkMembersImport, applyMembersImport),
	OpMemberCheckIn:     handle(checkMemberCheckIn, applyMemberCheckIn),
	OpMemberCheckOut:    handle(checkMemberCheckOut, applyMemberCheckOut),
	OpTokenIssue:        handle(checkTokenIssue, applyTokenIssue),
	OpTokenRevoke:       handle(checkTokenRevoke, applyTokenRevoke),
	OpBilanSet:          handle(checkBilanSet, applyBilanSet),
	OpProfileAdd:        handle(checkProfileAdd, applyProfileSet),
	OpProfileUpdate:     handle(checkProfileUpdate, applyProfileSet),
	OpProfileRemove:     handle(checkProfileRemove, applyProfileRemove),
	OpGroupsSplit:       handle(checkGroupsSplit, applyGroupsSplit),
	OpGroupAdd:          handle(checkGroupAdd, applyGroupAdd),
	OpGroupRemove:       handle(checkGroupRemove, applyGroupRemove),
	OpGroupMove:         handle(checkGroupMove, applyGroupMove),
	OpGroupRapporteur:   handle(checkGroupRapporteur, applyGroupRapporteur),
	OpQualityAdd:        handleRechecked(checkQualityAdd, applyQualityAdd),
	OpQualityEdit:       handleRechecked(checkQualityEdit, applyQualityEdit),
	OpQualityRemove:     handleRechecked(checkQualityRemove, applyQualityRemove),
	OpShortlistAdd:      handleRechecked(checkShortlistAdd, applyShortlistAdd),
	OpShortlistRemove:   handleRechecked(checkShortlistRemove, applyShortlistRemove),
	OpShortlistMode:     handleRechecked(checkShortlistMode, applyShortlistMode),
	OpGroupSubmit:       handle(checkGroupSubmit, applyGroupSubmit),
	OpConsensusOpen:     handle(checkConsensusOpen, applyConsensusOpen),
	OpConsensusAnswer:   handle(checkConsensusAnswer, applyConsensusAnswer),
	OpConsensusStanding: handle(checkConsensusStanding, applyConsensusStanding),
	OpConsensusClose:    handle(checkConsensusClose, applyConsensusClose),
	OpDecisionSet:       handle(checkDecisionSet, applyDecisionSet),
	OpDecisionClear:     handle(checkDecisionClear, applyDecisionClear),
	OpMeetingPurge:      handle(checkMeetingPurge, applyMeetingPurge),
}

// allowedAfterPurge lists the ops that add no personal data: the only ones
// accepted once the meeting is purged.
func allowedAfterPurge(typ string) bool {
	switch typ {
	case OpStepSet, OpTimerSet, OpParitySet, OpTokenRevoke, OpMeetingUpdate:
		return true
	}
	return false
}

// precheck is what every op passes before its own rules: a well-formed id,
// a known type, an actor who may write, a created (and not purged) meeting.
func precheck(s *State, op *Op) (opHandler, *Error) {
	if s == nil || op == nil {
		return nil, invalid("", "no op")
	}
	if !validID(op.ID) {
		return nil, invalid("id", "not an op id")
	}
	h := handlerOf(op.Type)
	if h == nil {
		return nil, refuse(CodeUnknownOp, "type", "unknown op type %q", truncate(op.Type, 40))
	}
	switch op.Actor.Role {
	case RoleFacilitator, RoleSystem:
		if op.Actor.MemberID != "" {
			return nil, invalid("actor.memberId", "only participants carry a member id")
		}
	case RoleParticipant, RoleRapporteur:
		if s.Members[op.Actor.MemberID] == nil {
			return nil, refuse(CodeNotAllowed, "actor.memberId", "unknown member")
		}
	case RoleProjector:
		return nil, refuse(CodeNotAllowed, "actor.role", "the projector is read-only")
	default:
		return nil, refuse(CodeNotAllowed, "actor.role", "unknown role")
	}
	if op.Type == OpMeetingCreate {
		if s.Created {
			return nil, refuse(CodeConflict, "type", "meeting already created")
		}
		return h, nil
	}
	if !s.Created {
		return nil, refuse(CodeNotCreated, "type", "the first op must be meeting.create")
	}
	if s.Purged && !allowedAfterPurge(op.Type) {
		return nil, refuse(CodePurged, "", "personal data purged")
	}
	return h, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// Details with their own user message (see detailMessage).
const (
	detailSubmitted  = "group submitted"
	detailNotPresent = "not checked in"
	detailNotInGroup = "not a member of this group"
)

// ---- permission and step helpers ----

func mustFacilitator(op *Op) *Error {
	if op.Actor.Role != RoleFacilitator {
		return refuse(CodeNotAllowed, "actor.role", "facilitators only")
	}
	return nil
}

func mustSystem(op *Op) *Error {
	if op.Actor.Role != RoleSystem {
		return refuse(CodeNotAllowed, "actor.role", "server only")
	}
	return nil
}

func isParticipant(op *Op) bool {
	return op.Actor.Role == RoleParticipant || op.Actor.Role == RoleRapporteur
}

// mustPresent refuses a participant who is not checked in.
func (s *State) mustPresent(op *Op) *Error {
	if m := s.Members[op.Actor.MemberID]; m == nil || !m.Present {
		return refuse(CodeNotAllowed, "actor.memberId", detailNotPresent)
	}
	return nil
}

func (s *State) mustStep(steps ...Step) *Error {
	if !slices.Contains(steps, s.Step) {
		return refuse(CodeWrongStep, "", "not at step %s", s.Step)
	}
	return nil
}

func (s *State) mustNotClosed() *Error {
	if s.Step == StepClosed {
		return refuse(CodeClosed, "", "meeting closed")
	}
	return nil
}

// groupForEdit finds the group a list edit names and checks that the actor
// may edit it: a facilitator, or a present participant of that group.
func (s *State) groupForEdit(op *Op, field, groupID string) (*Group, *Error) {
	if err := cleanID(field, &groupID, true); err != nil {
		return nil, err
	}
	g := s.Groups[groupID]
	if g == nil {
		return nil, refuse(CodeNotFound, field, "no such group")
	}
	switch {
	case op.Actor.Role == RoleFacilitator:
	case isParticipant(op):
		if err := s.mustPresent(op); err != nil {
			return nil, err
		}
		if s.Members[op.Actor.MemberID].GroupID != g.ID {
			return nil, refuse(CodeNotAllowed, field, detailNotInGroup)
		}
	default:
		return nil, refuse(CodeNotAllowed, "actor.role", "group members only")
	}
	return g, nil
}

// listForEdit is groupForEdit plus the binome's list, refused once the
// group submitted.
func (s *State) listForEdit(op *Op, groupID, binome *string) (*Group, *GroupList, *Error) {
	g, err := s.groupForEdit(op, "payload.groupId", *groupID)
	if err != nil {
		return nil, nil, err
	}
	*groupID = g.ID
	*binome = strings.TrimSpace(*binome)
	l := g.Lists[*binome]
	if l == nil {
		return nil, nil, refuse(CodeNotFound, "payload.binome", "no such binome")
	}
	if g.Submitted {
		return nil, nil, refuse(CodeConflict, "payload.groupId", detailSubmitted)
	}
	return g, l, nil
}

// freshID returns base, or base with a suffix when base is taken: ids made
// by the domain (from the op's seq) never collide with client-made ones.
func freshID(taken func(string) bool, base string) string {
	id := base
	for i := 2; taken(id); i++ {
		id = fmt.Sprintf("%s-%d", base, i)
	}
	return id
}

// ---- change sets ----

func ref(kind, id string) Ref { return Ref{Kind: kind, ID: id} }

// sortChanges sorts refs by (Kind, ID) and drops duplicates.
func sortChanges(refs []Ref) Changes {
	slices.SortFunc(refs, func(a, b Ref) int {
		if c := strings.Compare(a.Kind, b.Kind); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return Changes(slices.Compact(refs))
}

// mergeRefs are the merges of every binome of the template.
func (s *State) mergeRefs() []Ref {
	refs := make([]Ref, 0, len(s.Template.Binomes))
	for _, b := range s.Template.Binomes {
		refs = append(refs, ref(KindMerge, b.Key))
	}
	return refs
}

func at(op *Op) time.Time { return op.At.UTC() }

// ---- meeting and agenda ----

func cleanInfo(field string, in *Info) *Error {
	if err := cleanName(field+"title", &in.Title, false); err != nil {
		return err
	}
	if err := cleanName(field+"department", &in.Department, false); err != nil {
		return err
	}
	if err := cleanDate(field+"date", &in.Date, false); err != nil {
		return err
	}
	in.StartTime = strings.TrimSpace(in.StartTime)
	if in.StartTime != "" && !validClock(in.StartTime) {
		return invalid(field+"startTime", "not a time (HH:MM)")
	}
	if err := cleanName(field+"place", &in.Place, false); err != nil {
		return err
	}
	if err := cleanURL(field+"videoUrl", &in.VideoURL); err != nil {
		return err
	}
	in.TimeZone = strings.TrimSpace(in.TimeZone)
	if !validZoneName(in.TimeZone) {
		return invalid(field+"timeZone", "not a time zone name (e.g. Europe/Paris)")
	}
	in.Lang = strings.TrimSpace(in.Lang)
	if in.Lang == "" {
		in.Lang = "fr"
	}
	if in.Lang != "fr" && in.Lang != "en" {
		return invalid(field+"lang", "fr or en")
	}
	return nil
}

func cleanFacilitators(field string, names []string) ([]string, *Error) {
	if len(names) > 2 {
		return nil, invalid(field, "two facilitators at most")
	}
	out := make([]string, 0, len(names))
	for i, n := range names {
		if err := cleanName(fmt.Sprintf("%s.%d", field, i), &n, true); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

func checkMeetingCreate(s *State, op *Op, p *MeetingCreate) *Error {
	if err := mustSystem(op); err != nil {
		return err
	}
	if err := cleanInfo("payload.info.", &p.Info); err != nil {
		return err
	}
	if !validJoinCode(p.JoinCode) {
		return invalid("payload.joinCode", "6 upper-case letters")
	}
	if !validHash(p.FacilitatorToken) {
		return invalid("payload.facilitatorToken", "not a sha-256 hex digest")
	}
	if !validHash(p.ProjectorToken) || p.ProjectorToken == p.FacilitatorToken {
		return invalid("payload.projectorToken", "not a distinct sha-256 hex digest")
	}
	if p.Template == nil {
		t := Default2026()
		p.Template = &t
	} else if err := cleanTemplate(p.Template, "payload.template."); err != nil {
		return err
	}
	names, err := cleanFacilitators("payload.facilitators", p.FacilitatorsNames)
	if err != nil {
		return err
	}
	p.FacilitatorsNames = names
	return nil
}

func applyMeetingCreate(s *State, op *Op, p *MeetingCreate) Changes {
	s.Created = true
	s.Info = p.Info
	s.JoinCode = p.JoinCode
	s.Template = *p.Template
	s.Step = StepBefore
	s.CreatedAt = at(op)
	s.Facilitators = p.FacilitatorsNames
	s.Parity = p.ParityConfirmation
	s.Tokens[p.FacilitatorToken] = &Token{Hash: p.FacilitatorToken, Role: RoleFacilitator, IssuedAt: at(op)}
	s.Tokens[p.ProjectorToken] = &Token{Hash: p.ProjectorToken, Role: RoleProjector, IssuedAt: at(op)}
	return sortChanges(append(s.mergeRefs(), ref(KindMeeting, "")))
}

func checkMeetingUpdate(s *State, op *Op, p *MeetingUpdate) *Error {
	if err := mustFacilitator(op); err != nil {
		return err
	}
	return cleanInfo("payload.info.", &p.Info)
}

func applyMeetingUpdate(s *State, op *Op, p *MeetingUpdate) Changes {
	s.Info = p.Info
	return Changes{ref(KindMeeting, "")}
}

func checkTemplateLoad(s *State, op *Op, p *TemplateLoad) *Error {
	if err := mustFacilitator(op); err != nil {
		return err
	}
	if err := s.mustStep(StepBefore); err != nil {
		return err
	}
	if len(s.Profiles) > 0 || len(s.Groups) > 0 || len(s.Bilans) > 0 || len(s.Checks) > 0 || len(s.Decisions) > 0 {
		return refuse(CodeConflict, "payload.template", "profiles, groups or bilans already use the current template")
	}
	return cleanTemplate(&p.Template, "payload.template.")
}

func applyTemplateLoad(s *State, op *Op, p *TemplateLoad) Changes {
	refs := append(s.mergeRefs(), ref(KindMeeting, ""))
	s.Template = p.Template
	// The cutoff date changes every member's eligibility.
	for _, id := range sortedKeys(s.Members) {
		refs = append(refs, ref(KindMember, id))
	}
	return sortChanges(append(refs, s.mergeRefs()...))
}

func checkFacilitatorOnly[P any](s *State, op *Op, p *P) *Error {
	return mustFacilitator(op)
}

func applyParitySet(s *State, op *Op, p *ParitySet) Changes {
	s.Parity = p.Confirmed
	return Changes{ref(KindMeeting, "")}
}

func checkFacilitatorsSet(s *State, op *Op, p *FacilitatorsSet) *Error {
	if err := mustFacilitator(op); err != nil {
		return err
	}
	names, err := cleanFacilitators("payload.names", p.Names)
	p.Names = names
	return err
}

func applyFacilitatorsSet(s *State, op *Op, p *FacilitatorsSet) Changes {
	s.Facilitators = p.Names
	return Changes{ref(KindMeeting, "")}
}

func checkRapporteurSet(s *State, op *Op, p *RapporteurSet) *Error {
	if err := mustFacilitator(op); err != nil {
		return err
	}
	if err := cleanID("payload.memberId", &p.MemberID, false); err != nil {
		return err
	}
	if p.MemberID != "" && s.Members[p.MemberID] == nil {
		return refuse(CodeNotFound, "payload.memberId", "no such member")
	}
	return nil
}

func applyRapporteurSet(s *State, op *Op, p *RapporteurSet) Changes {
	s.Rapporteur = p.MemberID
	return Changes{ref(KindMeeting, "")}
}

func validStep(st Step) bool { return slices.Contains(Steps, st) }

func checkTimer(op *Op, field string, end *time.Time) *Error {
	if end != nil && !end.After(op.At) {
		return invalid(field, "the timer must end after now")
	}
	if end != nil && end.Sub(op.At) > 24*time.Hour {
		return invalid(field, "a step timer lasts less than a day")
	}
	return nil
}

func checkStepSet(s *State, op *Op, p *StepSet) *Error {
	if err := mustFacilitator(op); err != nil {
		return err
	}
	if !validStep(p.Step) {
		return invalid("payload.step", "unknown step")
	}
	return checkTimer(op, "payload.timerEnd", p.TimerEnd)
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func applyStepSet(s *State, op *Op, p *StepSet) Changes {
	s.Step = p.Step
	s.TimerEnd = utcPtr(p.TimerEnd)
	return Changes{ref(KindMeeting, "")}
}

func checkTimerSet(s *State, op *Op, p *TimerSet) *Error {
	if err := mustFacilitator(op); err != nil {
		return err
	}
	return checkTimer(op, "payload.timerEnd", p.TimerEnd)
}

func applyTimerSet(s *State, op *Op, p *TimerSet) Changes {
	s.TimerEnd = utcPtr(p.TimerEnd)
	return Changes{ref(KindMeeting, "")}
}

// ---- action groups and members ----

func cleanActionGroup(field string, ag *ActionGroup) *Error {
	if err := cleanID(field+"id", &ag.ID, true); err != nil {
		return err
	}
	if err := cleanName(field+"name", &ag.Name, true); err != nil {
		return err
	}
	return cleanDate(field+"certifiedOn", &ag.CertifiedOn, false)
}

func checkActionGroupUpsert(s *State, op *Op, p *ActionGroupUpsert) *Error {
	if err := mustFacilitator(op); err != nil {
		return err
	}
	return cleanActionGroup("payload.actionGroup.", &p.ActionGroup)
}

func applyActionGroupUpsert(s *State, op *Op, p *ActionGroupUpsert) Changes {
	ag := p.ActionGroup
	s.ActionGroups[ag.ID] = &ag
	// A certification date changes the eligibility shown in every merge
	// and in the views of the group's members.
	refs := append(s.mergeRefs(), ref(KindActionGroup, ag.ID))
	return sortChanges(append(refs, s.memberRefsOf(ag.ID)...))
}

// memberRefsOf are the members of action group id.
func (s *State) memberRefsOf(id string) []Ref {
	var refs []Ref
	for _, mid := range sortedKeys(s.Members) {
		if s.Members[mid].ActionGroupID == id {
			refs = append(refs, ref(KindMember, mid))
		}
	}
	return refs
}

// cleanMemberFields checks the fields of a member a facilitator may set;
// actionGroups tells whether an action group id exists.
func cleanMemberFields(field string, m *Member, idRequired bool, actionGroup func(string) bool) *Error {
	if err := cleanID(field+"id", &m.ID, idRequired); err != nil {
		return err
	}
	if err := cleanName(field+"name", &m.Name, true); err != nil {
		return err
	}
	if err := cleanID(field+"actionGroupId", &m.ActionGroupID, false); err != nil {
		return err
	}
	if m.ActionGroupID != "" && !actionGroup(m.ActionGroupID) {
		return refuse(CodeNotFound, field+"actionGroupId", "no such action group")
	}
	if err := cleanEmail(field+"email", &m.Email); err != nil {
		return err
	}
	if err := cleanPhone(field+"phone", &m.Phone); err != nil {
		return err
	}
	if m.Present || m.Remote || len(m.Attendance) > 0 || m.GroupID != "" {
		return invalid(field+"present", "presence and groups change by check-in and moves")
	}
	return nil
}

// sameMember finds the member with this name (case-insensitive) in this
// action group: the identity the import deduplicates on.
func (s *State) sameMember(name, actionGroupID string) *Member {
	for _, id := range sortedKeys(s.Members) {
		m := s.Members[id]
		if m.ActionGroupID == actionGroupID && strings.EqualFold(m.Name, name) {
			return m
		}
	}
	return nil
}

func (s *State) hasActionGroup(id string) bool { return s.ActionGroups[id] != nil }

func checkMemberAdd(s *State, op *Op, p *MemberAdd) *Error {
	if err := mustFacilitator(op); err != nil {
		return err
	}
	if err := cleanMemberFields("payload.member.", &p.Member, false, s.hasActionGroup); err != nil {
		return err
	}
	if p.Member.ID != "" && s.Members[p.Member.ID] != nil {
		return refuse(CodeConflict, "payload.member.id", "member id taken")
	}
	if s.sameMember(p.Member.Name, p.Member.ActionGroupID) != nil {
		return refuse(CodeConflict, "payload.member.name", "a member of this action group has this name")
	}
	return nil
}

func (s *State) memberTaken(id string) bool { return s.Members[id] != nil }

func applyMemberAdd(s *State, op *Op, p *MemberAdd) Changes {
	m := Member{ID: p.Member.ID, Name: p.Member.Name, ActionGroupID: p.Member.ActionGroupID, Email: p.Member.Email, Phone: p.Member.Phone}
	if m.ID == "" {
		m.ID = freshID(s.memberTaken, fmt.Sprintf("m%d", op.Seq))
	}
	s.Members[m.ID] = &m
	return sortChanges([]Ref{ref(KindMember, m.ID), ref(KindMeeting, "")})
}

func checkMemberUpdate(s *State, op *Op, p *MemberAdd) *Error {
	if err := mustFacilitator(op); err != nil {
		return err
	}
	if err := cleanMemberFields("payload.member.", &p.Member, true, s.hasActionGroup); err != nil {
		return err
	}
	if s.Members[p.Member.ID] == nil {
		return refuse(CodeNotFound, "payload.member.id", "no such member")
	}
	if o := s.sameMember(p.Member.Name, p.Member.ActionGroupID); o != nil && o.ID != p.Member.ID {
		return refuse(CodeConflict, "payload.member.name", "a member of this action group has this name")
	}
	return nil
}

func applyMemberUpdate(s *State, op *Op, p *MemberAdd) Changes {
	m := s.Members[p.Member.ID]
	m.Name, m.ActionGroupID, m.Email, m.Phone = p.Member.Name, p.Member.ActionGroupID, p.Member.Email, p.Member.Phone
	// Names and action groups show in every merge, names in the checks
	// the member answered (full view).
	refs := append(s.mergeRefs(), ref(KindMember, m.ID))
	for _, cid := range sortedKeys(s.Checks) {
		if s.Checks[cid].Answers[m.ID] != nil {
			refs = append(refs, ref(KindCheck, cid))
		}
	}
	return sortChanges(refs)
}

// memberInUse says why a member cannot be removed ("" when it can).
func (s *State) memberInUse(id string) string {
	if s.Rapporteur == id {
		return "the meeting's rapporteur"
	}
	for _, pid := range sortedKeys(s.Profiles) {
		if s.Profiles[pid].MemberID == id {
			return "has a candidate profile"
		}
	}
	for _, gid := range sortedKeys(s.Groups) {
		if s.Groups[gid].Rapporteur == id {
			return "a group's rapporteur"
		}
	}
	for _, cid := range sortedKeys(s.Checks) {
		if s.Checks[cid].Answers[id] != nil {
			return "answered a consensus check"
		}
	}
	return ""
}

func checkMemberRemove(s *State, op *Op, p *MemberRef) *Error {
	if err := mustFacilitator(op); err != nil {
		return err
	}
	if err := cleanID("payload.memberId", &p.MemberID, true); err != nil {
		return err
	}
	if s.Members[p.MemberID] == nil {
		return refuse(CodeNotFound, "payload.memberId", "no such member")
	}
	if why := s.memberInUse(p.MemberID); why != "" {
		return refuse(CodeConflict, "payload.memberId", "in use: %s", why)
	}
	return nil
}

func applyMemberRemove(s *State, op *Op, p *MemberRef) Changes {
	delete(s.Members, p.MemberID)
	for _, h := range sortedKeys(s.Tokens) {
		if t := s.Tokens[h]; t.MemberID == p.MemberID {
			t.Revoked = true
		}
	}
	return sortChanges([]Ref{ref(KindMember, p.MemberID), ref(KindMeeting, "")})
}

// Import bounds: a boucle has 20 to 200 members; the file parser allows 5000 lines.
const (
	maxImportMembers = 5000
	maxImportGroups  = 500
)

func checkMembersImport(s *State, op *Op, p *MembersImport) *Error {
	if err := mustFacilitator(op); err != nil {
		return err
	}
	if len(p.ActionGroups) > maxImportGroups {
		return invalid("payload.actionGroups", "more than %d action groups", maxImportGroups)
	}
	if len(p.Members) > maxImportMembers {
		return invalid("payload.members", "more than %d members", maxImportMembers)
	}
	if len(p.Members) == 0 && len(p.ActionGroups) == 0 {
		return invalid("payload.members", "nothing to import")
	}
	known := map[string]bool{}
	for i := range p.ActionGroups {
		f := fmt.Sprintf("payload.actionGroups.%d.", i)
		if err := cleanActionGroup(f, &p.ActionGroups[i]); err != nil {
			return err
		}
		if known[p.ActionGroups[i].ID] {
			return invalid(f+"id", "duplicate action group")
		}
		known[p.ActionGroups[i].ID] = true
	}
	exists := func(id string) bool { return known[id] || s.ActionGroups[id] != nil }
	ids := map[string]bool{}
	idents := map[string]int{}
	for i := range p.Members {
		m := &p.Members[i]
		f := fmt.Sprintf("payload.members.%d.", i)
		if err := cleanMemberFields(f, m, false, exists); err != nil {
			return err
		}
		ident := m.ActionGroupID + "\x00" + strings.ToLower(m.Name)
		if j, dup := idents[ident]; dup {
			return invalid(f+"name", "same name and action group as member %d", j)
		}
		idents[ident] = i
		if m.ID == "" {
			continue
		}
		if ids[m.ID] {
			return invalid(f+"id", "duplicate member id")
		}
		ids[m.ID] = true
		// An existing id names that member (the server matched the line
		// to them, e.g. by a folded name): only their action group must
		// agree.
		if o := s.Members[m.ID]; o != nil && o.ActionGroupID != m.ActionGroupID {
			return refuse(CodeConflict, f+"id", "member id taken in another action group")
		}
	}
	return nil
}

func applyMembersImport(s *State, op *Op, p *MembersImport) Changes {
	refs := []Ref{ref(KindMeeting, "")}
	for _, ag := range p.ActionGroups {
		ag := ag
		s.ActionGroups[ag.ID] = &ag
		refs = append(refs, ref(KindActionGroup, ag.ID))
		refs = append(refs, s.memberRefsOf(ag.ID)...)
	}
	for i, in := range p.Members {
		m := s.Members[in.ID]
		if m == nil {
			m = s.sameMember(in.Name, in.ActionGroupID)
		}
		if m != nil {
			if in.Email != "" {
				m.Email = in.Email
			}
			if in.Phone != "" {
				m.Phone = in.Phone
			}
		} else {
			m = &Member{ID: in.ID, Name: in.Name, ActionGroupID: in.ActionGroupID, Email: in.Email, Phone: in.Phone}
			if m.ID == "" {
				m.ID = freshID(s.memberTaken, fmt.Sprintf("m%d-%d", op.Seq, i+1))
			}
			s.Members[m.ID] = m
		}
		refs = append(refs, ref(KindMember, m.ID))
	}
	return sortChanges(append(refs, s.mergeRefs()...))
}

func checkMemberCheckIn(s *State, op *Op, p *MemberCheckIn) *Error {
	if op.Actor.Role != RoleFacilitator && op.Actor.Role != RoleSystem {
		return refuse(CodeNotAllowed, "actor.role", "facilitators only")
	}
	if err := cleanID("payload.memberId", &p.MemberID, true); err != nil {
		return err
	}
	if s.Members[p.MemberID] == nil {
		return refuse(CodeNotFound, "payload.memberId", "no such member")
	}
	return nil
}

func applyMemberCheckIn(s *State, op *Op, p *MemberCheckIn) Changes {
	m := s.Members[p.MemberID]
	if m.Present {
		if m.Remote == p.Remote {
			return Changes{}
		}
		m.Remote = p.Remote
	} else {
		m.Present, m.Remote = true, p.Remote
		m.Attendance = append(m.Attendance, Presence{In: at(op)})
	}
	return sortChanges([]Ref{ref(KindMember, m.ID), ref(KindMeeting, "")})
}

func checkMemberCheckOut(s *State, op *Op, p *MemberRef) *Error {
	if err := cleanID("payload.memberId", &p.MemberID, true); err != nil {
		return err
	}
	self := isParticipant(op) && op.Actor.MemberID == p.MemberID
	if op.Actor.Role != RoleFacilitator && op.Actor.Role != RoleSystem && !self {
		return refuse(CodeNotAllowed, "actor.role", "facilitators or the member themself")
	}
	m := s.Members[p.MemberID]
	if m == nil {
		return refuse(CodeNotFound, "payload.memberId", "no such member")
	}
	if !m.Present {
		return refuse(CodeConflict, "payload.memberId", "not present")
	}
	return nil
}

func applyMemberCheckOut(s *State, op *Op, p *MemberRef) Changes {
	m := s.Members[p.MemberID]
	m.Present = false
	if n := len(m.Attendance); n > 0 {
		out := at(op)
		m.Attendance[n-1].Out = &out
	}
	return sortChanges([]Ref{ref(KindMember, m.ID), ref(KindMeeting, "")})
}

// ---- tokens ----

func checkTokenIssue(s *State, op *Op, p *TokenIssue) *Error {
	if err := mustSystem(op); err != nil {
		return err
	}
	if !validHash(p.Hash) {
		return invalid("payload.hash", "not a sha-256 hex digest")
	}
	if s.Tokens[p.Hash] != nil {
		return refuse(CodeConflict, "payload.hash", "token exists")
	}
	switch p.Role {
	case RoleFacilitator, RoleProjector:
		if p.MemberID != "" {
			return invalid("payload.memberId", "only participant tokens name a member")
		}
	case RoleParticipant:
		if s.Members[p.MemberID] == nil {
			return refuse(CodeNotFound, "payload.memberId", "no such member")
		}
	default:
		return invalid("payload.role", "facilitator, projector or participant")
	}
	return nil
}

func applyTokenIssue(s *State, op *Op, p *TokenIssue) Changes {
	s.Tokens[p.Hash] = &Token{Hash: p.Hash, Role: p.Role, MemberID: p.MemberID, IssuedAt: at(op)}
	return Changes{}
}

func checkTokenRevoke(s *State, op *Op, p *TokenRevoke) *Error {
	if err := mustFacilitator(op); err != nil {
		return err
	}
	n := 0
	if p.Hash != "" {
		n++
		if s.Tokens[p.Hash] == nil {
			return refuse(CodeNotFound, "payload.hash", "no such token")
		}
	}
	if p.MemberID != "" {
		n++
		if err := cleanID("payload.memberId", &p.MemberID, true); err != nil {
			return err
		}
		if s.Members[p.MemberID] == nil {
			return refuse(CodeNotFound, "payload.memberId", "no such member")
		}
	}
	if p.Projector {
		n++
	}
	if n != 1 {
		return invalid("payload", "name one token, one member or the projector")
	}
	return nil
}

func applyTokenRevoke(s *State, op *Op, p *TokenRevoke) Changes {
	for _, h := range sortedKeys(s.Tokens) {
		t := s.Tokens[h]
		if h == p.Hash || (p.MemberID != "" && t.MemberID == p.MemberID) || (p.Projector && t.Role == RoleProjector) {
			t.Revoked = true
		}
	}
	return Changes{}
}

// ---- bilans and profiles ----

func (s *State) cleanBinome(field string, key *string) *Error {
	*key = strings.TrimSpace(*key)
	if s.Template.binomeIndex(*key) < 0 {
		return refuse(CodeNotFound, field, "no such binome")
	}
	return nil
}

func checkBilanSet(s *State, op *Op, p *BilanSet) *Error {
	if err := mustFacilitator(op); err != nil {
		return err
	}
	if err := s.mustNotClosed(); err != nil {
		return err
	}
	if err := s.cleanBinome("payload.binome", &p.Binome); err != nil {
		return err
	}
	return cleanText("payload.text", &p.Text, false)
}

func applyBilanSet(s *State, op *Op, p *BilanSet) Changes {
	if p.Text == "" {
		delete(s.Bilans, p.Binome)
	} else {
		s.Bilans[p.Binome] = p.Text
	}
	return Changes{ref(KindBilan, p.Binome)}
}

// profileNamedIn says where binome k of profile id is used ("" if nowhere).
func (s *State) profileNamedIn(id, k string) string {
	for _, gid := range sortedKeys(s.Groups) {
		if l := s.Groups[gid].Lists[k]; l != nil && slices.Contains(l.Names, id) {
			return "named in a group's list"
		}
	}
	for _, cid := range sortedKeys(s.Checks) {
		c := s.Checks[cid]
		if c.Binome == k && (c.Pair[0] == id || c.Pair[1] == id) {
			return "in a consensus check"
		}
	}
	if d := s.Decisions[k]; d != nil && (slices.Contains(d.Pair, id) || slices.Contains(d.Debated, id)) {
		return "in a decision"
	}
	return ""
}

// cleanProfile checks the fields of a profile and the actor's right to set
// it; existing is the profile being updated (nil on add).
func (s *State) cleanProfile(op *Op, p *Profile, existing *Profile) *Error {
	const f = "payload.profile."
	if err := cleanID(f+"proposedBy", &p.ProposedBy, false); err != nil {
		return err
	}
	m := s.Members[p.MemberID]
	if m == nil {
		return refuse(CodeNotFound, f+"memberId", "no such member")
	}
	if isParticipant(op) {
		if err := s.mustStep(StepIII); err != nil {
			return err
		}
		if err := s.mustPresent(op); err != nil {
			return err
		}
		own := s.Members[op.Actor.MemberID].ActionGroupID
		if own == "" || m.ActionGroupID != own {
			return refuse(CodeNotAllowed, f+"memberId", "only for members of your own action group")
		}
		if p.ProposedBy == "" {
			p.ProposedBy = own
		}
		if p.ProposedBy != own {
			return refuse(CodeNotAllowed, f+"proposedBy", "only your own action group proposes")
		}
	} else if err := mustFacilitator(op); err != nil {
		return err
	} else if err := s.mustNotClosed(); err != nil {
		return err
	}
	if p.ProposedBy == "" {
		p.ProposedBy = m.ActionGroupID
	}
	if p.ProposedBy != "" && s.ActionGroups[p.ProposedBy] == nil {
		return refuse(CodeNotFound, f+"proposedBy", "no such action group")
	}
	if len(p.Binomes) == 0 {
		return invalid(f+"binomes", "proposed for at least one binome")
	}
	chosen := map[string]bool{}
	for i := range p.Binomes {
		if err := s.cleanBinome(fmt.Sprintf("%sbinomes.%d", f, i), &p.Binomes[i]); err != nil {
			return err
		}
		chosen[p.Binomes[i]] = true
	}
	p.Binomes = p.Binomes[:0]
	for _, b := range s.Template.Binomes {
		if chosen[b.Key] {
			p.Binomes = append(p.Binomes, b.Key)
		}
	}
	if existing != nil {
		for _, k := range existing.Binomes {
			if !chosen[k] {
				if why := s.profileNamedIn(existing.ID, k); why != "" {
					return refuse(CodeConflict, f+"binomes", "cannot drop %s: %s", k, why)
				}
			}
		}
	}
	for _, t := range []struct {
		name string
		v    *string
	}{{"skills", &p.Skills}, {"experience", &p.Experience}, {"availability", &p.Availability}, {"commitments", &p.Commitments}} {
		if err := cleanText(f+t.name, t.v, false); err != nil {
			return err
		}
	}
	return nil
}

func checkProfileAdd(s *State, op *Op, p *ProfileSet) *Error {
	if err := cleanID("payload.profile.id", &p.Profile.ID, false); err != nil {
		return err
	}
	if err := cleanID("payload.profile.memberId", &p.Profile.MemberID, true); err != nil {
		return err
	}
	if p.Profile.ID != "" && s.Profiles[p.Profile.ID] != nil {
		return refuse(CodeConflict, "payload.profile.id", "profile id taken")
	}
	for _, id := range sortedKeys(s.Profiles) {
		if s.Profiles[id].MemberID == p.Profile.MemberID {
			return refuse(CodeConflict, "payload.profile.memberId", "this member already has a profile")
		}
	}
	return s.cleanProfile(op, &p.Profile, nil)
}

func checkProfileUpdate(s *State, op *Op, p *ProfileSet) *Error {
	if err := cleanID("payload.profile.id", &p.Profile.ID, true); err != nil {
		return err
	}
	old := s.Profiles[p.Profile.ID]
	if old == nil {
		return refuse(CodeNotFound, "payload.profile.id", "no such profile")
	}
	if err := cleanID("payload.profile.memberId", &p.Profile.MemberID, false); err != nil {
		return err
	}
	if p.Profile.MemberID == "" {
		p.Profile.MemberID = old.MemberID
	}
	if p.Profile.MemberID != old.MemberID {
		return invalid("payload.profile.memberId", "a profile stays the same person")
	}
	return s.cleanProfile(op, &p.Profile, old)
}

func (s *State) profileTaken(id string) bool { return s.Profiles[id] != nil }

func applyProfileSet(s *State, op *Op, p *ProfileSet) Changes {
	np := p.Profile
	np.Binomes = slices.Clone(np.Binomes)
	if np.ID == "" {
		np.ID = freshID(s.profileTaken, fmt.Sprintf("p%d", op.Seq))
	}
	refs := []Ref{ref(KindProfile, np.ID)}
	if old := s.Profiles[np.ID]; old != nil {
		for _, k := range old.Binomes {
			refs = append(refs, ref(KindMerge, k))
		}
	}
	for _, k := range np.Binomes {
		refs = append(refs, ref(KindMerge, k))
	}
	s.Profiles[np.ID] = &np
	return sortChanges(refs)
}

func checkProfileRemove(s *State, op *Op, p *ProfileRef) *Error {
	if err := mustFacilitator(op); err != nil {
		return err
	}
	if err := cleanID("payload.profileId", &p.ProfileID, true); err != nil {
		return err
	}
	pr := s.Profiles[p.ProfileID]
	if pr == nil {
		return refuse(CodeNotFound, "payload.profileId", "no such profile")
	}
	for _, k := range pr.Binomes {
		if why := s.profileNamedIn(pr.ID, k); why != "" {
			return refuse(CodeConflict, "payload.profileId", "in use: %s", why)
		}
	}
	return nil
}

func applyProfileRemove(s *State, op *Op, p *ProfileRef) Changes {
	refs := []Ref{ref(KindProfile, p.ProfileID)}
	for _, k := range s.Profiles[p.ProfileID].Binomes {
		refs = append(refs, ref(KindMerge, k))
	}
	delete(s.Profiles, p.ProfileID)
	return sortChanges(refs)
}

// ---- breakout groups ----

// newGroup makes a group with one empty list per template binome.
func (s *State) newGroup(id, name string, remote bool) *Group {
	s.GroupsMade++
	g := &Group{ID: id, Name: name, Remote: remote, Pos: s.GroupsMade, Lists: map[string]*GroupList{}}
	for _, b := range s.Template.Binomes {
		g.Lists[b.Key] = &GroupList{Qualities: []Quality{}, Names: []string{}}
	}
	s.Groups[id] = g
	return g
}

func (s *State) groupTaken(id string) bool { return s.Groups[id] != nil }

// groupSize counts the members in group id.
func (s *State) groupSize(id string) int {
	n := 0
	for _, m := range s.Members {
		if m.GroupID == id {
			n++
		}
	}
	return n
}

// hasContent says whether a group holds anything the split must not lose.
func (g *Group) hasContent() bool {
	if g.Submitted || g.Rapporteur != "" {
		return true
	}
	for _, l := range g.Lists {
		if len(l.Qualities) > 0 || len(l.Names) > 0 || l.Consensus {
			return true
		}
	}
	return false
}

// defaultGroupName is "Groupe N" or "Groupe à distance N", N the first
// number no group of that kind uses.
func (s *State) defaultGroupName(remote bool, reserved map[string]bool) string {
	prefix := "Groupe "
	if remote {
		prefix = "Groupe à distance "
	}
	used := map[string]bool{}
	for _, g := range s.Groups {
		used[g.Name] = true
	}
	for n := 1; ; n++ {
		name := fmt.Sprintf("%s%d", prefix, n)
		if !used[name] && !reserved[name] {
			return name
		}
	}
}

func checkGroupsSplit(s *State, op *Op, p *GroupsSplit) *Error {
	if err := mustFacilitator(op); err != nil {
		return err
	}
	if err := s.mustNotClosed(); err != nil {
		return err
	}
	if p.Replace {
		for _, id := range sortedKeys(s.Groups) {
			if s.Groups[id].hasContent() {
				return refuse(CodeConflict, "payload.replace", "group %s already has content", id)
			}
		}
	}
	for _, m := range s.Members {
		if m.Present && (p.Replace || m.GroupID == "") {
			return nil
		}
	}
	return refuse(CodeConflict, "", "no present member outside a group")
}

func applyGroupsSplit(s *State, op *Op, p *GroupsSplit) Changes {
	var refs []Ref
	if p.Replace {
		for _, id := range sortedKeys(s.Groups) {
			refs = append(refs, ref(KindGroup, id))
			delete(s.Groups, id)
		}
		for _, id := range sortedKeys(s.Members) {
			if m := s.Members[id]; m.GroupID != "" {
				m.GroupID = ""
				refs = append(refs, ref(KindMember, id))
			}
		}
	}
	var inPerson, remote []Member
	for _, id := range sortedKeys(s.Members) {
		m := s.Members[id]
		if m.Present && m.GroupID == "" {
			if m.Remote {
				remote = append(remote, *m)
			} else {
				inPerson = append(inPerson, *m)
			}
		}
	}
	n := 0
	for _, set := range []struct {
		members []Member
		remote  bool
	}{{inPerson, false}, {remote, true}} {
		for _, ids := range AutoSplit(set.members, s.Template.GroupSizeMax) {
			n++
			gid := freshID(s.groupTaken, fmt.Sprintf("g%d-%d", op.Seq, n))
			g := s.newGroup(gid, s.defaultGroupName(set.remote, nil), set.remote)
			refs = append(refs, ref(KindGroup, g.ID))
			for _, mid := range ids {
				s.Members[mid].GroupID = g.ID
				refs = append(refs, ref(KindMember, mid))
			}
		}
	}
	return sortChanges(append(refs, s.mergeRefs()...))
}

// AutoSplit splits members into ceil(n/max) groups whose sizes differ by
// at most one, spreading the members of one action group round-robin. It is
// deterministic: members are ordered by action group (largest first), then
// name, then id, and dealt like cards. It returns the member ids of each
// group, each sorted.
func AutoSplit(members []Member, max int) [][]string {
	if len(members) == 0 || max < 1 {
		return nil
	}
	size := map[string]int{}
	for _, m := range members {
		size[m.ActionGroupID]++
	}
	ordered := slices.Clone(members)
	slices.SortFunc(ordered, func(a, b Member) int {
		if a.ActionGroupID != b.ActionGroupID {
			if sa, sb := size[a.ActionGroupID], size[b.ActionGroupID]; sa != sb {
				return sb - sa
			}
			return strings.Compare(a.ActionGroupID, b.ActionGroupID)
		}
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	k := (len(ordered) + max - 1) / max
	groups := make([][]string, k)
	for i, m := range ordered {
		groups[i%k] = append(groups[i%k], m.ID)
	}
	for _, g := range groups {
		slices.Sort(g)
	}
	return groups
}

func checkGroupAdd(s *State, op *Op, p *GroupAdd) *Error {
	if err := mustFacilitator(op); err != nil {
		return err
	}
	if err := s.mustNotClosed(); err != nil {
		return err
	}
	if err := cleanID("payload.groupId", &p.GroupID, false); err != nil {
		return err
	}
	if p.GroupID != "" && s.Groups[p.GroupID] != nil {
		return refuse(CodeConflict, "payload.groupId", "group id taken")
	}
	return cleanName("payload.name", &p.Name, false)
}

func applyGroupAdd(s *State, op *Op, p *GroupAdd) Changes {
	id := p.GroupID
	if id == "" {
		id = freshID(s.groupTaken, fmt.Sprintf("g%d", op.Seq))
	}
	name := p.Name
	if name == "" {
		name = s.defaultGroupName(p.Remote, nil)
	}
	s.newGroup(id, name, p.Remote)
	return sortChanges(append(s.mergeRefs(), ref(KindGroup, id)))
}

func checkGroupRemove(s *State, op *Op, p *GroupRef) *Error {
	if err := mustFacilitator(op); err != nil {
		return err
	}
	if err := cleanID("payload.groupId", &p.GroupID, true); err != nil {
		return err
	}
	g := s.Groups[p.GroupID]
	if g == nil {
		return refuse(CodeNotFound, "payload.groupId", "no such group")
	}
	if s.groupSize(g.ID) > 0 || g.hasContent() {
		return refuse(CodeConflict, "payload.groupId", "only an empty group can be removed")
	}
	return nil
}

func applyGroupRemove(s *State, op *Op, p *GroupRef) Changes {
	delete(s.Groups, p.GroupID)
	return sortChanges(append(s.mergeRefs(), ref(KindGroup, p.GroupID)))
}

func checkGroupMove(s *State, op *Op, p *GroupMove) *Error {
	if err := mustFacilitator(op); err != nil {
		return err
	}
	if err := s.mustNotClosed(); err != nil {
		return err
	}
	if err := cleanID("payload.memberId", &p.MemberID, true); err != nil {
		return err
	}
	if err := cleanID("payload.groupId", &p.GroupID, false); err != nil {
		return err
	}
	m := s.Members[p.MemberID]
	if m == nil {
		return refuse(CodeNotFound, "payload.memberId", "no such member")
	}
	if p.GroupID == "" || m.GroupID == p.GroupID {
		return nil
	}
	if s.Groups[p.GroupID] == nil {
		return refuse(CodeNotFound, "payload.groupId", "no such group")
	}
	if s.groupSize(p.GroupID) >= s.Template.GroupSizeMax {
		return refuse(CodeGroupFull, "payload.groupId", "group at its cap of %d", s.Template.GroupSizeMax)
	}
	return nil
}

func applyGroupMove(s *State, op *Op, p *GroupMove) Changes {
	m := s.Members[p.MemberID]
	if m.GroupID == p.GroupID {
		return Changes{}
	}
	refs := []Ref{ref(KindMember, m.ID)}
	if old := s.Groups[m.GroupID]; old != nil && old.Rapporteur == m.ID {
		old.Rapporteur = ""
		refs = append(refs, ref(KindGroup, old.ID))
	}
	m.GroupID = p.GroupID
	return sortChanges(refs)
}

func checkGroupRapporteur(s *State, op *Op, p *GroupRapporteur) *Error {
	if err := s.mustNotClosed(); err != nil {
		return err
	}
	g, err := s.groupForEdit(op, "payload.groupId", p.GroupID)
	if err != nil {
		return err
	}
	p.GroupID = g.ID
	if err := cleanID("payload.memberId", &p.MemberID, false); err != nil {
		return err
	}
	if p.MemberID != "" {
		if m := s.Members[p.MemberID]; m == nil || m.GroupID != g.ID {
			return refuse(CodeNotFound, "payload.memberId", "not a member of this group")
		}
	}
	return nil
}

func applyGroupRapporteur(s *State, op *Op, p *GroupRapporteur) Changes {
	s.Groups[p.GroupID].Rapporteur = p.MemberID
	return Changes{ref(KindGroup, p.GroupID)}
}

// ---- qualities ----

// maxQualities bounds one list of qualities sought.
const maxQualities = 50

func checkQualityAdd(s *State, op *Op, p *QualityOp) *Error {
	_, l, err := s.listForEdit(op, &p.GroupID, &p.Binome)
	if err != nil {
		return err
	}
	if err := s.mustStep(StepIV, StepV); err != nil {
		return err
	}
	if err := cleanID("payload.quality.id", &p.Quality.ID, false); err != nil {
		return err
	}
	if p.Quality.ID != "" && slices.ContainsFunc(l.Qualities, func(q Quality) bool { return q.ID == p.Quality.ID }) {
		return refuse(CodeConflict, "payload.quality.id", "quality id taken")
	}
	if len(l.Qualities) >= maxQualities {
		return refuse(CodeListFull, "payload.quality", "at most %d qualities", maxQualities)
	}
	return cleanText("payload.quality.text", &p.Quality.Text, true)
}

func applyQualityAdd(s *State, op *Op, p *QualityOp) Changes {
	l := s.Groups[p.GroupID].Lists[p.Binome]
	q := p.Quality
	if q.ID == "" {
		q.ID = freshID(func(id string) bool {
			return slices.ContainsFunc(l.Qualities, func(x Quality) bool { return x.ID == id })
		}, fmt.Sprintf("q%d", op.Seq))
	}
	l.Qualities = append(l.Qualities, q)
	return Changes{ref(KindList, ListID(p.GroupID, p.Binome))}
}

// qualityIndex finds a quality line for edit or removal.
func (s *State) qualityIndex(op *Op, p *QualityOp) (int, *Error) {
	_, l, err := s.listForEdit(op, &p.GroupID, &p.Binome)
	if err != nil {
		return -1, err
	}
	if err := s.mustStep(StepIV, StepV); err != nil {
		return -1, err
	}
	if err := cleanID("payload.quality.id", &p.Quality.ID, true); err != nil {
		return -1, err
	}
	i := slices.IndexFunc(l.Qualities, func(q Quality) bool { return q.ID == p.Quality.ID })
	if i < 0 {
		return -1, refuse(CodeNotFound, "payload.quality.id", "no such quality")
	}
	return i, nil
}

func checkQualityEdit(s *State, op *Op, p *QualityOp) *Error {
	if _, err := s.qualityIndex(op, p); err != nil {
		return err
	}
	return cleanText("payload.quality.text", &p.Quality.Text, true)
}

func applyQualityEdit(s *State, op *Op, p *QualityOp) Changes {
	l := s.Groups[p.GroupID].Lists[p.Binome]
	i := slices.IndexFunc(l.Qualities, func(q Quality) bool { return q.ID == p.Quality.ID })
	l.Qualities[i].Text = p.Quality.Text
	return Changes{ref(KindList, ListID(p.GroupID, p.Binome))}
}

func checkQualityRemove(s *State, op *Op, p *QualityOp) *Error {
	_, err := s.qualityIndex(op, p)
	return err
}

func applyQualityRemove(s *State, op *Op, p *QualityOp) Changes {
	l := s.Groups[p.GroupID].Lists[p.Binome]
	i := slices.IndexFunc(l.Qualities, func(q Quality) bool { return q.ID == p.Quality.ID })
	l.Qualities = slices.Delete(l.Qualities, i, i+1)
	return Changes{ref(KindList, ListID(p.GroupID, p.Binome))}
}

// ---- shortlists ----

// checkConsensusPair refuses a consensus list that is not an eligible pair.
func (s *State) checkConsensusPair(field string, names []string) *Error {
	if len(names) != s.Template.PairSize {
		return invalid(field, "a consensus pair needs %d names", s.Template.PairSize)
	}
	if ok, why := s.PairEligibility(names[0], names[1]); !ok {
		return refuse(CodeIneligible, field, "%s", why)
	}
	return nil
}

func checkShortlistAdd(s *State, op *Op, p *ShortlistOp) *Error {
	_, l, err := s.listForEdit(op, &p.GroupID, &p.Binome)
	if err != nil {
		return err
	}
	if err := s.mustStep(StepV); err != nil {
		return err
	}
	if err := cleanID("payload.profileId", &p.ProfileID, true); err != nil {
		return err
	}
	pr := s.Profiles[p.ProfileID]
	if pr == nil {
		return refuse(CodeNotFound, "payload.profileId", "no such profile")
	}
	if !slices.Contains(pr.Binomes, p.Binome) {
		return invalid("payload.profileId", "not proposed for this binome")
	}
	if slices.Contains(l.Names, p.ProfileID) {
		return refuse(CodeConflict, "payload.profileId", "already in the list")
	}
	// An ineligible name or pair is accepted while the group works (the
	// merge flags it with its reason); submitting refuses an ineligible
	// consensus pair.
	if l.Consensus {
		if len(l.Names) >= s.Template.PairSize {
			return refuse(CodeListFull, "payload.profileId", "a consensus pair has %d names", s.Template.PairSize)
		}
		return nil
	}
	if len(l.Names) >= s.Template.NamesMaxNoConsen {
		return refuse(CodeListFull, "payload.profileId", "at most %d names without consensus", s.Template.NamesMaxNoConsen)
	}
	return nil
}

func applyShortlistAdd(s *State, op *Op, p *ShortlistOp) Changes {
	l := s.Groups[p.GroupID].Lists[p.Binome]
	l.Names = append(l.Names, p.ProfileID)
	return sortChanges([]Ref{ref(KindList, ListID(p.GroupID, p.Binome)), ref(KindMerge, p.Binome)})
}

func checkShortlistRemove(s *State, op *Op, p *ShortlistOp) *Error {
	_, l, err := s.listForEdit(op, &p.GroupID, &p.Binome)
	if err != nil {
		return err
	}
	if err := s.mustStep(StepV); err != nil {
		return err
	}
	if err := cleanID("payload.profileId", &p.ProfileID, true); err != nil {
		return err
	}
	if !slices.Contains(l.Names, p.ProfileID) {
		return refuse(CodeNotFound, "payload.profileId", "not in the list")
	}
	return nil
}

func applyShortlistRemove(s *State, op *Op, p *ShortlistOp) Changes {
	l := s.Groups[p.GroupID].Lists[p.Binome]
	i := slices.Index(l.Names, p.ProfileID)
	l.Names = slices.Delete(l.Names, i, i+1)
	return sortChanges([]Ref{ref(KindList, ListID(p.GroupID, p.Binome)), ref(KindMerge, p.Binome)})
}

func checkShortlistMode(s *State, op *Op, p *ShortlistMode) *Error {
	_, l, err := s.listForEdit(op, &p.GroupID, &p.Binome)
	if err != nil {
		return err
	}
	if err := s.mustStep(StepV); err != nil {
		return err
	}
	if p.Consensus {
		if len(l.Names) > s.Template.PairSize {
			return refuse(CodeListFull, "payload.consensus", "a consensus pair has %d names", s.Template.PairSize)
		}
	}
	return nil
}

func applyShortlistMode(s *State, op *Op, p *ShortlistMode) Changes {
	s.Groups[p.GroupID].Lists[p.Binome].Consensus = p.Consensus
	return sortChanges([]Ref{ref(KindList, ListID(p.GroupID, p.Binome)), ref(KindMerge, p.Binome)})
}

func checkGroupSubmit(s *State, op *Op, p *GroupRef) *Error {
	if err := cleanID("payload.groupId", &p.GroupID, true); err != nil {
		return err
	}
	g := s.Groups[p.GroupID]
	if g == nil {
		return refuse(CodeNotFound, "payload.groupId", "no such group")
	}
	if op.Actor.Role != RoleFacilitator {
		if !isParticipant(op) || g.Rapporteur == "" || op.Actor.MemberID != g.Rapporteur {
			return refuse(CodeNotAllowed, "actor.role", "the group's rapporteur or a facilitator")
		}
		if err := s.mustPresent(op); err != nil {
			return err
		}
	}
	if err := s.mustStep(StepV); err != nil {
		return err
	}
	if !p.Submitted {
		return nil
	}
	for _, b := range s.Template.Binomes {
		l := g.Lists[b.Key]
		if !l.Consensus {
			continue
		}
		if err := s.checkConsensusPair("lists."+b.Key+".names", l.Names); err != nil {
			return err
		}
	}
	return nil
}

func applyGroupSubmit(s *State, op *Op, p *GroupRef) Changes {
	s.Groups[p.GroupID].Submitted = p.Submitted
	return sortChanges(append(s.mergeRefs(), ref(KindGroup, p.GroupID)))
}

// ---- consensus checks ----

func (s *State) openCheck() *ConsensusCheck {
	for _, id := range sortedKeys(s.Checks) {
		if s.Checks[id].Open {
			return s.Checks[id]
		}
	}
	return nil
}

// cleanPair checks two profile ids of binome k: existing, proposed for k,
// and an eligible pair.
func (s *State) cleanPair(field, k string, pair []string) *Error {
	for i := range pair {
		f := fmt.Sprintf("%s.%d", field, i)
		if err := cleanID(f, &pair[i], true); err != nil {
			return err
		}
		pr := s.Profiles[pair[i]]
		if pr == nil {
			return refuse(CodeNotFound, f, "no such profile")
		}
		if !slices.Contains(pr.Binomes, k) {
			return invalid(f, "not proposed for this binome")
		}
	}
	if ok, why := s.PairEligibility(pair[0], pair[1]); !ok {
		return refuse(CodeIneligible, field, "%s", why)
	}
	return nil
}

func checkConsensusOpen(s *State, op *Op, p *ConsensusOpen) *Error {
	if err := mustFacilitator(op); err != nil {
		return err
	}
	if err := s.mustStep(StepVI, StepVII); err != nil {
		return err
	}
	if err := cleanID("payload.checkId", &p.CheckID, false); err != nil {
		return err
	}
	if p.CheckID != "" && s.Checks[p.CheckID] != nil {
		return refuse(CodeConflict, "payload.checkId", "check id taken")
	}
	if err := s.cleanBinome("payload.binome", &p.Binome); err != nil {
		return err
	}
	if c := s.openCheck(); c != nil {
		return refuse(CodeConflict, "payload.checkId", "another check is open")
	}
	return s.cleanPair("payload.pair", p.Binome, p.Pair[:])
}

func applyConsensusOpen(s *State, op *Op, p *ConsensusOpen) Changes {
	id := p.CheckID
	if id == "" {
		id = freshID(func(id string) bool { return s.Checks[id] != nil }, fmt.Sprintf("c%d", op.Seq))
	}
	s.Checks[id] = &ConsensusCheck{ID: id, Binome: p.Binome, Pair: p.Pair, Open: true, OpenedAt: at(op), Answers: map[string]*CheckAnswer{}}
	return Changes{ref(KindCheck, id)}
}

func (s *State) findCheck(field string, id *string) (*ConsensusCheck, *Error) {
	if err := cleanID(field, id, true); err != nil {
		return nil, err
	}
	c := s.Checks[*id]
	if c == nil {
		return nil, refuse(CodeNotFound, field, "no such check")
	}
	return c, nil
}

func checkConsensusAnswer(s *State, op *Op, p *ConsensusAnswer) *Error {
	if !isParticipant(op) {
		return refuse(CodeNotAllowed, "actor.role", "participants answer")
	}
	if err := s.mustPresent(op); err != nil {
		return err
	}
	c, err := s.findCheck("payload.checkId", &p.CheckID)
	if err != nil {
		return err
	}
	if !c.Open {
		return refuse(CodeClosed, "payload.checkId", "check closed")
	}
	switch p.Kind = strings.TrimSpace(p.Kind); p.Kind {
	case AnswerSupport, AnswerReservation, AnswerObjection:
	default:
		return invalid("payload.kind", "support, reservation or objection")
	}
	if err := cleanText("payload.argument", &p.Argument, p.Kind == AnswerObjection); err != nil {
		if err.Detail == "required" {
			return refuse(CodeArgumentMissing, "payload.argument", "an objection needs an argument")
		}
		return err
	}
	return nil
}

func applyConsensusAnswer(s *State, op *Op, p *ConsensusAnswer) Changes {
	c := s.Checks[p.CheckID]
	c.Answers[op.Actor.MemberID] = &CheckAnswer{MemberID: op.Actor.MemberID, Kind: p.Kind, Argument: p.Argument, Standing: p.Kind == AnswerObjection}
	return Changes{ref(KindCheck, c.ID)}
}

func checkConsensusStanding(s *State, op *Op, p *ConsensusStanding) *Error {
	if err := mustFacilitator(op); err != nil {
		return err
	}
	c, err := s.findCheck("payload.checkId", &p.CheckID)
	if err != nil {
		return err
	}
	if err := cleanID("payload.memberId", &p.MemberID, true); err != nil {
		return err
	}
	a := c.Answers[p.MemberID]
	if a == nil || a.Kind != AnswerObjection {
		return refuse(CodeNotFound, "payload.memberId", "no objection from this member")
	}
	return nil
}

func applyConsensusStanding(s *State, op *Op, p *ConsensusStanding) Changes {
	s.Checks[p.CheckID].Answers[p.MemberID].Standing = p.Standing
	return Changes{ref(KindCheck, p.CheckID)}
}

func checkConsensusClose(s *State, op *Op, p *ConsensusClose) *Error {
	if err := mustFacilitator(op); err != nil {
		return err
	}
	c, err := s.findCheck("payload.checkId", &p.CheckID)
	if err != nil {
		return err
	}
	if !c.Open {
		return refuse(CodeClosed, "payload.checkId", "check already closed")
	}
	return nil
}

func applyConsensusClose(s *State, op *Op, p *ConsensusClose) Changes {
	c := s.Checks[p.CheckID]
	c.Open = false
	t := at(op)
	c.ClosedAt = &t
	return Changes{ref(KindCheck, c.ID)}
}

// ---- decisions ----

func checkDecisionSet(s *State, op *Op, p *DecisionSet) *Error {
	if err := mustFacilitator(op); err != nil {
		return err
	}
	if err := s.mustStep(StepVI, StepVII); err != nil {
		return err
	}
	d := &p.Decision
	if err := s.cleanBinome("payload.decision.binome", &d.Binome); err != nil {
		return err
	}
	if err := cleanText("payload.decision.note", &d.Note, false); err != nil {
		return err
	}
	if err := cleanID("payload.decision.checkId", &d.CheckID, false); err != nil {
		return err
	}
	if d.CheckID != "" {
		if c := s.Checks[d.CheckID]; c == nil || c.Binome != d.Binome {
			return refuse(CodeNotFound, "payload.decision.checkId", "no such check for this binome")
		}
	}
	switch d.Outcome = strings.TrimSpace(d.Outcome); d.Outcome {
	case OutcomeDesignated:
		if len(d.Pair) != s.Template.PairSize {
			return invalid("payload.decision.pair", "a designated pair has %d names", s.Template.PairSize)
		}
		if len(d.Debated) > 0 {
			return invalid("payload.decision.debated", "only for no consensus")
		}
		return s.cleanPair("payload.decision.pair", d.Binome, d.Pair)
	case OutcomeNoConsensus:
		if len(d.Pair) > 0 {
			return invalid("payload.decision.pair", "only for a designation")
		}
		if len(d.Debated) == 0 || len(d.Debated) > 20 {
			return invalid("payload.decision.debated", "between 1 and 20 debated profiles")
		}
		seen := map[string]bool{}
		for i := range d.Debated {
			f := fmt.Sprintf("payload.decision.debated.%d", i)
			if err := cleanID(f, &d.Debated[i], true); err != nil {
				return err
			}
			if s.Profiles[d.Debated[i]] == nil {
				return refuse(CodeNotFound, f, "no such profile")
			}
			if seen[d.Debated[i]] {
				return invalid(f, "named twice")
			}
			seen[d.Debated[i]] = true
		}
		return nil
	case OutcomeNoCandidate:
		if len(d.Pair) > 0 || len(d.Debated) > 0 {
			return invalid("payload.decision", "no candidate names nobody")
		}
		return nil
	}
	return invalid("payload.decision.outcome", "designated, no_consensus or no_candidate")
}

func applyDecisionSet(s *State, op *Op, p *DecisionSet) Changes {
	d := p.Decision
	d.At = at(op)
	d.Pair, d.Debated = slices.Clone(d.Pair), slices.Clone(d.Debated)
	s.Decisions[d.Binome] = &d
	return Changes{ref(KindDecision, d.Binome)}
}

func checkDecisionClear(s *State, op *Op, p *DecisionClear) *Error {
	if err := mustFacilitator(op); err != nil {
		return err
	}
	if err := s.mustStep(StepVI, StepVII); err != nil {
		return err
	}
	p.Binome = strings.TrimSpace(p.Binome)
	if s.Decisions[p.Binome] == nil {
		return refuse(CodeNotFound, "payload.binome", "no decision for this binome")
	}
	return nil
}

func applyDecisionClear(s *State, op *Op, p *DecisionClear) Changes {
	delete(s.Decisions, p.Binome)
	return Changes{ref(KindDecision, p.Binome)}
}

// ---- purge ----

func checkMeetingPurge(s *State, op *Op, p *MeetingPurge) *Error {
	if op.Actor.Role != RoleFacilitator && op.Actor.Role != RoleSystem {
		return refuse(CodeNotAllowed, "actor.role", "facilitators only")
	}
	return nil
}

// applyMeetingPurge removes every personal datum: member names (replaced by
// "Membre N"), contacts, attendance, free texts about people (profiles,
// bilans, arguments, notes), facilitators' names and participant tokens.
// What stays is the shape of the meeting: steps, groups, counts, outcomes.
func applyMeetingPurge(s *State, op *Op, p *MeetingPurge) Changes {
	refs := []Ref{ref(KindMeeting, "")}
	for i, id := range sortedKeys(s.Members) {
		m := s.Members[id]
		*m = Member{ID: m.ID, Name: fmt.Sprintf("Membre %d", i+1), ActionGroupID: m.ActionGroupID, Remote: m.Remote, GroupID: m.GroupID}
		refs = append(refs, ref(KindMember, id))
	}
	for _, id := range sortedKeys(s.Profiles) {
		pr := s.Profiles[id]
		pr.Skills, pr.Experience, pr.Availability, pr.Commitments = "", "", "", ""
		refs = append(refs, ref(KindProfile, id))
	}
	for _, k := range sortedKeys(s.Bilans) {
		refs = append(refs, ref(KindBilan, k))
	}
	s.Bilans = map[string]string{}
	for _, id := range sortedKeys(s.Checks) {
		for _, a := range s.Checks[id].Answers {
			a.Argument = ""
		}
		refs = append(refs, ref(KindCheck, id))
	}
	for _, k := range sortedKeys(s.Decisions) {
		s.Decisions[k].Note = ""
		refs = append(refs, ref(KindDecision, k))
	}
	for _, h := range sortedKeys(s.Tokens) {
		if s.Tokens[h].Role == RoleParticipant {
			delete(s.Tokens, h)
		}
	}
	s.Facilitators = []string{}
	s.Info.VideoURL = ""
	s.Purged = true
	return sortChanges(append(refs, s.mergeRefs()...))
}
