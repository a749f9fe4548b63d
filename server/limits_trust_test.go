package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/boucle/designation/hub"
)

// TestJoinCodeLookupIsRateLimited: unknown codes are answered 404 only
// until the client's bucket is empty, so codes cannot be guessed by brute
// force.
func TestJoinCodeLookupIsRateLimited(t *testing.T) {
	app := newTestApp(t, hub.Options{})
	if !rateLimitedAfter(app, "/api/join/GUESS%d") {
		t.Error("join code lookup is not rate-limited: codes can be guessed by brute force")
	}
}

// TestOpsPerConnectionAreRateLimited: a participant's connection that
// floods ops is slowed down to its rate (the server stops reading it while
// its bucket is empty) instead of hogging its meeting; every op is still
// answered, and the facilitator is served at once meanwhile.
func TestOpsPerConnectionAreRateLimited(t *testing.T) {
	const rate, burst, n = 100, 20, 220
	app := newTestApp(t, hub.Options{OpsPerSecond: rate, OpsBurst: burst})
	f := setupGroups(t, app, 4, 2)
	g := f.groups[0]
	flood := f.phone(t, app, f.byGroup[g][0])
	start := time.Now()
	go func() {
		for i := range n {
			flood.op("quality.add", map[string]any{"groupId": g, "binome": f.binome, "quality": map[string]any{"text": fmt.Sprintf("q%d", i)}})
		}
	}()
	flood.waitFor("a few answers", func() bool { return len(flood.acks)+len(flood.refusals) > burst })
	t0 := time.Now()
	f.fac.mustAck("step.set", map[string]any{"step": "V"})
	if d := time.Since(t0); d > time.Second {
		t.Errorf("the facilitator waited %s behind the flood", d)
	}
	flood.waitFor("every op answered", func() bool { return len(flood.acks)+len(flood.refusals) >= n })
	want := time.Duration(float64(n-burst)/rate*float64(time.Second)) * 8 / 10
	if d := time.Since(start); d < want {
		t.Fatalf("%d ops from one participant took %s: not limited to %d/s (want at least %s)", n, d, rate, want)
	}
	for id, code := range flood.refusals {
		if code != "list_full" && code != "wrong_step" {
			t.Fatalf("op %s refused %s", id, code)
		}
	}
}
