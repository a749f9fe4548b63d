package main

import (
	"context"
	"io"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/boucle/designation/loadgen/barehub"
)

// TestSmokeAgainstBareHub runs the whole generator for about two seconds
// against an in-process bare hub with 30 WebSockets, and checks that every
// op was acked and reached the projector and every group peer, and that
// every screen saw every step change.
func TestSmokeAgainstBareHub(t *testing.T) {
	srv := httptest.NewServer(barehub.New().Handler())
	defer srv.Close()
	cfg := smokeConfig(Workload{Meetings: 2, Participants: 12, GroupSize: 4, Seed: 3})
	stderr := smokeOutput()
	r := newRunner(cfg, &target{kind: targetBare, baseURL: srv.URL, pid: os.Getpid()}, stderr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	before := time.Now()
	res, err := r.execute(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The send phase began after the set-up, and at least its last step
	// change's offset ago.
	waves := cfg.wl.Waves()
	last := waves[len(waves)-1]
	if at, err := time.Parse(time.RFC3339Nano, res.SendStarted); err != nil || !at.After(before) || time.Since(at) < last {
		t.Errorf("send phase started at %q (%v): want between %v and %v ago", res.SendStarted, err, last, time.Since(before))
	}
	edits, waveOps, perMeeting := checkRun(t, cfg, res, 0)
	// Each edit reaches its group peers (groups of 4: 3 peers).
	if want := edits * 3; res.LatPeers.Count != want {
		t.Errorf("peer samples %d, want %d", res.LatPeers.Count, want)
	}
	// Routed like our hub: an edit is one changes frame to each phone of
	// its group (sender included), the projector and the two facilitators,
	// plus the ack; a step change one to every connection plus the ack.
	perEdit := uint64(cfg.wl.GroupSize + 3 + 1)
	if want := edits*perEdit + uint64(waveOps)*(perMeeting+1); res.FramesDelivered != want {
		t.Errorf("frames delivered %d, want %d (%d per edit, %d per step change)", res.FramesDelivered, want, perEdit, perMeeting+1)
	}
	if res.LatAck.P99ms <= 0 || res.LatAck.P99ms > 10000 || res.AckedPerSec <= 0 {
		t.Errorf("implausible ack latency %+v or rate %v", res.LatAck, res.AckedPerSec)
	}
	if res.ServerPeakRSSMiB <= 0 {
		t.Error("no RSS read from /proc")
	}
	if res.Server != nil {
		t.Errorf("server-side times %+v from the bare hub, which has none", res.Server)
	}
}

// checkRun checks what every target must do with the workload: hold every
// connection, ack every op, deliver each edit to the projector and to every
// group peer, each step change to every screen, with drops connections
// dropped and resumed; it returns the edits, the step changes and the
// connections per meeting.
func checkRun(t *testing.T, cfg *config, res *Result, drops int64) (edits uint64, waveOps int, perMeeting uint64) {
	t.Helper()
	conns := cfg.wl.Connections()
	if res.ConnectionsHeld != conns || res.Disconnections != drops || res.Reconnections != drops || res.ConnectFailures != 0 {
		t.Errorf("held %d of %d, %d disconnections and %d reconnections (want %d), %d failures",
			res.ConnectionsHeld, conns, res.Disconnections, res.Reconnections, drops, res.ConnectFailures)
	}
	waveOps = len(cfg.wl.Waves()) * cfg.wl.Meetings
	if res.OpsPlanned < 60 || res.OpsAcked != res.OpsPlanned || res.OpsSent != res.OpsPlanned {
		t.Errorf("planned %d, sent %d, acked %d", res.OpsPlanned, res.OpsSent, res.OpsAcked)
	}
	if len(res.OpsRefused) != 0 || res.OpsLost != 0 || res.OpsUnsent != 0 {
		t.Errorf("refused %v, lost %d, unsent %d", res.OpsRefused, res.OpsLost, res.OpsUnsent)
	}
	if res.ProjectorMissed != 0 || res.ProjectorGone != 0 || res.PeersMissed != 0 || res.StepsMissed != 0 {
		t.Errorf("projector missed %d (%d with it closed), peer deliveries missed %d, step deliveries missed %d",
			res.ProjectorMissed, res.ProjectorGone, res.PeersMissed, res.StepsMissed)
	}
	edits = uint64(res.OpsPlanned - waveOps)
	if res.LatProjector.Count != edits || res.LatAck.Count != uint64(res.OpsPlanned) {
		t.Errorf("projector samples %d, ack samples %d, for %d edits", res.LatProjector.Count, res.LatAck.Count, edits)
	}
	// The same latencies to the time the kernel received each frame: as
	// many samples, none later than when the generator handled it.
	for _, l := range []struct{ sock, read LatencySummary }{{res.LatAckAtSocket, res.LatAck}, {res.LatProjectorAtSocket, res.LatProjector}} {
		if l.sock.Count != l.read.Count || l.sock.P50ms > l.read.P50ms || l.sock.P99ms > l.read.P99ms || l.sock.MaxMs > l.read.MaxMs {
			t.Errorf("at the socket %+v, as handled %+v: want as many samples, none later", l.sock, l.read)
		}
	}
	// The edits planned outside the second after each step change have
	// their own figures (the run has step changes, so fewer of them).
	var calm uint64
	for _, in := range cfg.wl.Plan() {
		near := false
		for _, w := range cfg.wl.Waves() {
			near = near || (in.At >= w && in.At < w+time.Second)
		}
		if !near {
			calm++
		}
	}
	if calm == 0 || calm >= edits || res.LatAckCalm.Count != calm || res.LatProjectorCalm.Count != calm {
		t.Errorf("samples outside step changes: ack %d, projector %d, want %d (of %d edits)", res.LatAckCalm.Count, res.LatProjectorCalm.Count, calm, edits)
	}
	// Each third of the measured phase has the figures of the ops planned
	// in it (edits and step changes for the ack, edits for the projector).
	var ackIn, projIn [3]uint64
	thirdOf := func(at time.Duration) int { return min(2, int(3*at/cfg.wl.Duration)) }
	for _, in := range cfg.wl.Plan() {
		ackIn[thirdOf(in.At)]++
		projIn[thirdOf(in.At)]++
	}
	for _, w := range cfg.wl.Waves() {
		ackIn[thirdOf(w)] += uint64(cfg.wl.Meetings)
	}
	for i := range ackIn {
		if a, p := res.LatAckThirds[i], res.LatProjectorThirds[i]; projIn[i] == 0 || a.Count != ackIn[i] || p.Count != projIn[i] ||
			a.MaxMs > res.LatAck.MaxMs || p.MaxMs > res.LatProjector.MaxMs {
			t.Errorf("third %d: ack %+v, projector %+v; want %d and %d samples (whole run: %+v, %+v)", i, a, p, ackIn[i], projIn[i], res.LatAck, res.LatProjector)
		}
	}
	// Every connection of a meeting sees each of its step changes.
	perMeeting = uint64(cfg.wl.Participants + 3)
	if want := uint64(waveOps) * perMeeting; res.LatStep.Count != want {
		t.Errorf("step samples %d, want %d", res.LatStep.Count, want)
	}
	// And each wave has its own figures, in order: as many samples each.
	if len(res.LatStepWaves) != len(cfg.wl.Waves()) {
		t.Errorf("%d waves reported, want %d", len(res.LatStepWaves), len(cfg.wl.Waves()))
	}
	for w, s := range res.LatStepWaves {
		if s.Count != uint64(cfg.wl.Meetings)*perMeeting || s.P99ms > res.LatStep.MaxMs || s.MaxMs > res.LatStep.MaxMs {
			t.Errorf("wave %d: %+v (all waves: %+v)", w, s, res.LatStep)
		}
	}
	return edits, waveOps, perMeeting
}

// TestSmokeAgainstOurServer runs the whole generator against our server,
// built from this tree and started as its own process on loopback, as
// `-target server` does: the set-up through the real API (meetings, members,
// joins, groups split by the server) and the measured phase over the
// protocol of docs/PROTOCOL.md. Every op must be acked and reach every
// screen it should: a change of the protocol that the generator misses
// fails here, not in a benchmark run.
func TestSmokeAgainstOurServer(t *testing.T) {
	cfg := smokeConfig(Workload{Meetings: 3, Participants: 25, GroupSize: 10, Seed: 5})
	res, _ := runBuilt(t, targetServer, cfg, nil)
	checkRun(t, cfg, res, 0)
	if res.ServerPeakRSSMiB <= 0 || res.ServerCPUSec <= 0 {
		t.Errorf("server's RSS %v MiB, CPU %v s: not read from its /proc", res.ServerPeakRSSMiB, res.ServerCPUSec)
	}
	// Its own account of the measured phase: the ops the generator saw
	// acked, each timed once, and the appends that made them durable.
	if s := res.Server; s == nil || s.Acks != uint64(res.OpsAcked) || s.Appends == 0 || s.Appends > s.Acks || s.AnswerP99ms <= 0 {
		t.Errorf("server-side times %+v, for %d ops acked", s, res.OpsAcked)
	}
}

// runBuilt runs cfg against a target of that kind (our server or the
// centrifuge peer), built from this tree and started as its own process on
// loopback as -target does; with during, it calls during(r) once the
// measured phase has begun.
func runBuilt(t *testing.T, kind string, cfg *config, during func(r *runner)) (*Result, *runner) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and starts the target")
	}
	t.Setenv("TMPDIR", t.TempDir()) // the target's log file
	cfg.quietMax = 2 * time.Second  // its own process: wait for it to be quiet
	stderr := smokeOutput()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tg, err := startTarget(ctx, kind, cfg, t.TempDir(), stderr)
	if err != nil {
		t.Fatal(err)
	}
	defer tg.stop()
	r := newRunner(cfg, tg, stderr)
	done := whenMeasuring(ctx, r, during)
	res, err := r.execute(ctx)
	<-done
	if err != nil {
		t.Fatal(err)
	}
	return res, r
}

// whenMeasuring calls fn(r), if fn is not nil, once r's measured phase has
// begun (not if ctx ends first); the channel is closed after.
func whenMeasuring(ctx context.Context, r *runner, fn func(r *runner)) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		if fn == nil {
			return
		}
		for !r.measure.Load() {
			select {
			case <-ctx.Done():
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
		fn(r)
	}()
	return done
}

// smokeConfig is a smoke run of wl's meetings: 60 edits/s for 1.5 s, a step
// change every 0.5 s.
func smokeConfig(wl Workload) *config {
	wl.Rate, wl.Duration, wl.StepEvery, wl.OwnMax = 60, 1500*time.Millisecond, 500*time.Millisecond, 2
	return &config{wl: wl, dialConcurrency: 8, connectTimeout: 20 * time.Second, drain: 5 * time.Second}
}

// smokeOutput is where a smoke run writes its progress: nowhere, unless the
// tests run with -v.
func smokeOutput() io.Writer {
	if testing.Verbose() {
		return os.Stderr
	}
	return io.Discard
}

// TestClosedProjectorCountedApart: when a target closes a projector, the
// edits it then cannot see are counted as "unseen, projector closed", not
// as edits a connected projector missed, and the drain does not wait for
// them.
func TestClosedProjectorCountedApart(t *testing.T) {
	srv := httptest.NewServer(barehub.New().Handler())
	defer srv.Close()
	cfg := smokeConfig(Workload{Meetings: 2, Participants: 12, GroupSize: 4, Seed: 3})
	cfg.drain = 20 * time.Second
	r := newRunner(cfg, &target{kind: targetBare, baseURL: srv.URL, pid: os.Getpid()}, smokeOutput())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// As a server closing a slow screen: our side sees the close.
	closed := whenMeasuring(ctx, r, func(r *runner) { r.meetings[0].projector.sess.Load().conn.CloseNow() })
	began := time.Now()
	res, err := r.execute(ctx)
	<-closed
	if err != nil {
		t.Fatal(err)
	}
	if res.Disconnections != 1 || res.ProjectorGone == 0 || res.ProjectorMissed != 0 {
		t.Errorf("%d disconnections, %d edits unseen with the projector closed, %d missed by a connected one: want 1, some, 0",
			res.Disconnections, res.ProjectorGone, res.ProjectorMissed)
	}
	if res.OpsAcked != res.OpsPlanned || res.PeersMissed != 0 {
		t.Errorf("acked %d of %d, peer deliveries missed %d", res.OpsAcked, res.OpsPlanned, res.PeersMissed)
	}
	// Closed before the first step change, the projector saw none of them.
	if want := int64(len(cfg.wl.Waves())); res.StepsMissed != want {
		t.Errorf("step deliveries missed %d, want %d: the closed projector's", res.StepsMissed, want)
	}
	if took := time.Since(began); took > cfg.wl.Duration+cfg.drain/2 {
		t.Errorf("the run took %v: it waited for frames a closed projector cannot get", took)
	}
}
