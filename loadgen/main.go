// Command loadgen is the load generator of issue 7: it measures our server
// against two references on the same workload, in one run.
//
// It speaks the real protocol of docs/PROTOCOL.md over real WebSockets on
// loopback: M meetings of N participants (groups of 10) plus a projector and
// two facilitators each; participants edit their group's quality lists at a
// total rate (seeded Poisson arrivals), the facilitators of every meeting
// change the step at the same moments. All three targets route alike: an
// edit goes to its group's phones, the projector and the facilitators, a
// step change to every connection of the meeting. On our server the meetings are
// created and the participants joined through the real REST API. It reports
// connections held, ops acked/s, frames delivered/s, latencies edit→ack,
// edit→projector, edit→group peers and step→every screen (p50/p99/max),
// refusals by code, disconnections, and the server's CPU time and peak RSS
// from /proc. Everything is bounded in count and time and stops by itself.
//
// Targets (-target, or -compare for the first three in one run):
//
//	server      our server (go build ./server, started with a temporary data dir)
//	bare        the bare hub (loadgen/barehub), this binary re-executed with -serve-bare
//	centrifuge  the centrifuge peer (go build in bench/centrifuge, its own module)
//	url         a server of ours already running at -url (-pid for CPU and RSS)
//
// Examples:
//
//	go run ./loadgen -compare -meetings 100 -participants 100 -rate 1000 -duration 30s
//	go run ./loadgen -target bare -meetings 2 -participants 20 -duration 5s
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/boucle/designation/loadgen/barehub"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
		}
		os.Exit(1)
	}
}

// config is the parsed command line.
type config struct {
	wl              Workload
	targets         []string
	url             string
	pid             int
	urlMetricsToken string // -target url: its /metrics token
	serverBin       string
	centrifugeBin   string
	serverArgs      []string
	targetEnv       []string // KEY=VALUE for every target process
	generatorNice   int      // the generator's nice value; targets start at 0 (nice.go)
	dialConcurrency int
	connectTimeout  time.Duration
	drain           time.Duration
	jsonOut         string
	commit          string
	bareProfile     string
	opsCSV          string
	quietMax        time.Duration
	reconnect       bool
	reconnectWait   time.Duration // tests: the wait before each reconnection, instead of the backoff
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg config
	target := fs.String("target", targetServer, "target: server, bare, centrifuge or url")
	rounds := fs.Int("rounds", 1, "run the targets in turn this many times; the table shows the median of each figure (the JSON has every round)")
	compare := fs.Bool("compare", false, "run the same workload against bare, centrifuge and server in turn, and print each figure as a ratio to bare")
	fs.StringVar(&cfg.url, "url", "", "base URL of a running server of ours (-target url), e.g. http://127.0.0.1:8080")
	fs.IntVar(&cfg.pid, "pid", 0, "pid of the server at -url, for its CPU time and RSS (optional)")
	fs.StringVar(&cfg.urlMetricsToken, "url-metrics-token", "", "METRICS_TOKEN of the server at -url, to read its own op times from its /metrics on that address (optional; default: the METRICS_TOKEN environment variable)")
	fs.StringVar(&cfg.serverBin, "server-bin", "", "our server binary (default: go build ./server)")
	fs.StringVar(&cfg.centrifugeBin, "centrifuge-bin", "", "the centrifuge peer binary (default: go build in bench/centrifuge)")
	serverArgs := fs.String("server-args", "", "extra arguments for our server, space-separated")
	targetEnv := fs.String("target-env", "", "environment of every target process (our server, the bare hub, the centrifuge peer), space-separated KEY=VALUE, e.g. \"GOGC=400 GOMEMLIMIT=520MiB\"; the generator keeps its own")
	fs.IntVar(&cfg.generatorNice, "generator-nice", 0, "run the generator at this nice value (1–19) and start every target at 0, so that the targets get the CPUs first, as a server whose clients have CPUs of their own (Linux, as root: the targets start below the generator's niceness)")
	fs.IntVar(&cfg.wl.Meetings, "meetings", 10, "meetings")
	fs.IntVar(&cfg.wl.Participants, "participants", 100, "participants per meeting")
	fs.IntVar(&cfg.wl.GroupSize, "group", 10, "participants per breakout group (relays; our server splits by itself)")
	fs.Float64Var(&cfg.wl.Rate, "rate", 100, "participant edits per second, all meetings together")
	ratesFlag := fs.String("rates", "", "a ladder of rates instead of -rate, comma-separated (e.g. 4000,5000,6000): each target runs the workload at each rate (and -rounds times), and the table says which rates it held (every op answered, no connection closed) and carried (the same, or every closed connection came back; every edit and step change seen by every screen)")
	fs.DurationVar(&cfg.wl.Duration, "duration", 20*time.Second, "measured phase")
	fs.DurationVar(&cfg.wl.StepEvery, "step-every", 10*time.Second, "every meeting's facilitator changes the step at once, this often (0: never)")
	fs.Uint64Var(&cfg.wl.Seed, "seed", 1, "seed of the workload")
	fs.IntVar(&cfg.wl.OwnMax, "own-max", 3, "qualities a participant keeps at most (bounds list and frame sizes)")
	fs.IntVar(&cfg.dialConcurrency, "dial-concurrency", 64, "WebSockets opened at once")
	fs.DurationVar(&cfg.connectTimeout, "connect-timeout", time.Minute, "time a connection (or a meeting's set-up step) may take")
	fs.DurationVar(&cfg.drain, "drain", 10*time.Second, "after the measured phase, how long to wait for the last acks")
	fs.BoolVar(&cfg.reconnect, "reconnect", true, "reconnect a client the target closed during the measured phase and resume, as our pages do (lastSeq; centrifuge: recover), sending again the ops not answered; false: it stays closed")
	fs.DurationVar(&cfg.quietMax, "quiet-max", 30*time.Second, "after connecting, wait at most this long for the target to be quiet before measuring (0: do not wait)")
	fs.StringVar(&cfg.jsonOut, "json", "", "also write the results as JSON to this file (- for stdout)")
	fs.StringVar(&cfg.opsCSV, "ops-csv", "", "write one CSV line per op (sent time, ack latency, state) to this file; with -compare, one file per target (suffix .TARGET)")
	fs.StringVar(&cfg.commit, "commit", "", "commit to print in the report (default: git rev-parse --short HEAD)")
	serveBare := fs.Bool("serve-bare", false, "run the bare hub instead of the generator (used by -target bare)")
	addr := fs.String("addr", "127.0.0.1:0", "listen address of -serve-bare")
	fs.StringVar(&cfg.bareProfile, "bare-cpuprofile", "", "write a CPU profile of the bare hub (-target bare) to this file")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of this process (generator, or bare hub with -serve-bare) to this file")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: go run ./loadgen [flags]\n\nMeasures our server, the bare hub and the centrifuge peer on one workload (loopback only).")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	if *serveBare {
		return serveBareHub(ctx, *addr, stdout)
	}
	rates := []float64{cfg.wl.Rate}
	if *ratesFlag != "" {
		var err error
		if rates, err = parseRates(*ratesFlag); err != nil {
			return err
		}
	}
	for _, rate := range rates {
		wl := cfg.wl
		wl.Rate = rate
		if err := wl.Validate(); err != nil {
			return err
		}
	}
	if *rounds < 1 || *rounds > 20 {
		return errors.New("rounds must be between 1 and 20")
	}
	if cfg.dialConcurrency < 1 {
		cfg.dialConcurrency = 1
	}
	env, err := parseTargetEnv(*targetEnv)
	if err != nil {
		return err
	}
	cfg.targetEnv = env
	if *serverArgs != "" {
		cfg.serverArgs = strings.Fields(*serverArgs)
	}
	cfg.targets = []string{*target}
	if *compare {
		cfg.targets = []string{targetBare, targetCentrifuge, targetServer}
	}
	if cfg.generatorNice < 0 || cfg.generatorNice > 19 {
		return errors.New("generator-nice must be between 0 and 19")
	}
	if cfg.generatorNice > 0 {
		if err := setOwnNice(cfg.generatorNice); err != nil {
			return err
		}
	}
	if err := raiseFileLimit(cfg.wl.Connections() + 512); err != nil {
		return err
	}
	if cfg.commit == "" {
		if out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output(); err == nil {
			cfg.commit = strings.TrimSpace(string(out))
		}
	}
	tmp, err := os.MkdirTemp("", "loadgen-")
	if err != nil {
		return fmt.Errorf("temp dir: %w", err)
	}
	defer os.RemoveAll(tmp)

	var results []*Result
ladder:
	for _, rate := range rates {
		cfg.wl.Rate = rate
		for round := 1; round <= *rounds; round++ {
			// The order rotates each round, so that no target always runs
			// first (right after the set-up) or last.
			for k := range cfg.targets {
				kind := cfg.targets[(k+round-1)%len(cfg.targets)]
				fmt.Fprintf(stderr, "== %s (round %d/%d): %d WebSockets, %.0f edits/s for %s\n", kind, round, *rounds, cfg.wl.Connections(), cfg.wl.Rate, cfg.wl.Duration)
				res, err := runTarget(ctx, &cfg, kind, tmp, stderr)
				if err != nil {
					if len(cfg.targets) == 1 && *rounds == 1 && len(rates) == 1 {
						return err
					}
					fmt.Fprintf(stderr, "%s: %v\n", kind, err)
					continue
				}
				res.Round = round
				results = append(results, res)
				if ctx.Err() != nil {
					break ladder
				}
			}
		}
	}
	if len(rates) > 1 {
		printLadder(stdout, results)
	} else {
		printTable(stdout, results)
	}
	if cfg.jsonOut != "" {
		data, _ := json.MarshalIndent(results, "", "  ")
		data = append(data, '\n')
		if cfg.jsonOut == "-" {
			_, err = stdout.Write(data)
		} else {
			err = os.WriteFile(cfg.jsonOut, data, 0o644)
		}
		if err != nil {
			return fmt.Errorf("write JSON: %w", err)
		}
	}
	if len(results) == 0 {
		return errors.New("no target could be measured")
	}
	return nil
}

// serveBareHub runs the bare hub until ctx ends, printing its address like
// our server does.
func serveBareHub(ctx context.Context, addr string, stdout io.Writer) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: barehub.New().Handler(), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "listening on http://%s\n", ln.Addr())
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// raiseFileLimit raises this process's soft RLIMIT_NOFILE to what the run
// needs (one descriptor per WebSocket, plus slack), up to the hard limit.
// The servers started as children inherit it.
func raiseFileLimit(need int) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("getrlimit: %w", err)
	}
	if lim.Cur >= uint64(need) {
		return nil
	}
	if lim.Max < uint64(need) {
		return fmt.Errorf("this run needs %d open files but the hard limit is %d: raise it (ulimit -Hn %d, as root) or run fewer connections", need, lim.Max, need)
	}
	lim.Cur = uint64(need)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("setrlimit: %w", err)
	}
	return nil
}

// runTarget starts a target, runs the workload on it and stops it.
func runTarget(ctx context.Context, cfg *config, kind, tmp string, stderr io.Writer) (*Result, error) {
	t, err := startTarget(ctx, kind, cfg, tmp, stderr)
	if err != nil {
		return nil, err
	}
	defer t.stop()
	r := newRunner(cfg, t, stderr)
	return r.execute(ctx)
}

// waitQuiet waits, after everyone connected, until the target has digested
// the connection wave (snapshots, presence), so that the measured phase
// starts from a steady state: until its CPU use stays under 10% of a core
// and the kernel has written back the set-up's dirty pages (which would make
// the first fsyncs slow; for 10 s at most) for two 250 ms samples in a row, at most -quiet-max (1 s
// when its pid is unknown). It returns how long it waited.
func (r *runner) waitQuiet(ctx context.Context) time.Duration {
	began := time.Now()
	if r.cfg.quietMax <= 0 {
		return 0
	}
	if r.t.pid <= 0 {
		select {
		case <-time.After(min(time.Second, r.cfg.quietMax)):
		case <-ctx.Done():
		}
		return time.Since(began)
	}
	const every = 250 * time.Millisecond
	prev, err := readProc(r.t.pid)
	calm := 0
	for err == nil && calm < 2 && time.Since(began) < r.cfg.quietMax {
		select {
		case <-time.After(every):
		case <-ctx.Done():
			return time.Since(began)
		}
		var cur procStats
		cur, err = readProc(r.t.pid)
		// Dirty pages count for 10 s only: on a shared machine other
		// processes may keep writing.
		if cur.CPU-prev.CPU < every/10 && (dirtyKiB() < 4096 || time.Since(began) > 10*time.Second) {
			calm++
		} else {
			calm = 0
		}
		prev = cur
	}
	return time.Since(began)
}

// allClients lists every client of the run.
func (r *runner) allClients() []*client {
	var out []*client
	for _, m := range r.meetings {
		out = append(out, m.clients()...)
	}
	return out
}

// execute sets the meetings up, connects everyone, runs the measured phase
// and reports.
func (r *runner) execute(ctx context.Context) (*Result, error) {
	cfg := r.cfg
	began := time.Now()
	if r.t.kind == targetServer || r.t.kind == targetURL {
		if err := r.setupServer(ctx); err != nil {
			r.closeAll()
			return nil, fmt.Errorf("set-up: %w", err)
		}
	} else {
		r.setupRelays()
	}
	held := r.connectAll(ctx, r.allClients())
	fmt.Fprintf(r.stderr, "%s: %d/%d WebSockets open after %.1f s of set-up\n", r.t.kind, held, cfg.wl.Connections(), time.Since(began).Seconds())
	defer r.closeAll()
	r.countGroups()
	quiet := r.waitQuiet(ctx)
	fmt.Fprintf(r.stderr, "%s: server quiet after %.1f s more\n", r.t.kind, quiet.Seconds())

	var before procStats
	if r.t.pid > 0 {
		before, _ = readProc(r.t.pid)
	}
	var ru0 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	busy0 := machineBusy()
	var times0 serverTimes
	timed := r.t.metricsToken != ""
	if timed {
		var err error
		if times0, err = scrapeServerTimes(ctx, r.t.baseURL, r.t.metricsToken); err != nil {
			fmt.Fprintf(r.stderr, "%s: no server-side times: %v\n", r.t.kind, err)
			timed = false
		}
	}

	r.start = time.Now()
	r.measure.Store(true)
	r.dispatch(ctx)
	sending := time.Since(r.start)
	drainEnd := time.Now().Add(cfg.drain)
	for !r.settled() && time.Now().Before(drainEnd) && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	window := time.Since(r.start)
	r.measure.Store(false)

	var after procStats
	if r.t.pid > 0 {
		after, _ = readProc(r.t.pid)
	}
	var ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	busy := machineBusy() - busy0
	active := activeTime(sending, window, time.Duration(r.lastFrame.Load()))
	res := r.result(window, active, before, after, ru0, ru1)
	if timed {
		if times1, err := scrapeServerTimes(ctx, r.t.baseURL, r.t.metricsToken); err != nil {
			fmt.Fprintf(r.stderr, "%s: no server-side times: %v\n", r.t.kind, err)
		} else {
			res.Server = times1.since(times0)
		}
	}
	res.QuietWaitSec = quiet.Seconds()
	res.OthersCPUSec = (busy - time.Duration((res.ServerCPUSec+res.GeneratorCPUSec)*float64(time.Second))).Seconds()
	if res.OthersCPUSec < 0 || r.t.pid == os.Getpid() {
		res.OthersCPUSec = 0
	}
	if cfg.opsCSV != "" {
		path := cfg.opsCSV
		if len(cfg.targets) > 1 {
			path += "." + r.t.kind
		}
		if err := r.writeOpsCSV(path); err != nil {
			fmt.Fprintf(r.stderr, "ops CSV: %v\n", err)
		}
	}
	return res, nil
}

func rusageCPU(ru syscall.Rusage) time.Duration {
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// activeTime is what a run's rates are per: from the start to the last
// frame received (lastFrame), but never less than the send phase (sending)
// nor more than the measured window. Waiting out the drain for ops that
// will never settle (their connection was closed) is not time spent
// delivering.
func activeTime(sending, window, lastFrame time.Duration) time.Duration {
	return max(sending, min(window, lastFrame))
}

// result gathers the figures of a finished run: rates per the active
// time, CPU per the whole window (over which it is measured).
func (r *runner) result(window, active time.Duration, before, after procStats, ru0, ru1 syscall.Rusage) *Result {
	wl := r.cfg.wl
	res := &Result{
		Target:  r.t.kind,
		Date:    time.Now().UTC().Format("2006-01-02 15:04 UTC"),
		Commit:  r.cfg.commit,
		Machine: fmt.Sprintf("%d CPUs, %s, %s/%s", runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH),
		Workload: WorkloadOut{Meetings: wl.Meetings, Participants: wl.Participants, GroupSize: wl.GroupSize, Rate: wl.Rate,
			DurationSec: wl.Duration.Seconds(), StepEverySec: wl.StepEvery.Seconds(), Seed: wl.Seed},
		Connections:      wl.Connections(),
		ConnectFailures:  r.connectFails.Load(),
		Disconnections:   r.disconnects.Load(),
		Reconnections:    r.reconnects.Load(),
		ResumedBySnap:    r.bySnapshot.Load(),
		OpsResent:        r.resent.Load(),
		OpsPlanned:       len(r.ops),
		OpsUnsent:        r.unsent.Load(),
		SendStarted:      r.start.UTC().Format(time.RFC3339Nano),
		WindowSec:        window.Seconds(),
		ActiveSec:        active.Seconds(),
		FramesDelivered:  r.frames.Load(),
		LatAck:           r.hAck.Summary(),
		LatProjector:     r.hProj.Summary(),
		LatPeers:         r.hPeer.Summary(),
		LatStep:          r.hStep.Summary(),
		LatStepWaves:     make([]LatencySummary, len(r.hWaves)),
		LatAckCalm:       r.hAckCalm.Summary(),
		LatProjectorCalm: r.hProjCalm.Summary(),
		DispatchLag:      r.hLag.Summary(),
		TimeAway:         r.hAway.Summary(),
		GeneratorCPUSec:  (rusageCPU(ru1) - rusageCPU(ru0)).Seconds(),
	}
	res.LatAckAtSocket, res.LatProjectorAtSocket = r.hAckRx.Summary(), r.hProjRx.Summary()
	if lo, _, err := niceRange("self"); err == nil {
		res.GeneratorNice = lo
	}
	if r.t.pid > 0 {
		if _, hi, err := niceRange(strconv.Itoa(r.t.pid)); err == nil {
			res.TargetNice = hi
		}
	}
	for w := range r.hWaves {
		res.LatStepWaves[w] = r.hWaves[w].Summary()
	}
	for i := range r.hAckThirds {
		res.LatAckThirds[i] = r.hAckThirds[i].Summary()
		res.LatProjectorThirds[i] = r.hProjThirds[i].Summary()
	}
	r.mu.Lock()
	res.OpsRefused = map[string]int{}
	for k, v := range r.refused {
		res.OpsRefused[k] = v
	}
	if len(r.errorFrames) > 0 {
		res.Errors = map[string]int{}
		for k, v := range r.errorFrames {
			res.Errors[k] = v
		}
	}
	r.mu.Unlock()
	for _, c := range r.allClients() {
		c.sendMu.Lock()
		if c.sess.Load() != nil && !c.gone.Load() && !c.down {
			res.ConnectionsHeld++
		}
		c.sendMu.Unlock()
	}
	for i := range r.ops {
		op := &r.ops[i]
		switch op.state.Load() {
		case opSent:
			res.OpsSent++
			res.OpsLost++
		case opAcked:
			res.OpsSent++
			res.OpsAcked++
			if op.step {
				if miss := r.screens[op.meeting] - op.seenBy.Load(); miss > 0 {
					res.StepsMissed += int64(miss)
				}
			} else {
				switch {
				case op.projSeen.Load():
				case r.projectorGone(op):
					res.ProjectorGone++
				default:
					res.ProjectorMissed++
				}
				if miss := r.peersOf(op) - op.seenBy.Load(); miss > 0 {
					res.PeersMissed += int64(miss)
				}
			}
		case opRefused:
			res.OpsSent++
		}
	}
	if r.t.kind != targetURL {
		res.TargetEnv = r.cfg.targetEnv // a running server's own environment is not ours to tell
	}
	secs := window.Seconds()
	res.AckedPerSec = float64(res.OpsAcked) / active.Seconds()
	res.FramesPerSec = float64(res.FramesDelivered) / active.Seconds()
	res.BytesPerSec = float64(r.bytes.Load()) / active.Seconds()
	if r.t.pid > 0 {
		cpu := after.CPU - before.CPU
		res.ServerCPUSec = cpu.Seconds()
		res.ServerCPUPercent = 100 * cpu.Seconds() / secs
		res.ServerPeakRSSMiB = float64(after.PeakKiB) / 1024
		res.ServerRSSConnMiB = float64(before.RSSKiB) / 1024
		if res.Connections > 0 {
			res.ServerPeakPerConn = float64(after.PeakKiB) / float64(res.Connections)
		}
	}
	return res
}

// parseTargetEnv reads -target-env: space-separated KEY=VALUE.
func parseTargetEnv(s string) ([]string, error) {
	var env []string
	for _, kv := range strings.Fields(s) {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return nil, fmt.Errorf("-target-env: %q is not KEY=VALUE", kv)
		}
		env = append(env, kv)
	}
	return env, nil
}
