package hub

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/boucle/designation/internal/wireview"
	"github.com/boucle/designation/meeting"
	"github.com/google/uuid"
)

// lensClient is a connection of the room, kept by the test: it applies
// its frames the way docs/PROTOCOL.md tells clients to.
type lensClient struct {
	name    string
	lists   bool // says "lists" in its hello: reads list changes
	sub     *subscriber
	lastSeq uint64
	frames  int // changes frames received
	snaps   int // snapshots received
	view    wireview.View
}

func (c *lensClient) apply(t *testing.T, data []byte) {
	t.Helper()
	var f struct {
		Type    string                     `json:"type"`
		Seq     uint64                     `json:"seq"`
		State   map[string]json.RawMessage `json:"state"`
		Changes []struct {
			Kind  string          `json:"kind"`
			ID    string          `json:"id"`
			Value json.RawMessage `json:"value"`
		} `json:"changes"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("%s: bad frame %s", c.name, data)
	}
	switch f.Type {
	case "snapshot":
		c.view = viewOf(t, f.State)
		c.lastSeq = f.Seq
		c.snaps++
	case "changes":
		if f.Seq <= c.lastSeq {
			t.Fatalf("%s: changes seq %d after %d", c.name, f.Seq, c.lastSeq)
		}
		c.frames++
		c.lastSeq = f.Seq
		for _, ch := range f.Changes {
			if ch.Kind == meeting.KindList && !c.lists {
				t.Fatalf("%s did not say lists, and is sent list %s", c.name, ch.ID)
			}
			if err := c.view.Apply(ch.Kind, ch.ID, ch.Value); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
		}
	}
}

// viewOf turns a snapshot's state into collections of raw values.
func viewOf(t *testing.T, state map[string]json.RawMessage) wireview.View {
	t.Helper()
	v := wireview.View{}
	for key, raw := range state {
		switch key {
		case "id", "seq", "audience":
		case "meeting":
			v["meeting"] = map[string]json.RawMessage{"": raw}
		default:
			var m map[string]json.RawMessage
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatalf("snapshot %s: %v", key, err)
			}
			v[key] = m
		}
	}
	return v
}

// same compares two views value by value (as decoded JSON).
func same(a, b map[string]map[string]json.RawMessage) string {
	for _, coll := range []map[string]map[string]json.RawMessage{a, b} {
		for key, m := range coll {
			for id := range m {
				var x, y any
				_ = json.Unmarshal(a[key][id], &x)
				_ = json.Unmarshal(b[key][id], &y)
				if !reflect.DeepEqual(x, y) {
					return fmt.Sprintf("%s[%q]: %s, want %s", key, id, a[key][id], b[key][id])
				}
			}
		}
	}
	return ""
}

// TestEveryLensEndsWithItsView: a meeting of 30 at steps IV–V where
// participants edit their groups' lists and shortlists, facilitators move
// people between groups and phones drop and resume. Every connection,
// applying what it was sent, ends with exactly the view of its lens
// (meeting.ViewFor); a phone never gets another group's lists, and gets
// fewer frames than the projector. Half the connections say "lists" and get
// a list edit as that list; the others get its group whole, as pages did
// before there were list changes.
func TestEveryLensEndsWithItsView(t *testing.T) {
	room := roomOnDisk(t, "LENSAA", Options{SnapshotEvery: 1 << 20})
	ctx := context.Background()
	submit := func(actor meeting.Actor, typ string, p any) Result {
		t.Helper()
		res, err := room.Submit(ctx, &meeting.Op{ID: uuid.NewString(), Type: typ, Actor: actor, Payload: payload(p)})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	must := func(actor meeting.Actor, typ string, p any) {
		t.Helper()
		if res := submit(actor, typ, p); res.Err != nil {
			t.Fatalf("%s: %v", typ, res.Err)
		}
	}
	system := meeting.Actor{Role: meeting.RoleSystem}
	for a := range 3 {
		must(facilitator, meeting.OpActionGroupUpsert, meeting.ActionGroupUpsert{ActionGroup: meeting.ActionGroup{ID: fmt.Sprintf("ag%d", a), Name: fmt.Sprintf("GA %d", a), CertifiedOn: "2026-01-10"}})
	}
	const people = 30
	for i := range people {
		id := fmt.Sprintf("p%02d", i)
		must(facilitator, meeting.OpMemberAdd, meeting.MemberAdd{Member: meeting.Member{ID: id, Name: "Personne " + id, ActionGroupID: fmt.Sprintf("ag%d", i%3), Email: id + "@example.org"}})
		must(facilitator, meeting.OpMemberCheckIn, meeting.MemberCheckIn{MemberID: id, Remote: i >= 25})
		must(system, meeting.OpTokenIssue, meeting.TokenIssue{Hash: TokenHash("tok-" + id), Role: meeting.RoleParticipant, MemberID: id})
	}
	binomes := []string{"communication", "materiel", "caisse"}
	for i := range 6 {
		must(facilitator, meeting.OpProfileAdd, meeting.ProfileSet{Profile: meeting.Profile{ID: fmt.Sprintf("pr%d", i), MemberID: fmt.Sprintf("p%02d", i),
			Binomes: binomes, ProposedBy: fmt.Sprintf("ag%d", i%3)}})
	}

	// Everyone connects before the groups are made: the split moves every
	// phone, and each one gets its new view.
	var clients []*lensClient
	connect := func(name, tokenHash string, lastSeq uint64, c *lensClient) *lensClient {
		t.Helper()
		if c == nil {
			c = &lensClient{name: name, lists: len(clients)%2 == 0}
			clients = append(clients, c)
		}
		c.sub = &subscriber{send: make(chan []byte, 1<<14), inflight: make(chan struct{}, 32), kick: func(StatusCode, string) {}, tokenHash: tokenHash, lists: c.lists}
		ok := false
		if err := room.call(ctx, func() { _, ok = room.subscribe(c.sub, lastSeq) }); err != nil || !ok {
			t.Fatalf("%s: subscribe: %v %v", name, err, ok)
		}
		return c
	}
	drain := func(c *lensClient) {
		for {
			select {
			case f := <-c.sub.send:
				c.apply(t, f)
			default:
				return
			}
		}
	}
	projector := connect("projector", TokenHash("scr-m1"), 0, nil)
	fac := connect("facilitator", TokenHash("fac-m1"), 0, nil)
	phones := make([]*lensClient, people)
	for i := range people {
		phones[i] = connect(fmt.Sprintf("p%02d", i), TokenHash(fmt.Sprintf("tok-p%02d", i)), 0, nil)
	}
	must(facilitator, meeting.OpStepSet, meeting.StepSet{Step: meeting.StepIV})
	must(facilitator, meeting.OpGroupsSplit, meeting.GroupsSplit{})

	groupOf := func(id string) string {
		var g string
		_ = room.Read(ctx, func(s *meeting.State) { g = s.Members[id].GroupID })
		return g
	}
	var groups []string
	_ = room.Read(ctx, func(s *meeting.State) {
		for id := range s.Groups {
			groups = append(groups, id)
		}
	})
	if len(groups) < 3 {
		t.Fatalf("%d groups", len(groups))
	}
	rng := rand.New(rand.NewPCG(7, 11))
	qualities := map[string][]string{} // group|binome → quality ids
	for i := range 400 {
		p := rng.IntN(people)
		id := fmt.Sprintf("p%02d", p)
		who := meeting.Actor{Role: meeting.RoleParticipant, MemberID: id}
		g := groupOf(id)
		b := binomes[rng.IntN(len(binomes))]
		key := g + "|" + b
		switch r := rng.IntN(100); {
		case r < 40:
			qid := fmt.Sprintf("q%d", i)
			if submit(who, meeting.OpQualityAdd, meeting.QualityOp{GroupID: g, Binome: b, Quality: meeting.Quality{ID: qid, Text: "qualité " + qid}}).Err == nil {
				qualities[key] = append(qualities[key], qid)
			}
		case r < 55 && len(qualities[key]) > 0:
			q := qualities[key][rng.IntN(len(qualities[key]))]
			submit(who, meeting.OpQualityEdit, meeting.QualityOp{GroupID: g, Binome: b, Quality: meeting.Quality{ID: q, Text: fmt.Sprintf("revue %d", i)}})
		case r < 62 && len(qualities[key]) > 0:
			q := qualities[key][0]
			if submit(who, meeting.OpQualityRemove, meeting.QualityOp{GroupID: g, Binome: b, Quality: meeting.Quality{ID: q}}).Err == nil {
				qualities[key] = qualities[key][1:]
			}
		case r < 75:
			submit(who, meeting.OpShortlistAdd, meeting.ShortlistOp{GroupID: g, Binome: b, ProfileID: fmt.Sprintf("pr%d", rng.IntN(6))})
		case r < 80:
			submit(who, meeting.OpShortlistRemove, meeting.ShortlistOp{GroupID: g, Binome: b, ProfileID: fmt.Sprintf("pr%d", rng.IntN(6))})
		case r < 83:
			submit(who, meeting.OpShortlistMode, meeting.ShortlistMode{GroupID: g, Binome: b, Consensus: rng.IntN(2) == 0})
		case r < 86:
			submit(who, meeting.OpGroupRapporteur, meeting.GroupRapporteur{GroupID: g, MemberID: id})
		case r < 89:
			submit(facilitator, meeting.OpGroupMove, meeting.GroupMove{MemberID: id, GroupID: groups[rng.IntN(len(groups))]})
		case r < 92:
			step := meeting.StepIV
			if rng.IntN(2) == 0 {
				step = meeting.StepV
			}
			submit(facilitator, meeting.OpStepSet, meeting.StepSet{Step: step})
		case r < 95:
			submit(facilitator, meeting.OpGroupSubmit, meeting.GroupRef{GroupID: g, Submitted: rng.IntN(2) == 0})
		default:
			// A phone drops, with the frames still in its queue half the
			// time, and resumes from the last seq it applied.
			c := phones[rng.IntN(people)]
			if rng.IntN(2) == 0 {
				drain(c)
			}
			_ = room.call(ctx, func() { room.unsubscribe(c.sub) })
			connect(c.name, c.sub.tokenHash, c.lastSeq, c)
		}
	}
	for _, c := range clients {
		drain(c)
	}

	// Two phones of one group, one saying "lists", drop and miss a list
	// edit: on resume the one that reads lists gets the edit from the
	// history; the other gets a snapshot (its frame was not kept).
	var reads, legacy *lensClient
	for _, c := range phones {
		if c.sub.lens.Group != phones[0].sub.lens.Group {
			continue
		}
		if c.lists && reads == nil {
			reads = c
		} else if !c.lists && legacy == nil {
			legacy = c
		}
	}
	if reads == nil || legacy == nil {
		t.Fatalf("group %s has no phone of each kind", phones[0].sub.lens.Group)
	}
	for _, c := range []*lensClient{reads, legacy} {
		_ = room.call(ctx, func() { room.unsubscribe(c.sub) })
	}
	g := reads.sub.lens.Group
	must(facilitator, meeting.OpQualityAdd, meeting.QualityOp{GroupID: g, Binome: "caisse", Quality: meeting.Quality{Text: "manquée"}})
	for _, c := range []*lensClient{reads, legacy} {
		frames, snaps := c.frames, c.snaps
		drain(connect(c.name, c.sub.tokenHash, c.lastSeq, c))
		if c == reads && (c.frames != frames+1 || c.snaps != snaps) {
			t.Errorf("%s, reading lists, resumed with %d changes and %d snapshots, want the missed edit", c.name, c.frames-frames, c.snaps-snaps)
		}
		if c == legacy && c.snaps != snaps+1 {
			t.Errorf("%s resumed across a list edit with %d snapshots, want one", c.name, c.snaps-snaps)
		}
	}
	for _, c := range clients {
		drain(c)
	}

	var wants = map[*lensClient]map[string]map[string]json.RawMessage{}
	_ = room.Read(ctx, func(s *meeting.State) {
		for _, c := range clients {
			var state map[string]json.RawMessage
			if err := json.Unmarshal(mustJSON(s.ViewFor(s.LensOf(c.sub.actor))), &state); err != nil {
				t.Fatal(err)
			}
			wants[c] = viewOf(t, state)
		}
	})
	for _, c := range clients {
		if d := same(c.view, wants[c]); d != "" {
			t.Errorf("%s ends with a view other than its lens's: %s", c.name, d)
		}
		if c.sub.lens.OwnGroupOnly {
			for id, raw := range c.view["groups"] {
				var g struct{ Lists map[string]any }
				_ = json.Unmarshal(raw, &g)
				if id != c.sub.lens.Group && g.Lists != nil {
					t.Errorf("%s (group %s) holds the lists of group %s", c.name, c.sub.lens.Group, id)
				}
			}
		}
	}
	if fac.frames != projector.frames {
		t.Errorf("the facilitator got %d frames, the projector %d: both get every op", fac.frames, projector.frames)
	}
	most := 0
	for _, c := range phones {
		most = max(most, c.frames)
	}
	t.Logf("projector %d frames, busiest phone %d", projector.frames, most)
	if most*2 > projector.frames {
		t.Errorf("a phone got %d frames of the projector's %d: other groups' edits reach it", most, projector.frames)
	}
}
