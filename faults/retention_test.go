package faults

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestExpiredMeetingsArePurged: a server started with -retention 720h
// purges, when it starts, every meeting whose date is more than 30 days
// past, with its log: its join code no longer answers and none of its
// members' names or e-mails is left in the data file, while a meeting
// within the period is untouched.
func TestExpiredMeetingsArePurged(t *testing.T) {
	dataDir := t.TempDir()
	file := filepath.Join(dataDir, "designation.db")
	out := &output{}
	srv := startServer(t, dataDir, out, "-retention", "720h")
	old := newFixtureOn(t, srv.url, 5, time.Now().AddDate(0, 0, -32).Format(time.DateOnly), "ancien")
	recent := newFixtureOn(t, srv.url, 5, time.Now().AddDate(0, 0, -28).Format(time.DateOnly), "recent")
	srv.stop()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte("ancien00@")) || !bytes.Contains(data, []byte("recent00@")) {
		t.Fatal("the planted members are not in the data file: the test would prove nothing")
	}

	srv = startServer(t, dataDir, out, "-retention", "720h")
	deadline := time.Now().Add(10 * time.Second)
	for api(t, "GET", srv.url+"/api/join/"+old.JoinCode, "", "", "", nil) != http.StatusNotFound {
		if time.Now().After(deadline) {
			t.Fatal("the expired meeting still answers its join code")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st := api(t, "GET", srv.url+"/api/join/"+recent.JoinCode, "", "", "", nil); st != http.StatusOK {
		t.Fatalf("the meeting within the retention period answers %d", st)
	}
	if st := api(t, "GET", srv.url+"/api/meetings/"+old.ID+"/report.json", old.FacSecret, "", "", nil); st != http.StatusNotFound {
		t.Fatalf("the expired meeting's report answers %d", st)
	}
	srv.stop()
	data, err = os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range old.Members {
		for _, s := range []string{m.Name, m.Email, "Ancien0", "ancien0"} {
			if bytes.Contains(data, []byte(s)) {
				t.Fatalf("%q of the expired meeting is still in the data file", s)
			}
		}
	}
	if !bytes.Contains(data, []byte("recent00@")) {
		t.Fatal("the meeting within the retention period lost its members")
	}
}
