package main

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"text/tabwriter"
)

// Result is one run against one target, as reported (table and JSON).
type Result struct {
	Target  string `json:"target"`
	Round   int    `json:"round"`
	Date    string `json:"date"`
	Commit  string `json:"commit,omitempty"`
	Machine string `json:"machine"`
	// TargetEnv is the environment given to the target (-target-env).
	TargetEnv []string    `json:"targetEnv,omitempty"`
	Workload  WorkloadOut `json:"workload"`
	// GeneratorNice is the lowest nice value among the generator's threads,
	// TargetNice the highest among the target's, at the end of the
	// measured phase (-generator-nice).
	GeneratorNice int `json:"generatorNice"`
	TargetNice    int `json:"targetNice"`

	Connections     int   `json:"connections"`     // attempted
	ConnectionsHeld int   `json:"connectionsHeld"` // open at the end of the measured phase
	ConnectFailures int64 `json:"connectFailures"`
	Disconnections  int64 `json:"disconnections"` // closed by the server or the network, not by us
	// Reconnections is how many of those resumed (-reconnect): our server
	// sent the missed changes or, ResumedBySnap of them, a snapshot.
	Reconnections int64 `json:"reconnections"`
	ResumedBySnap int64 `json:"resumedBySnapshot"`
	// OpsResent is the ops written again after a reconnection: sent before
	// it and not answered, or made while the client was reconnecting.
	OpsResent int64 `json:"opsResent"`
	// TimeAway is, for each reconnection, the time from the drop to the
	// resumed connection (our server's welcome; centrifuge's subscriptions
	// confirmed): the backoff, the dial and the hello.
	TimeAway LatencySummary `json:"reconnectTimeAway"`

	OpsPlanned int            `json:"opsPlanned"`
	OpsSent    int            `json:"opsSent"`
	OpsAcked   int            `json:"opsAcked"`
	OpsRefused map[string]int `json:"opsRefused"` // by code
	OpsLost    int            `json:"opsLost"`    // sent, neither acked nor refused by the end
	OpsUnsent  int64          `json:"opsUnsent"`  // their connection was gone

	// SendStarted is when the send phase began (UTC, the wall clock): the
	// plan's and the waves' offsets count from it, to line them up with
	// the target's own log or GODEBUG=gctrace=1 output.
	SendStarted string `json:"sendStarted"`

	WindowSec float64 `json:"windowSec"`
	// ActiveSec is what the rates are per: from the first op sent to the
	// last frame received, or the whole send phase if that is longer. A
	// run whose last ops never settle (a dropped connection's peers wait
	// for frames that will not come) would otherwise have its rates
	// divided by the whole drain wait as well.
	ActiveSec       float64 `json:"activeSec"`
	AckedPerSec     float64 `json:"ackedPerSec"`
	FramesDelivered uint64  `json:"framesDelivered"`
	FramesPerSec    float64 `json:"framesPerSec"`
	BytesPerSec     float64 `json:"bytesPerSec"`

	LatAck       LatencySummary `json:"latencyEditToAck"`
	LatProjector LatencySummary `json:"latencyEditToProjector"`
	LatPeers     LatencySummary `json:"latencyEditToGroupPeers"`
	LatStep      LatencySummary `json:"latencyStepToScreens"`
	// LatStepWaves is LatStep for each step change of the run (every
	// meeting changes step at once: a wave), in order. A run's LatStep p99
	// is about its slowest wave's; these tell one slow wave from slow waves.
	LatStepWaves []LatencySummary `json:"latencyStepToScreensByWave"`
	// LatAckCalm and LatProjectorCalm are the same latencies for the
	// edits planned outside the second after each step change (every
	// meeting changes step at once): what the step changes cost the edits
	// made meanwhile is the difference.
	LatAckCalm       LatencySummary `json:"latencyEditToAckOutsideSteps"`
	LatProjectorCalm LatencySummary `json:"latencyEditToProjectorOutsideSteps"`
	// LatAckAtSocket and LatProjectorAtSocket are LatAck and LatProjector
	// to the time the kernel received the frame on the generator's socket
	// rather than the time the generator read it: without what the
	// generator's own wait for a CPU adds (rxtime.go). Where the kernel
	// gives no receive time, a frame counts at the time it was read.
	LatAckAtSocket       LatencySummary `json:"latencyEditToAckAtSocket"`
	LatProjectorAtSocket LatencySummary `json:"latencyEditToProjectorAtSocket"`
	// LatAckThirds and LatProjectorThirds are LatAck and LatProjector for
	// the ops planned in each third of the measured phase, in order: over
	// a long run (trims, longer lists), whether the tail grows.
	LatAckThirds       [3]LatencySummary `json:"latencyEditToAckByThird"`
	LatProjectorThirds [3]LatencySummary `json:"latencyEditToProjectorByThird"`
	DispatchLag        LatencySummary    `json:"generatorDispatchLag"`

	ProjectorMissed int `json:"projectorMissed"` // acked edits their meeting's projector, still connected, never saw
	// ProjectorGone is the acked edits a projector never saw because the
	// target closed it for good (not reconnected: -reconnect=false, or
	// every attempt failed): a disconnection's cost, counted apart from
	// edits a connected projector did not get.
	ProjectorGone int   `json:"projectorGone"`
	PeersMissed   int64 `json:"peerDeliveriesMissed"`
	// StepsMissed is the step changes (acked) that a screen of their
	// meeting, connected when the measured phase began, never saw: one per
	// screen and step change.
	StepsMissed int64 `json:"stepDeliveriesMissed"`

	ServerCPUSec      float64 `json:"serverCpuSec"` // during the measured phase
	ServerCPUPercent  float64 `json:"serverCpuPercent"`
	ServerPeakRSSMiB  float64 `json:"serverPeakRssMiB"`
	ServerRSSConnMiB  float64 `json:"serverRssWithConnectionsMiB"`
	ServerPeakPerConn float64 `json:"serverPeakRssPerConnKiB"`
	GeneratorCPUSec   float64 `json:"generatorCpuSec"`
	// Server is our server's own account of the measured phase (its
	// /metrics): the time from each op read to its ack queued, and each
	// durable append. Absent for the other targets.
	Server *ServerTimes `json:"serverTimes,omitempty"`
	// OthersCPUSec is the CPU time the rest of the machine used during the
	// measured phase: a shared machine's noise, to read the figures with.
	OthersCPUSec float64        `json:"othersCpuSec"`
	QuietWaitSec float64        `json:"quietWaitSec"`
	Errors       map[string]int `json:"errorFrames,omitempty"`
}

// WorkloadOut is the workload as reported.
type WorkloadOut struct {
	Meetings     int     `json:"meetings"`
	Participants int     `json:"participants"`
	GroupSize    int     `json:"groupSize"`
	Rate         float64 `json:"rate"`
	DurationSec  float64 `json:"durationSec"`
	StepEverySec float64 `json:"stepEverySec"`
	Seed         uint64  `json:"seed"`
}

// row is one line of the table: a label and how to read the figure.
type row struct {
	label string
	value func(*Result) float64
	unit  string
	lower bool // lower is better (latency, CPU, memory)
}

func rows() []row {
	return []row{
		{"connections held", func(r *Result) float64 { return float64(r.ConnectionsHeld) }, "", false},
		{"ops acked/s", func(r *Result) float64 { return r.AckedPerSec }, "", false},
		{"frames delivered/s", func(r *Result) float64 { return r.FramesPerSec }, "", false},
		{"MB delivered/s", func(r *Result) float64 { return r.BytesPerSec / 1e6 }, "", false},
		{"edit→ack p50", func(r *Result) float64 { return r.LatAck.P50ms }, "ms", true},
		{"edit→ack p99", func(r *Result) float64 { return r.LatAck.P99ms }, "ms", true},
		{"edit→ack max", func(r *Result) float64 { return r.LatAck.MaxMs }, "ms", true},
		{"edit→projector p50", func(r *Result) float64 { return r.LatProjector.P50ms }, "ms", true},
		{"edit→projector p99", func(r *Result) float64 { return r.LatProjector.P99ms }, "ms", true},
		{"edit→projector max", func(r *Result) float64 { return r.LatProjector.MaxMs }, "ms", true},
		{"edit→ack p99, at socket", func(r *Result) float64 { return r.LatAckAtSocket.P99ms }, "ms", true},
		{"edit→proj. p99, at socket", func(r *Result) float64 { return r.LatProjectorAtSocket.P99ms }, "ms", true},
		{"edit→ack p99, no step", func(r *Result) float64 { return r.LatAckCalm.P99ms }, "ms", true},
		{"edit→proj. p99, no step", func(r *Result) float64 { return r.LatProjectorCalm.P99ms }, "ms", true},
		{"edit→ack p99, 1st third", func(r *Result) float64 { return r.LatAckThirds[0].P99ms }, "ms", true},
		{"edit→ack p99, 3rd third", func(r *Result) float64 { return r.LatAckThirds[2].P99ms }, "ms", true},
		{"edit→proj. p99, 1st third", func(r *Result) float64 { return r.LatProjectorThirds[0].P99ms }, "ms", true},
		{"edit→proj. p99, 3rd third", func(r *Result) float64 { return r.LatProjectorThirds[2].P99ms }, "ms", true},
		{"server: read→ack p50", func(r *Result) float64 { return serverFigure(r, func(s *ServerTimes) float64 { return s.AnswerP50ms }) }, "ms", true},
		{"server: read→ack p99", func(r *Result) float64 { return serverFigure(r, func(s *ServerTimes) float64 { return s.AnswerP99ms }) }, "ms", true},
		{"server: append p99", func(r *Result) float64 { return serverFigure(r, func(s *ServerTimes) float64 { return s.AppendP99ms }) }, "ms", true},
		{"edit→group peers p50", func(r *Result) float64 { return r.LatPeers.P50ms }, "ms", true},
		{"edit→group peers p99", func(r *Result) float64 { return r.LatPeers.P99ms }, "ms", true},
		{"edit→group peers max", func(r *Result) float64 { return r.LatPeers.MaxMs }, "ms", true},
		{"step→all screens p99", func(r *Result) float64 { return r.LatStep.P99ms }, "ms", true},
		{"step→all screens max", func(r *Result) float64 { return r.LatStep.MaxMs }, "ms", true},
		{"step p99, fastest wave", func(r *Result) float64 { return waveP99(r, false) }, "ms", true},
		{"step p99, slowest wave", func(r *Result) float64 { return waveP99(r, true) }, "ms", true},
		{"ops refused", func(r *Result) float64 { return float64(sumCounts(r.OpsRefused)) }, "", true},
		{"ops lost", func(r *Result) float64 { return float64(r.OpsLost) }, "", true},
		{"projector missed", func(r *Result) float64 { return float64(r.ProjectorMissed) }, "", true},
		{"unseen, projector closed", func(r *Result) float64 { return float64(r.ProjectorGone) }, "", true},
		{"peer deliveries missed", func(r *Result) float64 { return float64(r.PeersMissed) }, "", true},
		{"step deliveries missed", func(r *Result) float64 { return float64(r.StepsMissed) }, "", true},
		{"disconnections", func(r *Result) float64 { return float64(r.Disconnections) }, "", true},
		{"reconnections", func(r *Result) float64 { return float64(r.Reconnections) }, "", false},
		{"ops re-sent", func(r *Result) float64 { return float64(r.OpsResent) }, "", true},
		{"time away p99", func(r *Result) float64 { return r.TimeAway.P99ms }, "ms", true},
		{"server CPU s", func(r *Result) float64 { return r.ServerCPUSec }, "", true},
		{"server CPU %", func(r *Result) float64 { return r.ServerCPUPercent }, "", true},
		{"server peak RSS MiB", func(r *Result) float64 { return r.ServerPeakRSSMiB }, "", true},
		{"peak RSS/conn KiB", func(r *Result) float64 { return r.ServerPeakPerConn }, "", true},
		{"generator CPU s", func(r *Result) float64 { return r.GeneratorCPUSec }, "", true},
		{"other processes CPU s", func(r *Result) float64 { return r.OthersCPUSec }, "", true},
		{"generator lag p99", func(r *Result) float64 { return r.DispatchLag.P99ms }, "ms", true},
	}
}

// serverFigure is a figure of the server's own account, NaN (shown "–")
// for a target that gives none.
func serverFigure(r *Result, f func(*ServerTimes) float64) float64 {
	if r.Server == nil || r.Server.Acks == 0 {
		return math.NaN()
	}
	return f(r.Server)
}

// waveP99 is the p99 of the run's slowest (or fastest) step change.
func waveP99(r *Result, slowest bool) float64 {
	var v float64
	for i, w := range r.LatStepWaves {
		if i == 0 || (slowest && w.P99ms > v) || (!slowest && w.P99ms < v) {
			v = w.P99ms
		}
	}
	return v
}

func sumCounts(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func formatFigure(v float64) string {
	switch {
	case math.IsNaN(v):
		return "–"
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 1000:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

// median of the figure over rounds (of those that have it: NaN when none
// has).
func median(rs []*Result, value func(*Result) float64) float64 {
	var v []float64
	for _, r := range rs {
		if x := value(r); !math.IsNaN(x) {
			v = append(v, x)
		}
	}
	if len(v) == 0 {
		return math.NaN()
	}
	sort.Float64s(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// targetRank is the order of the targets in the tables: the references
// first, then ours.
var targetRank = map[string]int{targetBare: 0, targetCentrifuge: 1, targetServer: 2, targetURL: 3}

// printMachine writes where and with what a run was made (no newline: a
// table may add to the line).
func printMachine(w io.Writer, r *Result) {
	fmt.Fprintf(w, "machine: %s; date %s; commit %s", r.Machine, r.Date, r.Commit)
	if len(r.TargetEnv) > 0 {
		fmt.Fprintf(w, "; targets run with %s", strings.Join(r.TargetEnv, " "))
	}
	if r.GeneratorNice != r.TargetNice {
		fmt.Fprintf(w, "; generator at nice %d, target at %d", r.GeneratorNice, r.TargetNice)
	}
}

// printTable writes the results side by side (each figure the median over
// the rounds when there are several), and when the bare hub is one of them,
// each figure as a ratio to it.
func printTable(w io.Writer, results []*Result) {
	if len(results) == 0 {
		return
	}
	var order []string
	byTarget := map[string][]*Result{}
	sorted := append([]*Result(nil), results...)
	sort.SliceStable(sorted, func(i, j int) bool { return targetRank[sorted[i].Target] < targetRank[sorted[j].Target] })
	for _, r := range sorted {
		if _, ok := byTarget[r.Target]; !ok {
			order = append(order, r.Target)
		}
		byTarget[r.Target] = append(byTarget[r.Target], r)
	}
	first := sorted[0]
	wl := first.Workload
	fmt.Fprintf(w, "workload: %d meetings × %d participants (groups of %d) + projector + 2 facilitators = %d WebSockets; %.0f edits/s for %.0f s; step change every %.0f s; seed %d\n",
		wl.Meetings, wl.Participants, wl.GroupSize, first.Connections, wl.Rate, wl.DurationSec, wl.StepEverySec, wl.Seed)
	rounds := len(byTarget[order[0]])
	printMachine(w, first)
	if rounds > 1 {
		fmt.Fprintf(w, "; median of %d rounds", rounds)
	}
	fmt.Fprint(w, "\n\n")
	_, hasBare := byTarget[targetBare]
	ratios := hasBare && len(order) > 1
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := []string{"figure"}
	head = append(head, order...)
	if ratios {
		for _, t := range order {
			if t != targetBare {
				head = append(head, t+"/bare")
			}
		}
	}
	fmt.Fprintln(tw, strings.Join(head, "\t")+"\t")
	for _, rw := range rows() {
		cells := []string{rw.label}
		for _, t := range order {
			v := median(byTarget[t], rw.value)
			if math.IsNaN(v) {
				cells = append(cells, formatFigure(v))
				continue
			}
			cells = append(cells, formatFigure(v)+rw.unit)
		}
		if ratios {
			b := median(byTarget[targetBare], rw.value)
			for _, t := range order {
				if t == targetBare {
					continue
				}
				v := median(byTarget[t], rw.value)
				switch {
				case math.IsNaN(b) || math.IsNaN(v):
					cells = append(cells, "–")
				case b == 0 && v == 0:
					cells = append(cells, "=")
				case b == 0:
					cells = append(cells, "–")
				default:
					cells = append(cells, fmt.Sprintf("×%.2f", v/b))
				}
			}
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
	}
	tw.Flush()
	for _, r := range sorted {
		if len(r.OpsRefused) > 0 {
			var codes []string
			for c, n := range r.OpsRefused {
				codes = append(codes, fmt.Sprintf("%s=%d", c, n))
			}
			sort.Strings(codes)
			fmt.Fprintf(w, "%s: refused by code: %s\n", r.Target, strings.Join(codes, " "))
		}
		if len(r.Errors) > 0 {
			fmt.Fprintf(w, "%s: error frames: %v\n", r.Target, r.Errors)
		}
		if r.ConnectFailures > 0 {
			fmt.Fprintf(w, "%s: %d connections failed to open\n", r.Target, r.ConnectFailures)
		}
	}
}
