package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/boucle/designation/hub"
	"github.com/boucle/designation/store/bolt"
)

// Canaries of the purge tests: strings that appear nowhere else, planted as
// facilitators' names, members' names, e-mails and phones.
const (
	canaryFacilitator = "Zorglubfacil Canarinho"
	canaryName        = "Canaryname"
	canaryEmailDomain = "canary-bolt-purge.example"
	canaryPhone       = "06 91 73 55"
	canaryNewEmail    = "changed.canary@" + canaryEmailDomain
)

// purgeCanaries are the byte strings that must be gone after the purge.
var purgeCanaries = []string{canaryFacilitator, canaryName, canaryEmailDomain, canaryPhone}

// boltApp serves the app over a bbolt file at path, as main does (the
// metrics wrapper, the raw log's Scrub handed to the hub).
func boltApp(t *testing.T, path string, opts hub.Options) *testApp {
	t.Helper()
	oplog, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return newTestAppWithLog(t, oplog, opts)
}

// stopApp stops an app the way a process stop would: connections, hub,
// file. (Its cleanup, run again at the end of the test, then does nothing.)
func stopApp(app *testApp) {
	app.server.CloseClientConnections()
	app.server.Close()
	app.hub.Close()
	app.log.Close()
}

// rawCanaries lists the canaries found in the raw bytes of every file in
// dir (the log and anything left next to it).
func rawCanaries(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range purgeCanaries {
			if bytes.Contains(b, []byte(c)) {
				found = append(found, fmt.Sprintf("%q in %s", c, e.Name()))
			}
		}
	}
	return found
}

// plantCanaries creates a meeting whose facilitators, members, e-mails and
// phones are canaries, over enough ops for a few routine snapshots (and
// trims, which leave the old ops' bytes in free pages), and connects a
// facilitator.
func plantCanaries(t *testing.T, app *testApp) (meetingFixture, *wsClient) {
	t.Helper()
	var resp createMeetingResponse
	if st := app.postJSON("/api/meetings", "", map[string]any{
		"title": "Boucle purge", "department": "Gironde (33)", "date": "2026-06-27", "place": "Bordeaux",
		"facilitators": []string{canaryFacilitator}, "parity": true,
	}, &resp); st != http.StatusCreated {
		t.Fatalf("create meeting: %d", st)
	}
	m := meetingFixture{ID: resp.MeetingID, JoinCode: resp.JoinCode,
		FacSecret: resp.AdminURL[strings.LastIndex(resp.AdminURL, "/")+1:]}
	var csv strings.Builder
	csv.WriteString("\ufeffPrénom;Nom;Groupe d'action;Date de certification;E-mail;Téléphone\r\n")
	for i := range 12 {
		fmt.Fprintf(&csv, "%s%02d;Test;GA %c;15/01/2025;m%02d@%s;%s %02d\r\n",
			canaryName, i, 'A'+i%3, i, canaryEmailDomain, canaryPhone, i)
	}
	members := app.importMembers(m, csv.String())
	fac := dial(t, app, map[string]any{"meeting": m.ID, "token": m.FacSecret}, nil)
	fac.waitFor("members", func() bool { return len(fac.view["members"]) == len(members) })
	// Contacts edited again and again: every version is in an op.
	for i, mem := range members {
		fac.mustAck("member.update", map[string]any{"member": map[string]any{
			"id": mem.ID, "name": mem.Name, "actionGroupId": "", "email": fmt.Sprintf("v%d.%s", i, canaryNewEmail),
			"phone": fmt.Sprintf("%s %02d", canaryPhone, 50+i)}})
	}
	return m, fac
}

// TestPurgeLeavesNoPersonalDataInTheBoltFile: canaries planted through the
// real server, meeting.purge, and not one of them is left in the raw bytes
// of the bbolt file, although routine trims had left the old ops in free
// pages; the meeting then survives a restart (snapshot and the ops after it)
// and takes new ops.
func TestPurgeLeavesNoPersonalDataInTheBoltFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "designation.db")
	app := boltApp(t, path, hub.Options{SnapshotEvery: 5})
	m, fac := plantCanaries(t, app)
	if len(rawCanaries(t, dir)) != len(purgeCanaries) {
		t.Fatalf("before the purge only %v are in the file: the test is blind", rawCanaries(t, dir))
	}

	purged := fac.mustAck("meeting.purge", map[string]any{})
	// The room handles batches one at a time: once the next op is acked,
	// the purge's snapshot and scrub are done.
	timerEnd := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	after := fac.mustAck("timer.set", map[string]any{"timerEnd": timerEnd})
	if after != purged+1 {
		t.Fatalf("timer.set after the purge got seq %d, want %d", after, purged+1)
	}
	if found := rawCanaries(t, dir); len(found) > 0 {
		t.Fatalf("after meeting.purge the bbolt files still hold %v", found)
	}

	// Restart: the meeting loads from its snapshot and the op after it.
	stopApp(app)
	app = boltApp(t, path, hub.Options{SnapshotEvery: 5})
	fac = dial(t, app, map[string]any{"meeting": m.ID, "token": m.FacSecret}, nil)
	fac.waitSeq(after)
	view := fac.normalized()
	if got := view["meeting"]; !strings.Contains(fmt.Sprint(got), timerEnd.Format(time.RFC3339)) {
		t.Errorf("the op after the purge is lost at restart: meeting = %v", got)
	}
	if n := len(view["members"]); n != 12 {
		t.Errorf("after the restart the purged meeting has %d members, want 12 (anonymised)", n)
	}
	if s := fmt.Sprint(view); strings.Contains(s, canaryName) || strings.Contains(s, canaryEmailDomain) || strings.Contains(s, canaryFacilitator) {
		t.Errorf("personal data back after the restart: %.300s", s)
	}
	// New ops work, at the next seqs.
	if seq := fac.mustAck("timer.set", map[string]any{"timerEnd": nil}); seq != after+1 {
		t.Errorf("op after the restart got seq %d, want %d", seq, after+1)
	}
	if found := rawCanaries(t, dir); len(found) > 0 {
		t.Fatalf("after the restart the bbolt files hold %v", found)
	}
}

// failingScrubber stands for a process that stops between the purge and
// its scrub.
type failingScrubber struct{}

func (failingScrubber) Scrub(context.Context, string) error {
	return errors.New("process stopped before the scrub")
}

// TestPurgeScrubbedAtRestartWhenInterrupted: the purge is acked and
// snapshotted but the scrub does not happen (the process stops); the next
// start sees a purged meeting whose log still holds ops from before the
// purge and scrubs it, before any new op.
func TestPurgeScrubbedAtRestartWhenInterrupted(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "designation.db")
	app := boltApp(t, path, hub.Options{SnapshotEvery: 5, Scrubber: failingScrubber{}})
	m, fac := plantCanaries(t, app)
	purged := fac.mustAck("meeting.purge", map[string]any{})
	fac.mustAck("timer.set", map[string]any{"timerEnd": nil})
	waitLog(t, app, "log not scrubbed after the purge")
	if len(rawCanaries(t, dir)) == 0 {
		t.Fatal("the canaries are gone without a scrub: the test is blind")
	}
	stopApp(app)

	app = boltApp(t, path, hub.Options{SnapshotEvery: 5})
	// The room scrubs as it starts, before it serves this connection.
	fac = dial(t, app, map[string]any{"meeting": m.ID, "token": m.FacSecret}, nil)
	fac.waitSeq(purged + 1)
	if found := rawCanaries(t, dir); len(found) > 0 {
		t.Fatalf("after a restart following an interrupted scrub the bbolt files hold %v", found)
	}
	if seq := fac.mustAck("timer.set", map[string]any{"timerEnd": nil}); seq != purged+2 {
		t.Errorf("op after the restart got seq %d, want %d", seq, purged+2)
	}
}
