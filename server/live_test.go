package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/boucle/designation/hub"
)

// plantedEmail and plantedPhone mark the contact details of the fixture's
// members: they must never reach a redacted screen.
const (
	plantedEmailDomain = "planted-secret.example"
	plantedPhonePrefix = "06 99 88"
)

// memberCSV builds an export of n members spread over groups action groups.
func memberCSV(n, groups int) string {
	var b strings.Builder
	b.WriteString("\ufeffPrénom;Nom;Groupe d'action;Date de certification;E-mail;Téléphone\r\n")
	for i := range n {
		g := i % groups
		fmt.Fprintf(&b, "Membre%02d;Test;GA %c;15/01/2025;membre%02d@%s;%s %02d %02d\r\n",
			i, 'A'+g, i, plantedEmailDomain, plantedPhonePrefix, i/100, i%100)
	}
	return b.String()
}

// importMembers imports the fixture and returns the member ids by line order.
func (a *testApp) importMembers(m meetingFixture, csv string) []importedMember {
	a.t.Helper()
	var resp importResponse
	st := a.do("POST", "/api/meetings/"+m.ID+"/members/import", m.FacSecret, "text/csv", strings.NewReader(csv), &resp)
	if st != http.StatusOK || !resp.Applied {
		a.t.Fatalf("import: %d %+v", st, resp)
	}
	return resp.Members
}

// joinAll checks every member in and returns their participant tokens.
func (a *testApp) joinAll(m meetingFixture, members []importedMember) map[string]string {
	a.t.Helper()
	tokens := map[string]string{}
	for _, mem := range members {
		var resp struct {
			Token    string `json:"token"`
			MemberID string `json:"memberId"`
		}
		if st := a.postJSON("/api/meetings/"+m.ID+"/join", "", map[string]any{"memberId": mem.ID}, &resp); st != http.StatusOK {
			a.t.Fatalf("join %s: %d", mem.ID, st)
		}
		tokens[mem.ID] = resp.Token
	}
	return tokens
}

// valueOf decodes one entity of a client's view.
func (c *wsClient) valueOf(coll, id string, out any) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	raw, ok := c.view[coll][id]
	if !ok {
		return false
	}
	if err := json.Unmarshal(raw, out); err != nil {
		c.t.Fatalf("%s/%s: %v", coll, id, err)
	}
	return true
}

func (c *wsClient) ids(coll string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for id := range c.view[coll] {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

type groupValue struct {
	ID    string `json:"id"`
	Lists map[string]struct {
		Qualities []struct {
			ID   string `json:"id"`
			Text string `json:"text"`
		} `json:"qualities"`
		Names []string `json:"names"`
	} `json:"lists"`
}

// TestLiveMeeting runs a meeting of 30 phones in three breakout groups, a
// projector and a facilitator over real WebSockets: every group's edits
// reach its members, the merge reaches the projector, and no redacted
// screen ever receives a contact detail.
func TestLiveMeeting(t *testing.T) {
	app := newTestApp(t, hub.Options{})
	m := app.createMeeting()
	members := app.importMembers(m, memberCSV(30, 3))
	if len(members) != 30 {
		t.Fatalf("imported %d members", len(members))
	}
	tokens := app.joinAll(m, members)

	fac := dial(t, app, map[string]any{"meeting": m.ID, "token": m.FacSecret, "lastSeq": uint64(0)}, nil)
	fac.waitFor("facilitator snapshot", func() bool { return len(fac.view["members"]) == 30 })
	// The projector authenticates with the cookie its secret link sets.
	cookie := http.Header{"Cookie": {projectorCookie + m.ID + "=" + m.ScrSecret}}
	proj := dial(t, app, map[string]any{"meeting": m.ID, "lastSeq": uint64(0)}, cookie)
	proj.waitFor("projector welcome", func() bool { return proj.welcome != nil && proj.lastSeq > 0 })
	if proj.welcome["role"] != "projector" || proj.welcome["audience"] != "redacted" {
		t.Fatalf("projector welcome: %v", proj.welcome)
	}

	var binomes []struct {
		Key string `json:"key"`
	}
	var meetingValue struct {
		Template struct {
			Binomes json.RawMessage `json:"binomes"`
		} `json:"template"`
	}
	fac.valueOf("meeting", "", &meetingValue)
	if err := json.Unmarshal(meetingValue.Template.Binomes, &binomes); err != nil || len(binomes) == 0 {
		t.Fatalf("template binomes: %v", err)
	}
	binome := binomes[0].Key

	// Step III: four profiles from different action groups.
	fac.mustAck("step.set", map[string]any{"step": "III"})
	var profiles []string
	for i := range 4 {
		id := fmt.Sprintf("p%d", i)
		fac.mustAck("profile.add", map[string]any{"profile": map[string]any{
			"id": id, "memberId": members[i].ID, "binomes": []string{binome}, "proposedBy": actionGroupOf(fac, members[i].ID),
		}})
		profiles = append(profiles, id)
	}
	// Step IV: split into groups of at most 10.
	fac.mustAck("step.set", map[string]any{"step": "IV"})
	fac.mustAck("groups.split", map[string]any{})
	groupIDs := fac.ids("groups")
	if len(groupIDs) != 3 {
		t.Fatalf("groups: %v", groupIDs)
	}
	byGroup := map[string][]string{}
	for _, mem := range members {
		var mv struct {
			GroupID string `json:"groupId"`
		}
		fac.valueOf("members", mem.ID, &mv)
		byGroup[mv.GroupID] = append(byGroup[mv.GroupID], mem.ID)
	}

	phones := map[string]*wsClient{}
	for _, mem := range members {
		phones[mem.ID] = dial(t, app, map[string]any{"meeting": m.ID, "token": tokens[mem.ID], "lastSeq": uint64(0)}, nil)
	}
	for id, p := range phones {
		p.waitFor("phone welcome", func() bool { return p.welcome != nil && p.lastSeq > 0 })
		if p.welcome["role"] != "participant" || p.welcome["memberId"] != id || p.welcome["audience"] != "redacted" {
			t.Fatalf("phone welcome: %v", p.welcome)
		}
	}
	fac.waitFor("presence of the 30 phones", func() bool {
		return fac.presence != nil && len(fac.presence["members"].([]any)) == 30
	})

	// Each group: its first member adds a quality; every member of the
	// group sees it in their group's list.
	qualityOf := map[string]string{}
	for _, g := range groupIDs {
		author := phones[byGroup[g][0]]
		text := "Qualité du groupe " + g
		qualityOf[g] = text
		author.mustAck("quality.add", map[string]any{"groupId": g, "binome": binome, "quality": map[string]any{"text": text}})
	}
	for _, g := range groupIDs {
		for _, mid := range byGroup[g] {
			p := phones[mid]
			p.waitFor("quality of the group", func() bool {
				raw, ok := p.view["groups"][g]
				return ok && bytes.Contains(raw, []byte(qualityOf[g]))
			})
		}
	}
	// A member may not edit another group's list.
	other := phones[byGroup[groupIDs[0]][0]]
	refusedID := other.op("quality.add", map[string]any{"groupId": groupIDs[1], "binome": binome, "quality": map[string]any{"text": "intrus"}})
	other.waitFor("refusal", func() bool { return other.refusals[refusedID] != "" })
	if code := other.refusals[refusedID]; code != "not_allowed" {
		t.Fatalf("editing another group: %s", code)
	}

	// Step V: every group shortlists the same two profiles; the merge on
	// the projector counts three groups for each.
	fac.mustAck("step.set", map[string]any{"step": "V"})
	var final uint64
	for _, g := range groupIDs {
		author := phones[byGroup[g][1]]
		for _, pid := range profiles[:2] {
			final = max(final, author.mustAck("shortlist.add", map[string]any{"groupId": g, "binome": binome, "profileId": pid}))
		}
	}
	proj.waitSeq(final)
	var merge json.RawMessage
	if !proj.valueOf("merges", binome, &merge) {
		t.Fatalf("projector has no merge for %s", binome)
	}
	for _, pid := range profiles[:2] {
		if !bytes.Contains(merge, []byte(pid)) {
			t.Fatalf("merge on the projector lacks %s: %s", pid, merge)
		}
	}

	// Everyone converges on the projector's redacted view, except that a
	// phone holds only its own group's lists (the others' are null: they
	// were never sent to it); the facilitator's is full. No redacted frame
	// carries a contact detail; the facilitator's do (the fixture does
	// plant them).
	for mid, p := range phones {
		p.waitSeq(final)
		want := proj.normalized()
		var mv struct {
			GroupID string `json:"groupId"`
		}
		fac.valueOf("members", mid, &mv)
		for id, g := range want["groups"] {
			if id != mv.GroupID {
				g.(map[string]any)["lists"] = nil
			}
		}
		sameView(t, "phone vs projector", p.normalized(), want)
	}
	for name, c := range map[string]*wsClient{"projector": proj, "phone": phones[members[0].ID], "phone2": phones[members[29].ID]} {
		for _, f := range c.rawFrames() {
			if bytes.Contains(f, []byte(plantedEmailDomain)) || bytes.Contains(f, []byte(plantedPhonePrefix)) {
				t.Fatalf("%s received a contact detail: %s", name, f)
			}
		}
	}
	for _, p := range phones {
		for _, f := range p.rawFrames() {
			if bytes.Contains(f, []byte(plantedEmailDomain)) || bytes.Contains(f, []byte(plantedPhonePrefix)) {
				t.Fatalf("a phone received a contact detail: %s", f)
			}
		}
	}
	sawContacts := false
	for _, f := range fac.rawFrames() {
		sawContacts = sawContacts || bytes.Contains(f, []byte(plantedEmailDomain))
	}
	if !sawContacts {
		t.Fatal("the facilitator never received the contact details: the privacy assertions prove nothing")
	}
	// Nothing personal or secret in the server's log.
	logs := app.logBuf.String()
	for _, secret := range []string{m.FacSecret, m.ScrSecret, tokens[members[0].ID], plantedEmailDomain, "Membre0", plantedPhonePrefix} {
		if strings.Contains(logs, secret) {
			t.Fatalf("the log holds %q", secret)
		}
	}
}

func actionGroupOf(c *wsClient, memberID string) string {
	var mv struct {
		ActionGroupID string `json:"actionGroupId"`
	}
	c.valueOf("members", memberID, &mv)
	return mv.ActionGroupID
}
