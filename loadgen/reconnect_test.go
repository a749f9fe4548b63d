package main

import (
	"errors"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// runWithDrops runs cfg against a target of that kind (our server or the
// centrifuge peer, built from this tree) and drops the connections that
// drop picks, after the measured phase has run for after: the network
// going away under them, as our side sees it.
func runWithDrops(t *testing.T, kind string, cfg *config, after time.Duration, drop func(r *runner) []*client) *Result {
	t.Helper()
	cfg.reconnect = true
	res, r := runBuilt(t, kind, cfg, func(r *runner) {
		time.Sleep(after)
		for _, c := range drop(r) {
			c.sess.Load().conn.CloseNow()
		}
	})
	// Exactly once: each group peer saw each edit once, not again
	// from a resume that started too early. (Centrifuge publishes again
	// an op re-sent after its publish reply was lost with the connection:
	// those may reach the peers twice.)
	var want, dups uint64
	for i := range r.ops {
		if op := &r.ops[i]; !op.step {
			want += uint64(r.peersOf(op))
		}
	}
	if kind == targetCentrifuge {
		dups = uint64(res.OpsResent) * uint64(cfg.wl.GroupSize-1)
	}
	if got := res.LatPeers.Count; got < want || got > want+dups {
		t.Errorf("%d edits seen by group peers, want %d (one per peer and edit) + at most %d re-published", got, want, dups)
	}
	return res
}

// TestReconnectResumes: a projector, a facilitator and two phones of one
// group lose their connection in the middle of the run. Each reconnects
// with its lastSeq, gets the changes it missed, and sends again what was
// not acked: every op is acked once, and every screen still sees every
// edit and step change it should, as if nothing had happened.
func TestReconnectResumes(t *testing.T) {
	cfg := smokeConfig(Workload{Meetings: 3, Participants: 25, GroupSize: 10, Seed: 5})
	res := runWithDrops(t, targetServer, cfg, 400*time.Millisecond, dropSome)
	checkRun(t, cfg, res, 4)
	// Dropped by the network, not closed as too slow: each waited out a
	// backoff of 0.25–0.5 s before reconnecting.
	if away := res.TimeAway; away.Count != 4 || away.P50ms < 250 || away.MaxMs > 5000 {
		t.Errorf("time away %+v: want 4 reconnections, each after 0.25 s or more", away)
	}
	if res.ResumedBySnap != 0 {
		t.Errorf("%d reconnections answered by a snapshot: each client was a few ops behind, the changes should do", res.ResumedBySnap)
	}
}

// dropSome picks two phones of one group of the third meeting, the first
// meeting's projector and the second's first facilitator.
func dropSome(r *runner) []*client {
	m := r.meetings[2]
	var phones []*client
	for _, c := range m.participants {
		if c.group == m.participants[0].group && len(phones) < 2 {
			phones = append(phones, c)
		}
	}
	return append(phones, r.meetings[0].projector, r.meetings[1].facilitators[0])
}

// TestReconnectRecoversOnCentrifuge: the same drops on the centrifuge
// peer. Each client resubscribes from the epoch and offset of each of its
// channels and gets the publications it missed; the ops not acked are
// published again: every op acked, every edit and step change seen.
func TestReconnectRecoversOnCentrifuge(t *testing.T) {
	cfg := smokeConfig(Workload{Meetings: 3, Participants: 25, GroupSize: 10, Seed: 5})
	res := runWithDrops(t, targetCentrifuge, cfg, 400*time.Millisecond, dropSome)
	checkRun(t, cfg, res, 4)
}

// TestReconnectBySnapshot: clients that come back too far behind for the
// server's history get a snapshot; the edits made meanwhile count as seen
// when it arrives, and nothing is counted missed.
func TestReconnectBySnapshot(t *testing.T) {
	cfg := smokeConfig(Workload{Meetings: 1, Participants: 25, GroupSize: 10, Seed: 7})
	cfg.wl.Rate, cfg.wl.Duration = 120, 2*time.Second
	cfg.reconnectWait = 1200 * time.Millisecond // over 64 ops of the meeting
	res := runWithDrops(t, targetServer, cfg, 300*time.Millisecond, func(r *runner) []*client {
		m := r.meetings[0]
		return []*client{m.projector, m.participants[0], m.participants[1]}
	})
	checkRun(t, cfg, res, 3)
	if res.ResumedBySnap != 3 {
		t.Errorf("%d of 3 reconnections answered by a snapshot, want all", res.ResumedBySnap)
	}
	// Both phones' edits made while they were away were sent once back.
	if res.OpsResent == 0 {
		t.Error("no op re-sent after the reconnections")
	}
}

// TestBackoff: at once after a close for slowness, then as our pages wait:
// 0.5 s doubling up to 5 s, each with jitter down to half.
func TestBackoff(t *testing.T) {
	for n, want := range []time.Duration{500, 1000, 2000, 4000, 5000, 5000} {
		want *= time.Millisecond
		for range 50 {
			if got := backoff(n, false); got < want/2 || got > want {
				t.Fatalf("attempt %d waits %v, want %v to %v", n, got, want/2, want)
			}
			if got := backoff(n+1, true); got < want/2 || got > want {
				t.Fatalf("after a close for slowness, attempt %d waits %v, want %v to %v", n+1, got, want/2, want)
			}
		}
	}
	if got := backoff(0, true); got != 0 {
		t.Errorf("first attempt after a close for slowness waits %v, want none", got)
	}
	for _, tc := range []struct {
		err  error
		slow bool
	}{
		{websocket.CloseError{Code: 4008, Reason: "too slow"}, true},
		{websocket.CloseError{Code: 3008, Reason: "slow"}, true},
		{websocket.CloseError{Code: websocket.StatusPolicyViolation, Reason: "too slow"}, true},
		{websocket.CloseError{Code: websocket.StatusPolicyViolation, Reason: "bad hello"}, false},
		{websocket.CloseError{Code: websocket.StatusGoingAway}, false},
		{errors.New("EOF"), false},
	} {
		if got := tooSlow(tc.err); got != tc.slow {
			t.Errorf("tooSlow(%v) = %v", tc.err, got)
		}
	}
}
