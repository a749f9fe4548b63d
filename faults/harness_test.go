package faults

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	// startTimeout bounds the wait for the server's "listening on" line.
	startTimeout = 30 * time.Second
	// stopTimeout bounds the wait for the server to exit after SIGTERM.
	stopTimeout = 15 * time.Second
)

// serverPath is the binary built once by TestMain, then only read.
var serverPath string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "designation-faults-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "faults: temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	root, err := filepath.Abs("..")
	if err != nil {
		fmt.Fprintln(os.Stderr, "faults: module root:", err)
		return 1
	}
	serverPath = filepath.Join(dir, "server")
	cmd := exec.Command("go", "build", "-o", serverPath, "./server")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "faults: go build ./server: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// output collects everything the server processes write (stdout and
// stderr of every run), to search it for secrets and personal data.
type output struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// server is one run of the binary over a data folder.
type server struct {
	t      *testing.T
	cmd    *exec.Cmd
	url    string // http://127.0.0.1:port
	exited chan error
}

// startServer runs the binary on a free loopback port over dataDir, with
// the extra arguments, and waits for its "listening on" line.
func startServer(t *testing.T, dataDir string, out *output, args ...string) *server {
	t.Helper()
	all := append([]string{"-addr", "127.0.0.1:0", "-data", dataDir, "-shutdown-timeout", "5s"}, args...)
	cmd := exec.Command(serverPath, all...)
	cmd.Env = append(os.Environ(), "PORT=", "DATA_DIR=", "PUBLIC_URL=", "REDIS_URL=")
	cmd.Stderr = out
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("server stdout: %v", err)
	}
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start server: %v", err)
	}
	s := &server{t: t, cmd: cmd, exited: make(chan error, 1)}
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		found := false
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(out, line)
			if i := strings.Index(line, "listening on "); i >= 0 && !found {
				found = true
				urlc <- strings.TrimSpace(line[i+len("listening on "):])
			}
		}
		_, _ = io.Copy(out, stdout)
	}()
	go func() { s.exited <- cmd.Wait() }()
	t.Cleanup(func() { s.kill() })
	select {
	case s.url = <-urlc:
	case err := <-s.exited:
		s.exited <- err
		t.Fatalf("server exited before listening: %v\n%s", err, out.String())
	case <-time.After(startTimeout):
		t.Fatalf("server did not print its address within %s", startTimeout)
	}
	return s
}

// stop sends SIGTERM and waits for a clean exit.
func (s *server) stop() {
	s.t.Helper()
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.exited:
		s.exited <- err
		if err != nil {
			s.t.Fatalf("server exit after SIGTERM: %v", err)
		}
	case <-time.After(stopTimeout):
		s.t.Fatalf("server still running %s after SIGTERM", stopTimeout)
	}
}

// kill sends SIGKILL (kill -9) and waits for the process to be gone.
func (s *server) kill() {
	_ = s.cmd.Process.Kill()
	err := <-s.exited
	s.exited <- err
}

// api calls the server's JSON API and decodes the answer into out.
func api(t *testing.T, method, url, bearer, contentType, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %d %.300s: %v", method, url, resp.StatusCode, data, err)
		}
	}
	return resp.StatusCode
}

// fixture is a meeting with its members checked in.
type fixture struct {
	ID, JoinCode, FacSecret, ScrSecret string
	Members                            []member
}

type member struct {
	ID, Name, Email, Phone, Token string
}

// Planted contact details: they must never reach a redacted screen nor the
// server's output.
const (
	canaryDomain = "canary-trust.example"
	canaryPhone  = "07 98 76"
)

// newFixture creates a meeting dated today on base, imports n members
// with canary contacts and checks every one in.
func newFixture(t *testing.T, base string, n int) fixture {
	t.Helper()
	return newFixtureOn(t, base, n, time.Now().Format(time.DateOnly), "canari")
}

// newFixtureOn creates a meeting on date whose members' names and e-mails
// start with tag.
func newFixtureOn(t *testing.T, base string, n int, date, tag string) fixture {
	t.Helper()
	var created struct {
		MeetingID, JoinCode, AdminURL, ScreenURL string
	}
	body := `{"title":"Boucle chaos","department":"Gironde (33)","date":"` + date + `","facilitators":["Alice Faci","Bruno Faci"],"parity":true}`
	if st := api(t, "POST", base+"/api/meetings", "", "application/json", body, &created); st != http.StatusCreated {
		t.Fatalf("create: %d", st)
	}
	f := fixture{ID: created.MeetingID, JoinCode: created.JoinCode,
		FacSecret: created.AdminURL[strings.LastIndex(created.AdminURL, "/")+1:],
		ScrSecret: created.ScreenURL[strings.LastIndex(created.ScreenURL, "/")+1:]}
	var csv strings.Builder
	csv.WriteString("Prénom;Nom;Groupe d'action;Date de certification;E-mail;Téléphone\n")
	for i := range n {
		fmt.Fprintf(&csv, "%s%02d;Témoin;GA %c;15/01/2025;%s%02d@%s;%s %02d %02d\n", strings.ToUpper(tag[:1])+tag[1:], i, 'A'+i%3, tag, i, canaryDomain, canaryPhone, i/100, i%100)
	}
	var imported struct {
		Applied bool
		Members []struct{ ID, Name, Email, Phone string }
	}
	if st := api(t, "POST", base+"/api/meetings/"+f.ID+"/members/import", f.FacSecret, "text/csv", csv.String(), &imported); st != http.StatusOK || !imported.Applied {
		t.Fatalf("import: %d %+v", st, imported)
	}
	for _, m := range imported.Members {
		var joined struct{ Token string }
		if st := api(t, "POST", base+"/api/meetings/"+f.ID+"/join", "", "application/json", `{"memberId":"`+m.ID+`"}`, &joined); st != http.StatusOK {
			t.Fatalf("join: %d", st)
		}
		f.Members = append(f.Members, member{ID: m.ID, Name: m.Name, Email: m.Email, Phone: m.Phone, Token: joined.Token})
	}
	return f
}
