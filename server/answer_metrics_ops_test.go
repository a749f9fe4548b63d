package main

import (
	"context"
	"net/http"
	"regexp"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/boucle/designation/hub"
	"github.com/boucle/designation/store"
	"github.com/boucle/designation/store/bolt"
)

// slowDisk is a real bbolt log whose appends take hold longer: a disk
// that is slow to make ops durable.
type slowDisk struct {
	store.Log
	hold atomic.Int64 // ns
}

func (l *slowDisk) Append(ctx context.Context, m string, entries []store.Entry) ([]store.Appended, error) {
	time.Sleep(time.Duration(l.hold.Load()))
	return l.Log.Append(ctx, m, entries)
}

// answerBuckets reads designation_op_answer_seconds of one answer from
// /metrics: the cumulative count at each upper bound ("+Inf" included).
func answerBuckets(t *testing.T, app *testApp, answer string) map[string]float64 {
	t.Helper()
	resp, body := app.get("/metrics", http.Header{"Authorization": {"Bearer " + testMetricsToken}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d", resp.StatusCode)
	}
	re := regexp.MustCompile(`(?m)^designation_op_answer_seconds_bucket\{answer="` + answer + `",le="([^"]+)"\} (\S+)$`)
	out := map[string]float64{}
	for _, m := range re.FindAllStringSubmatch(body, -1) {
		v, err := strconv.ParseFloat(m[2], 64)
		if err != nil {
			t.Fatalf("bucket %s: %v", m[1], err)
		}
		out[m[1]] = v
	}
	if len(out) == 0 {
		t.Fatalf("no designation_op_answer_seconds{answer=%q} in /metrics", answer)
	}
	return out
}

// firstBoundAtLeast is the smallest finite upper bound of buckets that is
// at least d, or "+Inf".
func firstBoundAtLeast(buckets map[string]float64, d time.Duration) string {
	best, bestV := "+Inf", 0.0
	for le := range buckets {
		v, err := strconv.ParseFloat(le, 64)
		if err != nil || le == "+Inf" || v < d.Seconds() {
			continue
		}
		if best == "+Inf" || v < bestV {
			best, bestV = le, v
		}
	}
	return best
}

// TestOpAnswerTimeIsMeasured: designation_op_answer_seconds times an op
// from the moment the server has it to its answer, the durable append
// included: with a disk that takes 60 ms to append, an acked op lands
// above 50 ms, and never above what the client waited from sending it to
// reading its answer. A refusal is timed in its own series. Over HTTP too.
func TestOpAnswerTimeIsMeasured(t *testing.T) {
	base, err := bolt.Open(t.TempDir()+"/designation.db", bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	disk := &slowDisk{Log: base}
	app := newTestAppWithLog(t, disk, hub.Options{})
	f := setupGroups(t, app, 4, 2)
	g := f.groups[0]
	phone := f.phone(t, app, f.byGroup[g][0])
	const hold = 60 * time.Millisecond

	// changed is how many answers entered each bucket between two reads.
	changed := func(before, after map[string]float64) map[string]float64 {
		d := map[string]float64{}
		for le, n := range after {
			d[le] = n - before[le]
		}
		return d
	}

	t.Run("ack over the WebSocket", func(t *testing.T) {
		before := answerBuckets(t, app, "ack")
		disk.hold.Store(int64(hold))
		start := time.Now()
		id := phone.op("quality.add", map[string]any{"groupId": g, "binome": f.binome, "quality": map[string]any{"text": "Écoute"}})
		phone.waitFor("the ack", func() bool { return phone.acks[id] != 0 || phone.refusals[id] != "" })
		waited := time.Since(start)
		disk.hold.Store(0)
		if code := phone.refusals[id]; code != "" {
			t.Fatalf("refused: %s", code)
		}
		d := changed(before, answerBuckets(t, app, "ack"))
		if d["+Inf"] != 1 {
			t.Fatalf("%v acks timed, want 1", d["+Inf"])
		}
		if d["0.05"] != 0 {
			t.Errorf("the ack was timed under 50 ms: the %s append is not in it", hold)
		}
		if le := firstBoundAtLeast(d, waited); d[le] != 1 {
			t.Errorf("the ack was timed over %ss, more than the %s the phone waited for it", le, waited)
		}
	})

	t.Run("refusal over the WebSocket", func(t *testing.T) {
		before := answerBuckets(t, app, "refused")
		start := time.Now()
		id := phone.op("step.set", map[string]any{"step": "V"}) // a participant may not
		phone.waitFor("the refusal", func() bool { return phone.refusals[id] != "" })
		waited := time.Since(start)
		d := changed(before, answerBuckets(t, app, "refused"))
		if d["+Inf"] != 1 {
			t.Fatalf("%v refusals timed, want 1", d["+Inf"])
		}
		if le := firstBoundAtLeast(d, waited); d[le] != 1 {
			t.Errorf("the refusal was timed over %ss, more than the %s the phone waited for it", le, waited)
		}
	})

	t.Run("ack over HTTP", func(t *testing.T) {
		before := answerBuckets(t, app, "ack")
		disk.hold.Store(int64(hold))
		start := time.Now()
		var resp struct {
			Token string `json:"token"`
		}
		// Checking in again: a REST op, acked.
		if st := app.postJSON("/api/meetings/"+f.m.ID+"/join", "", map[string]any{"memberId": f.byGroup[g][1]}, &resp); st != http.StatusOK {
			t.Fatalf("join: %d", st)
		}
		waited := time.Since(start)
		disk.hold.Store(0)
		d := changed(before, answerBuckets(t, app, "ack"))
		if d["+Inf"] < 1 {
			t.Fatal("no ack timed")
		}
		if d["0.05"] != 0 {
			t.Errorf("%v of the %v acks were timed under 50 ms: the %s append is not in them", d["0.05"], d["+Inf"], hold)
		}
		if le := firstBoundAtLeast(d, waited); d[le] != d["+Inf"] {
			t.Errorf("an ack was timed over %ss, more than the %s the request took", le, waited)
		}
	})
}
