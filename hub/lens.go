package hub

import (
	"cmp"
	"encoding/json"
	"slices"

	"github.com/boucle/designation/meeting"
)

// A participant follows only its own breakout group's lists (meeting.Lens):
// a list edit of group G goes to G's phones, the facilitators and the
// projector, not to the other phones of the meeting. At steps IV–V, when
// ten groups edit at once, that is most of the traffic: a meeting of 100
// sends an edit to 13 connections instead of 103. The price is that a
// participant's seqs skip (docs/PROTOCOL.md, "Resume and re-sent ops").

// groupFrame is what the participants of one breakout group get for an op.
type groupFrame struct {
	group string
	frame []byte // nil: nothing
}

// participantFrames encodes, once per lens, what participants get for an
// op whose changes for the redacted audience are changes (encoded as
// redacted): the participants of a changed group get that group whole (or
// its changed lists) and the other changed groups as outlines; the others
// (outsider) get the changed groups as outlines. Another group's lists are
// left out, and so is an outline that did not change (an op that changes
// only lists); a frame left with no change is not sent (nil). Outlines are
// compared with the last one this room encoded: outlines is those that
// changed, for legacyFrames.
func (r *Room) participantFrames(op *meeting.Op, changes []meeting.Change, redacted []byte) (outsider []byte, insiders []groupFrame, outlines map[string]any) {
	var changed []string // the groups changed by this op, whole or one list
	for _, c := range changes {
		if g := groupOf(c); g != "" && !slices.Contains(changed, g) {
			changed = append(changed, g)
		}
	}
	if len(changed) == 0 {
		return redacted, nil, nil
	}
	outlines = make(map[string]any, len(changed))
	for _, c := range changes {
		if c.Kind != meeting.KindGroup {
			continue // a list change leaves the outline as it was
		}
		id := c.ID
		var value any
		if o := r.state.Outline(id); o != nil {
			value = o
		}
		enc, err := json.Marshal(value)
		if err != nil {
			panic(err) // the domain's values always encode
		}
		if last, ok := r.outlines[id]; ok && last == string(enc) {
			continue
		}
		outlines[id] = value
		if value == nil {
			delete(r.outlines, id)
		} else {
			r.outlines[id] = string(enc)
		}
	}
	outsider = participantFrame(op, changes, outlines, "")
	insiders = make([]groupFrame, 0, len(changed))
	for _, id := range changed {
		f := redacted // the only changed group is theirs: the projector's frame
		if len(changed) > 1 {
			f = participantFrame(op, changes, outlines, id)
		}
		insiders = append(insiders, groupFrame{group: id, frame: f})
	}
	return outsider, insiders, outlines
}

// participantFrame is the frame of an op for the participants of group
// ("": of no changed group), or nil when it has nothing for them: changes
// less the other groups' lists, with the other groups as their outlines
// when those changed.
func participantFrame(op *meeting.Op, changes []meeting.Change, outlines map[string]any, group string) []byte {
	out := make([]meeting.Change, 0, len(changes))
	for _, c := range changes {
		if c.Kind == meeting.KindList && groupOf(c) != group {
			continue // another group's lists: not in this view
		}
		if c.Kind == meeting.KindGroup && c.ID != group {
			value, ok := outlines[c.ID]
			if !ok {
				continue
			}
			c.Value = value
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil
	}
	return encodeChanges(op, out)
}

// A client that did not say "lists" in its hello (a page loaded before the
// server sent list changes, another client of an older protocol) knows no
// "list" kind: it gets the changed group whole instead, as before.
// Such frames are made only when a subscriber needs them, and are not
// kept: such a client catching up across a list change gets a snapshot.

// legacyFrames makes, on first need and once per lens, the frames of one
// op for the subscribers that did not say "lists". Use it before the next
// Apply: it reads the state's groups.
type legacyFrames struct {
	r              *Room
	op             *meeting.Op
	full, redacted []meeting.Change
	outlines       map[string]any // participantFrames's
	made           map[meeting.Lens][]byte
}

// frameFor is the frame of the op for lens l, nil for nothing.
func (lf *legacyFrames) frameFor(l meeting.Lens) []byte {
	if f, ok := lf.made[l]; ok {
		return f
	}
	var f []byte
	switch {
	case l.Audience == meeting.Full:
		f = encodeChanges(lf.op, lf.wholeGroups(lf.full, meeting.Full))
	case !l.OwnGroupOnly:
		f = encodeChanges(lf.op, lf.wholeGroups(lf.redacted, meeting.Redacted))
	default:
		f = participantFrame(lf.op, lf.wholeGroups(lf.redacted, meeting.Redacted), lf.outlines, l.Group)
	}
	if lf.made == nil {
		lf.made = make(map[meeting.Lens][]byte, 4)
	}
	lf.made[l] = f
	return f
}

// wholeGroups is changes, for audience a, with each list change replaced
// by its group whole (once per group), in (kind, id) order like the
// domain's.
func (lf *legacyFrames) wholeGroups(changes []meeting.Change, a meeting.Audience) []meeting.Change {
	out := make([]meeting.Change, 0, len(changes))
	for _, c := range changes {
		if c.Kind == meeting.KindList {
			c = lf.r.state.ChangesFor(meeting.Changes{{Kind: meeting.KindGroup, ID: groupOf(c)}}, a)[0]
		}
		if !slices.ContainsFunc(out, func(o meeting.Change) bool { return o.Kind == c.Kind && o.ID == c.ID }) {
			out = append(out, c)
		}
	}
	slices.SortStableFunc(out, func(a, b meeting.Change) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.ID, b.ID))
	})
	return out
}

// groupOf is the breakout group a change is about: the group of a group or
// list change, "" for any other kind.
func groupOf(c meeting.Change) string {
	switch c.Kind {
	case meeting.KindGroup:
		return c.ID
	case meeting.KindList:
		g, _, _ := meeting.SplitListID(c.ID)
		return g
	}
	return ""
}

// frameFor is the frame of entry e for lens l.
func (e *histEntry) frameFor(l meeting.Lens) []byte {
	switch {
	case l.Audience == meeting.Full:
		return e.full
	case !l.OwnGroupOnly:
		return e.redacted
	}
	for _, g := range e.insiders {
		if g.group == l.Group {
			return g.frame
		}
	}
	return e.outsider
}

// regroups tells whether an op may have moved a participant to another
// group (then a participant catching up gets a snapshot of its new view):
// a member's group is part of the member entity.
func regroups(ch meeting.Changes) bool {
	for _, c := range ch {
		if c.Kind == meeting.KindMember {
			return true
		}
	}
	return false
}
