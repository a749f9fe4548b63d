package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// parseRates reads -rates: positive rates, comma-separated, each once; they
// are run in increasing order.
func parseRates(s string) ([]float64, error) {
	var rates []float64
	for _, f := range strings.Split(s, ",") {
		rate, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || !(rate > 0) || math.IsInf(rate, 1) {
			return nil, fmt.Errorf("-rates: %q is not a positive rate", strings.TrimSpace(f))
		}
		if slices.Contains(rates, rate) {
			return nil, fmt.Errorf("-rates: %v given twice", rate)
		}
		rates = append(rates, rate)
	}
	slices.Sort(rates)
	return rates, nil
}

// held tells whether a run carried its workload without losing anything:
// every connection opened and stayed open, every planned op was sent and
// acked (none refused, none left unanswered when the drain ended). Latency
// is not part of it: past the rate a target keeps up with, its latency
// grows with the run's length; the table shows it beside.
func held(r *Result) bool {
	return allAnswered(r) && r.Disconnections == 0
}

// carried tells whether a run brought its workload whole to the screens,
// closed connections allowed as long as each came back: every op sent and
// acked (none refused), every edit seen by its projector and every group
// peer, every step change by every screen, and every connection the target
// closed reconnected and resumed. What a user of the meeting would see: the
// rate a target carries even if it sheds a slow client now and then.
func carried(r *Result) bool {
	return allAnswered(r) && r.Disconnections == r.Reconnections &&
		r.ProjectorMissed == 0 && r.ProjectorGone == 0 && r.PeersMissed == 0 && r.StepsMissed == 0
}

// allAnswered: every connection opened and open at the end, every planned
// op sent and acked (none refused, lost or unsent).
func allAnswered(r *Result) bool {
	return r.ConnectionsHeld == r.Connections && r.ConnectFailures == 0 &&
		r.OpsSent == r.OpsPlanned && r.OpsAcked == r.OpsPlanned && r.OpsLost == 0 && r.OpsUnsent == 0 &&
		sumCounts(r.OpsRefused) == 0
}

// ladderRates is the rates (increasing) and the targets (in the tables'
// order) of a ladder's results.
func ladderRates(results []*Result) (rates []float64, targets []string) {
	for _, r := range results {
		if !slices.Contains(rates, r.Workload.Rate) {
			rates = append(rates, r.Workload.Rate)
		}
		if !slices.Contains(targets, r.Target) {
			targets = append(targets, r.Target)
		}
	}
	slices.Sort(rates)
	slices.SortStableFunc(targets, func(a, b string) int { return targetRank[a] - targetRank[b] })
	return rates, targets
}

// runsAt is the target's runs at one rate of the ladder, and how many of
// them passed ok (held or carried).
func runsAt(results []*Result, target string, rate float64, ok func(*Result) bool) (runs []*Result, passed int) {
	for _, r := range results {
		if r.Target == target && r.Workload.Rate == rate {
			runs = append(runs, r)
			if ok(r) {
				passed++
			}
		}
	}
	return runs, passed
}

// highest is the highest rate of the ladder at which every round of the
// target passed ok, and every round of every lower rate too (0: none). A
// rate with no result (the target could not be run) does not pass.
func highest(results []*Result, target string, rates []float64, ok func(*Result) bool) float64 {
	best := 0.0
	for _, rate := range rates {
		if runs, passed := runsAt(results, target, rate, ok); len(runs) == 0 || passed < len(runs) {
			return best
		}
		best = rate
	}
	return best
}

// printLadder writes, for each rate and target, the frames delivered a
// second and the edit→projector p99 (medians over the rounds) and how many
// rounds were held and carried, then the highest rate each target held and
// carried.
func printLadder(w io.Writer, results []*Result) {
	if len(results) == 0 {
		return
	}
	rates, targets := ladderRates(results)
	first := results[0]
	wl := first.Workload
	fmt.Fprintf(w, "workload: %d meetings × %d participants (groups of %d) = %d WebSockets; %.0f s at each rate; step change every %.0f s; seed %d\n",
		wl.Meetings, wl.Participants, wl.GroupSize, first.Connections, wl.DurationSec, wl.StepEverySec, wl.Seed)
	printMachine(w, first)
	fmt.Fprint(w, "\nheld: every connection kept and every op sent answered (acked), in that many of the rounds\n")
	fmt.Fprint(w, "carried: the same, or closed connections that all came back, and every edit and step change seen by every screen\n\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := []string{"edits/s asked"}
	for _, t := range targets {
		head = append(head, t+" frames/s", t+" proj. p99", t+" held", t+" carried")
	}
	fmt.Fprintln(tw, strings.Join(head, "\t")+"\t")
	for _, rate := range rates {
		cells := []string{formatFigure(rate)}
		for _, t := range targets {
			runs, kept := runsAt(results, t, rate, held)
			if len(runs) == 0 {
				cells = append(cells, "–", "–", "–", "–")
				continue
			}
			_, whole := runsAt(results, t, rate, carried)
			cells = append(cells,
				formatFigure(median(runs, func(r *Result) float64 { return r.FramesPerSec })),
				formatFigure(median(runs, func(r *Result) float64 { return r.LatProjector.P99ms }))+"ms",
				fmt.Sprintf("%d/%d", kept, len(runs)), fmt.Sprintf("%d/%d", whole, len(runs)))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
	}
	tw.Flush()
	fmt.Fprintln(w)
	for _, t := range targets {
		for _, c := range []struct {
			verb string
			ok   func(*Result) bool
		}{{"held", held}, {"carried", carried}} {
			if best := highest(results, t, rates, c.ok); best > 0 {
				fmt.Fprintf(w, "%s: %s every rate up to %s edits/s, in every round\n", t, c.verb, formatFigure(best))
			} else {
				fmt.Fprintf(w, "%s: %s none of the rates\n", t, c.verb)
			}
		}
	}
}
