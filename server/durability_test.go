package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
)

const sigterm = syscall.SIGTERM

// startBinary runs the server binary on a free loopback port over dataDir
// and returns its base URL, parsed from the line it prints.
func startBinary(t *testing.T, bin, dataDir string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-data", dataDir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
				lines <- rest
			}
		}
	}()
	select {
	case url := <-lines:
		return cmd, url
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("the server did not print its URL; stderr:\n%s", stderr.String())
	}
	return nil, ""
}

// TestDurabilityAcrossKill9 streams ops to the real binary, kills it with
// SIGKILL in the middle, restarts it: every op that was acked is in the
// state. Several rounds over the same data file.
func TestDurabilityAcrossKill9(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "designation")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	dataDir := t.TempDir()

	var m meetingFixture
	acked := map[string]bool{} // member ids whose member.add was acked
	const rounds = 3
	for round := 0; round <= rounds; round++ {
		cmd, url := startBinary(t, bin, dataDir)
		app := &testApp{t: t, url: url}
		if round == 0 {
			m = app.createMeeting()
		}
		fac := dial(t, app, map[string]any{"meeting": m.ID, "token": m.FacSecret, "lastSeq": uint64(0)}, nil)
		fac.waitFor("snapshot", func() bool { return fac.welcome != nil && fac.lastSeq > 0 })
		for id := range acked {
			var mv struct {
				Name string `json:"name"`
			}
			if !fac.valueOf("members", id, &mv) {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("round %d: acked member %s lost after kill -9", round, id)
			}
		}
		if round == rounds {
			stop(t, cmd)
			break
		}

		// Stream member.add ops until some are acked, then kill -9 while
		// more are in flight.
		var mu sync.Mutex
		opMember := map[string]string{}
		done := make(chan struct{})
		var sender sync.WaitGroup
		sender.Add(1)
		go func() {
			defer sender.Done()
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				mid := fmt.Sprintf("d%d-%d", round, i)
				b, _ := json.Marshal(map[string]any{"type": "op", "id": newOpID(), "op": "member.add",
					"payload": map[string]any{"member": map[string]any{"id": mid, "name": "Durable " + mid}}})
				var frame struct {
					ID string `json:"id"`
				}
				_ = json.Unmarshal(b, &frame)
				mu.Lock()
				opMember[frame.ID] = mid
				mu.Unlock()
				if err := writeFrame(fac, b); err != nil {
					return
				}
			}
		}()
		want := 50 + round*40
		fac.waitFor("acks before the kill", func() bool { return len(fac.acks) >= want })
		if err := cmd.Process.Kill(); err != nil { // SIGKILL
			t.Fatal(err)
		}
		cmd.Wait()
		close(done)
		sender.Wait()
		fac.waitFor("the connection to drop", func() bool { return fac.closed != nil })
		fac.mu.Lock()
		mu.Lock()
		for opID := range fac.acks {
			acked[opMember[opID]] = true
		}
		for opID, code := range fac.refusals {
			t.Errorf("op %s refused: %s", opID, code)
		}
		mu.Unlock()
		fac.mu.Unlock()
	}
	if len(acked) < 150 {
		t.Fatalf("only %d ops acked over the rounds", len(acked))
	}
}

// stop ends the server gracefully (SIGTERM) and checks it exits cleanly.
func stop(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	_ = cmd.Process.Signal(sigterm)
	errc := make(chan error, 1)
	go func() { errc <- cmd.Wait() }()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("server exited with %v after SIGTERM", err)
		}
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		t.Fatal("server did not stop after SIGTERM")
	}
}

func newOpID() string { return uuid.NewString() }

// writeFrame sends raw bytes on a client's connection.
func writeFrame(c *wsClient, b []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return c.conn.Write(ctx, websocket.MessageText, b)
}
