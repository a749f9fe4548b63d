package bolt

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/boucle/designation/store"
)

// killHelperEnv names the log file when the test binary runs as the child
// of TestKill9KeepsAckedOps.
const killHelperEnv = "BOLT_KILL9_HELPER_PATH"

// TestKill9Helper is the child process: it appends from several goroutines
// for ever and prints "id seq" after each ack. In a normal test run it
// returns at once.
func TestKill9Helper(t *testing.T) {
	path := os.Getenv(killHelperEnv)
	if path == "" {
		return // only a child process of TestKill9KeepsAckedOps works
	}
	round := os.Getenv(killHelperEnv + "_ROUND")
	l, err := Open(path, Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				id := fmt.Sprintf("r%s-w%d-%d", round, w, i)
				got, err := l.Append(context.Background(), fmt.Sprintf("m%d", w%2), []store.Entry{{ID: id, Data: []byte(id)}})
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(2)
				}
				mu.Lock()
				fmt.Fprintf(out, "%s %d\n", id, got[0].Seq)
				out.Flush()
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// TestKill9KeepsAckedOps: a process appending in a loop is killed with
// SIGKILL; every op it saw acked is in the file, at the acked seq.
func TestKill9KeepsAckedOps(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "log.db")
	for round := range 2 { // the second round appends to a file that was killed once
		cmd := exec.Command(os.Args[0], "-test.run=^TestKill9Helper$")
		cmd.Env = append(os.Environ(), killHelperEnv+"="+path, fmt.Sprintf("%s_ROUND=%d", killHelperEnv, round))
		cmd.Stderr = os.Stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		acked := map[string]uint64{}
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			id, seq, ok := strings.Cut(sc.Text(), " ")
			n, err := strconv.ParseUint(seq, 10, 64)
			if !ok || err != nil {
				t.Fatalf("helper printed %q", sc.Text())
			}
			acked[id] = n
			if len(acked) == 300 {
				cmd.Process.Kill()
			}
		}
		cmd.Wait()
		if len(acked) < 300 {
			t.Fatalf("round %d: the helper acked only %d ops before it stopped", round, len(acked))
		}
		l, err := Open(path, Options{})
		if err != nil {
			t.Fatalf("round %d: reopen after kill -9: %v", round, err)
		}
		stored := map[string]uint64{}
		for _, m := range []string{"m0", "m1"} {
			var next uint64 = 1
			err := l.Read(context.Background(), m, 0, func(r store.Record) error {
				if r.Seq != next {
					return fmt.Errorf("%s: seq %d where %d was expected", m, r.Seq, next)
				}
				next++
				stored[r.ID] = r.Seq
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		l.Close()
		for id, seq := range acked {
			if stored[id] != seq {
				t.Fatalf("round %d: op %s acked at seq %d, after kill -9 at %d (0: lost)", round, id, seq, stored[id])
			}
		}
	}
}
