package hub

import (
	"testing"
)

// TestHistoryKeepsTheLatestInPlace: the history holds the latest ops in
// order, never more than HistorySize and a quarter; past the first push it
// allocates nothing, and the entries it dropped no longer hold their frames.
func TestHistoryKeepsTheLatestInPlace(t *testing.T) {
	const n = 16
	r := &Room{hub: &Hub{opts: Options{HistorySize: n}}}
	seq, frame := uint64(0), []byte(`{"type":"changes"}`)
	push := func() {
		seq++
		r.pushHistory(histEntry{seq: seq, full: frame})
	}
	push()
	// AllocsPerRun rounds down: count over many pushes, past several trims.
	if allocs := testing.AllocsPerRun(20, func() {
		for range 10 * n {
			push()
		}
	}); allocs != 0 {
		t.Fatalf("pushHistory: %.0f allocations per %d ops, want 0", allocs, 10*n)
	}
	if l := len(r.history); l < n || l > n+n/4+1 {
		t.Fatalf("history holds %d entries, want %d to %d", l, n, n+n/4+1)
	}
	for i, e := range r.history {
		if want := seq - uint64(len(r.history)-1-i); e.seq != want {
			t.Fatalf("history[%d] is seq %d, want %d", i, e.seq, want)
		}
	}
	for i, e := range r.history[len(r.history):cap(r.history)] {
		if e.full != nil || e.seq != 0 {
			t.Fatalf("dropped slot %d still holds seq %d", len(r.history)+i, e.seq)
		}
	}
}
