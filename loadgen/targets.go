package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Target kinds.
const (
	targetServer     = "server"     // our server, built and started here with a temporary data dir
	targetBare       = "bare"       // the bare hub (loadgen/barehub), in a child process of the generator
	targetCentrifuge = "centrifuge" // the centrifuge peer (bench/centrifuge), built and started here
	targetURL        = "url"        // an already running server of ours at -url (pid from -pid, optional)
)

// target is one running system under test.
type target struct {
	kind    string
	baseURL string // http://127.0.0.1:PORT
	pid     int    // 0: unknown (no CPU and RSS figures)
	stop    func() error
	// metricsToken reads our server's /metrics (its own account of each
	// op's time: serverstats.go); empty for the other targets.
	metricsToken string
}

// wsURL is the WebSocket endpoint of the target.
func (t *target) wsURL() string {
	u := "ws" + strings.TrimPrefix(t.baseURL, "http")
	if t.kind == targetCentrifuge {
		return u + "/connection/websocket"
	}
	return u + "/ws"
}

// moduleRoot finds the directory of our go.mod, walking up from the working
// directory, to build ./server and ./bench/centrifuge from it.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("working directory: %w", err)
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(data, []byte("module github.com/boucle/designation\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the github.com/boucle/designation module: run from the repository")
		}
		dir = parent
	}
}

// goBuild builds the main package in dir (a module directory) to out.
func goBuild(ctx context.Context, dir, pkg, out string, stderr io.Writer) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Dir = dir
	cmd.Stdout = stderr
	cmd.Stderr = stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s in %s: %w", pkg, dir, err)
	}
	return nil
}

// startTarget builds (when needed) and starts a target of the given kind.
// tmp is a scratch directory that outlives the target.
func startTarget(ctx context.Context, kind string, cfg *config, tmp string, stderr io.Writer) (*target, error) {
	switch kind {
	case targetURL:
		if cfg.url == "" {
			return nil, errors.New("target url needs -url")
		}
		token := cfg.urlMetricsToken
		if token == "" {
			token = os.Getenv("METRICS_TOKEN")
		}
		return &target{kind: kind, baseURL: strings.TrimSuffix(cfg.url, "/"), pid: cfg.pid, stop: func() error { return nil }, metricsToken: token}, nil
	case targetBare:
		self, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("find own executable: %w", err)
		}
		args := []string{"-serve-bare", "-addr", "127.0.0.1:0"}
		if cfg.bareProfile != "" {
			args = append(args, "-cpuprofile", cfg.bareProfile)
		}
		return startProcess(ctx, kind, self, args, "", cfg.targetEnv, cfg.generatorNice, stderr)
	case targetServer:
		bin := cfg.serverBin
		if bin == "" {
			root, err := moduleRoot()
			if err != nil {
				return nil, err
			}
			bin = filepath.Join(tmp, "designation-server")
			if err := goBuild(ctx, root, "./server", bin, stderr); err != nil {
				return nil, err
			}
		}
		data := filepath.Join(tmp, "data-"+strconv.FormatInt(time.Now().UnixNano(), 36))
		if err := os.MkdirAll(data, 0o700); err != nil {
			return nil, fmt.Errorf("data dir: %w", err)
		}
		// Its /metrics on the public listener, behind a token of this run
		// (in its environment, not on its command line; -target-env wins).
		token := newMetricsToken()
		env := append([]string{"METRICS_TOKEN=" + token}, cfg.targetEnv...)
		t, err := startProcess(ctx, kind, bin, append([]string{"-addr", "127.0.0.1:0", "-data", data}, cfg.serverArgs...), data, env, cfg.generatorNice, stderr)
		if err != nil {
			return nil, err
		}
		t.metricsToken = token
		return t, nil
	case targetCentrifuge:
		bin := cfg.centrifugeBin
		if bin == "" {
			root, err := moduleRoot()
			if err != nil {
				return nil, err
			}
			bin = filepath.Join(tmp, "centrifuge-peer")
			if err := goBuild(ctx, filepath.Join(root, "bench", "centrifuge"), ".", bin, stderr); err != nil {
				return nil, err
			}
		}
		return startProcess(ctx, kind, bin, []string{"-addr", "127.0.0.1:0"}, "", cfg.targetEnv, cfg.generatorNice, stderr)
	}
	return nil, fmt.Errorf("unknown target %q (server, bare, centrifuge or url)", kind)
}

// startProcess starts bin with our environment and env (KEY=VALUE, which
// win), waits for its "listening on http://HOST:PORT" line and for
// /healthz, and returns the target. Its stderr goes to ours;
// stop sends SIGTERM, then SIGKILL after 5 s, and removes dataDir. With the
// generator at nice n > 0, the target is started at nice 0 through nice(1)
// (which execs it: the pid is the target's), and refused if it is not.
func startProcess(ctx context.Context, kind, bin string, args []string, dataDir string, env []string, nice int, stderr io.Writer) (*target, error) {
	cmd := exec.Command(bin, args...)
	if nice > 0 {
		cmd = exec.Command("nice", append([]string{"-n", strconv.Itoa(-nice), bin}, args...)...)
	}
	cmd.Env = append(os.Environ(), env...)
	// The target's own log (one line per request and per WebSocket for our
	// server) goes to a file, not to the report.
	logPath := filepath.Join(os.TempDir(), fmt.Sprintf("loadgen-%s-%d.log", kind, time.Now().UnixNano()))
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("%s: log file: %w", kind, err)
	}
	defer logFile.Close() // the child keeps its own descriptor
	cmd.Stderr = logFile
	fmt.Fprintf(stderr, "%s: its log is in %s\n", kind, logPath)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("%s: stdout: %w", kind, err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: start %s: %w", kind, bin, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	stop := func() error {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if dataDir != "" {
			_ = os.RemoveAll(dataDir)
		}
		return nil
	}
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		found := false
		for sc.Scan() {
			line := sc.Text()
			if !found {
				if i := strings.Index(line, "listening on http://"); i >= 0 {
					found = true
					urlc <- strings.TrimSpace(line[i+len("listening on "):])
					continue
				}
			}
			fmt.Fprintf(stderr, "[%s] %s\n", kind, line)
		}
	}()
	wait := time.NewTimer(60 * time.Second)
	defer wait.Stop()
	var base string
	select {
	case base = <-urlc:
	case err := <-done:
		return nil, fmt.Errorf("%s exited before listening: %v", kind, err)
	case <-wait.C:
		stop()
		return nil, fmt.Errorf("%s did not print its address within 60 s", kind)
	case <-ctx.Done():
		stop()
		return nil, ctx.Err()
	}
	t := &target{kind: kind, baseURL: base, pid: cmd.Process.Pid, stop: stop}
	fmt.Fprintf(stderr, "%s: pid %d, listening on %s\n", kind, t.pid, base)
	if err := waitHealthy(ctx, base); err != nil {
		stop()
		return nil, fmt.Errorf("%s: %w", kind, err)
	}
	if nice > 0 {
		if _, hi, err := niceRange(strconv.Itoa(t.pid)); err != nil || hi != 0 {
			stop()
			return nil, fmt.Errorf("%s: runs at nice %d, not 0 (%v): -generator-nice needs root, to start the targets below the generator's niceness", kind, hi, err)
		}
	}
	return t, nil
}

// waitHealthy polls /healthz until it answers 200, for at most 30 s.
func waitHealthy(ctx context.Context, base string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/healthz", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s/healthz not ready within 30 s (last error: %v)", base, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// procStats is what /proc tells about a process.
type procStats struct {
	CPU     time.Duration // user + system time so far
	RSSKiB  uint64        // resident set now (VmRSS)
	PeakKiB uint64        // peak resident set since start (VmHWM)
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times: 100 on every
// Linux architecture Go supports.
const clockTicks = 100

// readProc reads /proc/<pid>/stat and /proc/<pid>/status.
func readProc(pid int) (procStats, error) {
	var st procStats
	f, err := statFields(fmt.Sprintf("/proc/%d/stat", pid), 15)
	if err != nil {
		return st, err
	}
	ut, err1 := strconv.ParseUint(f[14-3], 10, 64)  // utime, field 14
	stt, err2 := strconv.ParseUint(f[15-3], 10, 64) // stime, field 15
	if err1 != nil || err2 != nil {
		return st, fmt.Errorf("parse /proc/%d/stat times", pid)
	}
	st.CPU = time.Duration(ut+stt) * time.Second / clockTicks
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return st, fmt.Errorf("read status: %w", err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		n, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			st.RSSKiB = n
		case "VmHWM":
			st.PeakKiB = n
		}
	}
	return st, nil
}

// statFields reads a /proc stat file (a process's or a thread's) and
// returns its fields from the third on (f[0] is field 3), at least through
// field upTo. The command name (field 2) may hold spaces: the fields are
// counted after its closing parenthesis.
func statFields(path string, upTo int) ([]string, error) {
	stat, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	if len(f) < upTo-2 {
		return nil, fmt.Errorf("short %s", path)
	}
	return f, nil
}

// dirtyKiB is how much of the page cache waits to be written to disk
// (Dirty + Writeback in /proc/meminfo); 0 when unreadable.
func dirtyKiB() uint64 {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	var total uint64
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && (k == "Dirty" || k == "Writeback") {
			n, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			total += n
		}
	}
	return total
}

// machineBusy is the CPU time all processes of the machine used so far
// (user, nice, system, irq, softirq, steal of /proc/stat's "cpu" line): with
// the server's and the generator's own, it tells how much of the machine
// other processes took during a run.
func machineBusy() time.Duration {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0
	}
	var ticks uint64
	for _, i := range []int{1, 2, 3, 6, 7, 8} { // user nice system irq softirq steal
		n, _ := strconv.ParseUint(f[i], 10, 64)
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks
}
