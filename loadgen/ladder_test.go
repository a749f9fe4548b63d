package main

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

func TestParseRates(t *testing.T) {
	got, err := parseRates("6000, 4000,5000.5")
	if err != nil || !slices.Equal(got, []float64{4000, 5000.5, 6000}) {
		t.Errorf("parseRates = %v, %v; want the rates in increasing order", got, err)
	}
	for _, bad := range []string{"", "4000,", "4000,x", "0", "-5", "4000,4000", "NaN", "Inf"} {
		if got, err := parseRates(bad); err == nil {
			t.Errorf("parseRates(%q) = %v, want an error", bad, got)
		}
	}
}

// heldRun is a run that carried its workload whole.
func heldRun(target string, rate float64) *Result {
	return &Result{Target: target, Workload: WorkloadOut{Rate: rate}, Connections: 100, ConnectionsHeld: 100,
		OpsPlanned: 50, OpsSent: 50, OpsAcked: 50, OpsRefused: map[string]int{}, FramesPerSec: rate * 14}
}

func TestHeld(t *testing.T) {
	if !held(heldRun(targetServer, 10)) {
		t.Fatal("a run with every op acked and every connection kept is not held")
	}
	for name, spoil := range map[string]func(*Result){
		"a connection closed":       func(r *Result) { r.Disconnections = 1 },
		"a connection not held":     func(r *Result) { r.ConnectionsHeld-- },
		"a connection never opened": func(r *Result) { r.ConnectFailures = 1 },
		"an op unanswered":          func(r *Result) { r.OpsAcked--; r.OpsLost = 1 },
		"an op refused":             func(r *Result) { r.OpsAcked--; r.OpsRefused["invalid"] = 1 },
		"an op never sent":          func(r *Result) { r.OpsSent--; r.OpsAcked--; r.OpsUnsent = 1 },
		"fewer acks than planned":   func(r *Result) { r.OpsAcked-- },
	} {
		r := heldRun(targetServer, 10)
		spoil(r)
		if held(r) {
			t.Errorf("%s: still held", name)
		}
	}
}

func TestCarried(t *testing.T) {
	r := heldRun(targetServer, 10)
	if !carried(r) {
		t.Fatal("a held run is not carried")
	}
	r.Disconnections, r.Reconnections = 3, 3
	if held(r) || !carried(r) {
		t.Fatalf("three connections closed and resumed, nothing missed: held %v, carried %v; want false, true", held(r), carried(r))
	}
	for name, spoil := range map[string]func(*Result){
		"a connection not back":        func(r *Result) { r.Reconnections--; r.ConnectionsHeld-- },
		"a closure not resumed":        func(r *Result) { r.Reconnections-- },
		"an op unanswered":             func(r *Result) { r.OpsAcked--; r.OpsLost = 1 },
		"an op refused":                func(r *Result) { r.OpsAcked--; r.OpsRefused["invalid"] = 1 },
		"an edit the projector missed": func(r *Result) { r.ProjectorMissed = 1 },
		"a projector gone":             func(r *Result) { r.ProjectorGone = 1 },
		"a peer delivery missed":       func(r *Result) { r.PeersMissed = 1 },
		"a step change missed":         func(r *Result) { r.StepsMissed = 1 },
		"a connection never opened":    func(r *Result) { r.ConnectFailures = 1 },
	} {
		r := heldRun(targetServer, 10)
		r.Disconnections, r.Reconnections = 3, 3
		spoil(r)
		if carried(r) {
			t.Errorf("%s: still carried", name)
		}
	}
}

func TestLadder(t *testing.T) {
	var results []*Result
	for _, rate := range []float64{4000, 5000, 6000, 7000} {
		for round := 1; round <= 2; round++ {
			s, c := heldRun(targetServer, rate), heldRun(targetCentrifuge, rate)
			if rate == 7000 && round == 2 {
				s.Disconnections = 3 // ours fails one round of the top rate...
				s.Reconnections = 3  // ...but its clients come back
			}
			if rate == 5000 && round == 1 {
				c.OpsLost, c.OpsAcked = 9, 41 // centrifuge fails low, then holds higher
			}
			results = append(results, s, c)
		}
	}
	rates, targets := ladderRates(results)
	if !slices.Equal(rates, []float64{4000, 5000, 6000, 7000}) || !slices.Equal(targets, []string{targetCentrifuge, targetServer}) {
		t.Fatalf("rates %v, targets %v", rates, targets)
	}
	if got := highest(results, targetServer, rates, held); got != 6000 {
		t.Errorf("ours held up to %v, want 6000 (7000 failed one round of two)", got)
	}
	if got := highest(results, targetServer, rates, carried); got != 7000 {
		t.Errorf("ours carried up to %v, want 7000 (its closed clients resumed)", got)
	}
	if got := highest(results, targetCentrifuge, rates, held); got != 4000 {
		t.Errorf("centrifuge held up to %v, want 4000 (5000 failed; what it held above does not count)", got)
	}
	if got := highest(results, targetCentrifuge, rates, carried); got != 4000 {
		t.Errorf("centrifuge carried up to %v, want 4000 (an op lost at 5000)", got)
	}
	if got := highest(results, targetBare, rates, held); got != 0 {
		t.Errorf("a target never run held up to %v", got)
	}
	var out bytes.Buffer
	printLadder(&out, results)
	for _, want := range []string{
		"server: held every rate up to 6000 edits/s, in every round",
		"server: carried every rate up to 7000 edits/s, in every round",
		"centrifuge: held every rate up to 4000 edits/s, in every round",
		"centrifuge: carried every rate up to 4000 edits/s, in every round",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
	// Each rate's line: frames/s, p99, rounds held and carried,
	// centrifuge then ours.
	lines := map[string][]string{}
	for _, line := range strings.Split(out.String(), "\n") {
		if f := strings.Fields(line); len(f) == 9 {
			lines[f[0]] = f[1:]
		}
	}
	for rate, want := range map[string][]string{
		"5000": {"70000", "0ms", "1/2", "1/2", "70000", "0ms", "2/2", "2/2"},
		"7000": {"98000", "0ms", "2/2", "2/2", "98000", "0ms", "1/2", "2/2"},
	} {
		if !slices.Equal(lines[rate], want) {
			t.Errorf("line of %s edits/s: %q, want %q\n%s", rate, lines[rate], want, out.String())
		}
	}
}
