package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/boucle/designation/hub"
	"github.com/boucle/designation/internal/testredis"
	"github.com/boucle/designation/store"
	"github.com/boucle/designation/store/bolt"
	"github.com/boucle/designation/store/redis"
)

// canaries are the planted personal data a purge must remove from the raw
// files of the store.
func canaries(members []importedMember) []string {
	out := []string{plantedEmailDomain, plantedPhonePrefix, "Bilan-canari"}
	for _, m := range members {
		out = append(out, m.Email, m.Phone, m.Name)
	}
	return out
}

// foundIn lists the canaries found in any file under dir (or the file).
func foundIn(t *testing.T, root string, needles []string) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		// A file may go between the listing and the read: bbolt's
		// compaction copy (designation.db.compact) is renamed over the file
		// while the scrub after a purge runs, which the caller polls.
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		for _, n := range needles {
			if n != "" && bytes.Contains(data, []byte(n)) {
				found = append(found, fmt.Sprintf("%q in %s", n, filepath.Base(path)))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// plantAndPurge runs a meeting full of canaries on app, checks they are in
// the store's files, purges it as the facilitators do, and returns the
// canaries and the fixture.
func plantAndPurge(t *testing.T, app *testApp, files string) (groupFixture, []string) {
	f := setupGroups(t, app, 12, 2)
	mid := f.byGroup[f.groups[0]][0]
	p := f.phone(t, app, mid)
	p.mustAck("quality.add", map[string]any{"groupId": f.groups[0], "binome": f.binome, "quality": map[string]any{"text": "Qualité-canari"}})
	f.fac.mustAck("bilan.set", map[string]any{"binome": f.binome, "text": "Bilan-canari"})
	needles := canaries(f.members)
	if len(foundIn(t, files, needles)) == 0 {
		t.Fatal("the canaries are not in the store's files before the purge: the test would prove nothing")
	}
	f.fac.mustAck("meeting.purge", map[string]any{})
	return f, needles
}

// TestPurgeLeavesNoTraceInBolt: after meeting.purge, no planted name,
// e-mail, phone or free text is left anywhere in the bbolt file, and the
// meeting still opens, purged, after a restart.
func TestPurgeLeavesNoTraceInBolt(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "designation.db")
	oplog, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	app := newTestAppWithLog(t, oplog, hub.Options{})
	f, needles := plantAndPurge(t, app, dir)
	waitNoCanary(t, dir, needles)
	reopenedIsPurged(t, app, f, func() store.Log {
		l, err := bolt.Open(path, bolt.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return l
	})
}

// TestPurgeLeavesNoTraceInRedis: the same with the Redis log: none of the
// canaries is left in the AOF files once the purge is done.
func TestPurgeLeavesNoTraceInRedis(t *testing.T) {
	url, srv := testredis.Start(t)
	open := func() store.Log {
		l, err := redis.Open(context.Background(), url, redis.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	app := newTestAppWithLog(t, open(), hub.Options{})
	f, needles := plantAndPurge(t, app, srv.Dir())
	waitNoCanary(t, srv.Dir(), needles)
	reopenedIsPurged(t, app, f, open)
}

func waitNoCanary(t *testing.T, dir string, needles []string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		found := foundIn(t, dir, needles)
		if len(found) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the purge the store's files still hold %d canaries, e.g. %s", len(found), found[0])
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// reopenedIsPurged restarts the app over the same store: the meeting is
// there, purged, at the same step, and the facilitator's secret opens it.
func reopenedIsPurged(t *testing.T, app *testApp, f groupFixture, open func() store.Log) {
	t.Helper()
	app.hub.Close()
	app.server.Close()
	app.log.Close()
	again := newTestAppWithLog(t, open(), hub.Options{})
	fac := dial(t, again, map[string]any{"meeting": f.m.ID, "token": f.m.FacSecret, "lastSeq": uint64(0)}, nil)
	fac.waitFor("snapshot", func() bool { return fac.lastSeq > 0 })
	var mv struct {
		Purged bool   `json:"purged"`
		Step   string `json:"step"`
	}
	fac.valueOf("meeting", "", &mv)
	if !mv.Purged || mv.Step != "IV" {
		t.Fatalf("after a restart the meeting is %+v", mv)
	}
	for _, raw := range fac.rawFrames() {
		for _, m := range f.members {
			if strings.Contains(string(raw), m.Email) || strings.Contains(string(raw), m.Name) {
				t.Fatalf("personal data back after a restart: %.200s", raw)
			}
		}
	}
	fac.mustAck("step.set", map[string]any{"step": "closed"})
	if resp, _ := again.get("/api/join/"+f.m.JoinCode+"/members?q=membre", nil); resp.StatusCode == http.StatusOK {
		var body struct{ Members []any }
		_, s := again.get("/api/join/"+f.m.JoinCode+"/members?q=membre", nil)
		if strings.Contains(s, "Membre0") {
			t.Fatalf("search after purge: %s", s)
		}
		_ = body
	}
}
