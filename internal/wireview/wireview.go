// Package wireview is a test client's copy of a meeting, kept the way
// docs/PROTOCOL.md tells clients to keep it: one map per snapshot
// collection, each value as the JSON the server sent. The hub's and the
// server's tests apply their frames with it.
package wireview

import (
	"encoding/json"
	"fmt"

	"github.com/boucle/designation/meeting"
)

// View holds, by snapshot collection ("meeting", "groups", …), each
// entity's JSON by id; the meeting itself is under id "".
type View map[string]map[string]json.RawMessage

// CollectionOf is the snapshot collection of a change kind (not "list",
// whose value lives inside its group).
func CollectionOf(kind string) string {
	switch kind {
	case meeting.KindMeeting:
		return "meeting"
	case meeting.KindBilan:
		return "bilans"
	}
	return kind + "s" // actionGroups, members, profiles, groups, checks, decisions, merges
}

// Apply applies one change: sets the entity to value, or deletes it when
// value is null (or absent). A "list" change sets one list of a group
// the view holds with its lists, and is an error for any other group.
func (v View) Apply(kind, id string, value json.RawMessage) error {
	if kind == meeting.KindList {
		return v.setList(id, value)
	}
	coll := CollectionOf(kind)
	if v[coll] == nil {
		v[coll] = map[string]json.RawMessage{}
	}
	if len(value) == 0 || string(value) == "null" {
		delete(v[coll], id)
	} else {
		v[coll][id] = value
	}
	return nil
}

func (v View) setList(id string, value json.RawMessage) error {
	g, b, ok := meeting.SplitListID(id)
	if !ok {
		return fmt.Errorf("list id %q", id)
	}
	var group map[string]json.RawMessage
	var lists map[string]json.RawMessage
	if err := json.Unmarshal(v["groups"][g], &group); err != nil || json.Unmarshal(group["lists"], &lists) != nil || lists == nil {
		return fmt.Errorf("list %s of a group whose lists the client does not hold: %s", id, v["groups"][g])
	}
	lists[b] = value
	var err error
	if group["lists"], err = json.Marshal(lists); err != nil {
		return err
	}
	v["groups"][g], err = json.Marshal(group)
	return err
}
