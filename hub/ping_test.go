package hub

import (
	"testing"
	"time"
)

// TestPingDelaysSpread: the wait before a ping stays within a quarter of
// the interval, and the waits of connections opened together spread over
// that range, so that they are not pinged together for ever.
func TestPingDelaysSpread(t *testing.T) {
	const interval = 20 * time.Second
	lo, hi := interval, time.Duration(0)
	var buckets [10]int // tenths of the allowed range
	const n = 10000
	for range n {
		d := pingDelay(interval)
		if d < interval*3/4 || d > interval*5/4 {
			t.Fatalf("ping after %v, outside %v ± 25%%", d, interval)
		}
		lo, hi = min(lo, d), max(hi, d)
		buckets[min(9, int((d-interval*3/4)*10/(interval/2)))]++
	}
	for i, c := range buckets {
		if c < n/20 { // a uniform draw puts about n/10 in each
			t.Fatalf("only %d of %d pings in tenth %d of the range (%v–%v): not spread", c, n, i, lo, hi)
		}
	}
}
