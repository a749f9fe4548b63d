package main

import (
	"testing"
	"time"
)

// TestActiveTime: a run's rates are per the time frames kept coming, not
// per the drain spent waiting for ops that will never settle.
func TestActiveTime(t *testing.T) {
	s := time.Second
	for _, c := range []struct {
		name                       string
		sending, window, lastFrame time.Duration
		want                       time.Duration
	}{
		{"settled during the drain", 15 * s, 15*s + 500*time.Millisecond, 15*s + 480*time.Millisecond, 15*s + 480*time.Millisecond},
		{"never settled: frames stopped 1 s into the drain", 15 * s, 25 * s, 16 * s, 16 * s},
		{"nothing came after the send phase", 15 * s, 15*s + 20*time.Millisecond, 14 * s, 15 * s},
		{"no frame at all", 15 * s, 25 * s, 0, 15 * s},
	} {
		if got := activeTime(c.sending, c.window, c.lastFrame); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
