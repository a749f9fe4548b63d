package hub

import (
	"encoding/json"

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
// redacted): the participants of a changed group get that group whole and
// the other changed groups as outlines; the others (outsider) get the
// changed groups as outlines. An outline that did not change (a list edit
// changes only lists) is left out, and a frame left with no change is not
// sent (nil). Outlines are compared with the last one this room encoded.
func (r *Room) participantFrames(op *meeting.Op, changes []meeting.Change, redacted []byte) (outsider []byte, insiders []groupFrame) {
	var changed []string // the groups changed by this op
	for _, c := range changes {
		if c.Kind == meeting.KindGroup {
			changed = append(changed, c.ID)
		}
	}
	if len(changed) == 0 {
		return redacted, nil
	}
	outlines := make(map[string]any, len(changed)) // the outlines that changed
	for _, id := range changed {
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
	frameFor := func(group string) []byte {
		out := make([]meeting.Change, 0, len(changes))
		for _, c := range changes {
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
	outsider = frameFor("")
	insiders = make([]groupFrame, 0, len(changed))
	for _, id := range changed {
		f := redacted // the only changed group is theirs: the projector's frame
		if len(changed) > 1 {
			f = frameFor(id)
		}
		insiders = append(insiders, groupFrame{group: id, frame: f})
	}
	return outsider, insiders
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
