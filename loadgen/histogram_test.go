package main

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
	"time"
)

// exactQuantile is the nearest-rank quantile of sorted samples.
func exactQuantile(sorted []time.Duration, q float64) time.Duration {
	rank := int(math.Ceil(q * float64(len(sorted))))
	if rank < 1 {
		rank = 1
	}
	return sorted[rank-1]
}

func TestHistogramQuantilesWithinOnePercent(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	tests := []struct {
		name string
		gen  func() time.Duration
	}{
		{"uniform 0-10ms", func() time.Duration { return time.Duration(rng.IntN(10_000)) * time.Microsecond }},
		{"log-normal around 2ms", func() time.Duration {
			return time.Duration(math.Exp(rng.NormFloat64()+math.Log(2000))) * time.Microsecond
		}},
		{"long tail to 30s", func() time.Duration {
			if rng.IntN(100) == 0 {
				return time.Duration(rng.IntN(30_000)) * time.Millisecond
			}
			return time.Duration(rng.IntN(500)) * time.Microsecond
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h Histogram
			samples := make([]time.Duration, 20_000)
			for i := range samples {
				samples[i] = tt.gen()
				h.Record(samples[i])
			}
			sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
			if h.Count() != uint64(len(samples)) {
				t.Fatalf("count %d, want %d", h.Count(), len(samples))
			}
			for _, q := range []float64{0.01, 0.5, 0.9, 0.99, 0.999, 1} {
				got, want := h.Quantile(q), exactQuantile(samples, q)
				diff := math.Abs(float64(got - want))
				// Bucket precision (1/128) plus one microsecond of truncation.
				if diff > float64(want)/128+float64(time.Microsecond) {
					t.Errorf("q%.3f = %v, exact %v", q, got, want)
				}
			}
			if h.Max() != samples[len(samples)-1].Truncate(time.Microsecond) {
				t.Errorf("max %v, want %v", h.Max(), samples[len(samples)-1])
			}
		})
	}
}

func TestHistogramEdges(t *testing.T) {
	var h Histogram
	if h.Quantile(0.99) != 0 || h.Max() != 0 || h.Summary().Count != 0 {
		t.Fatal("empty histogram must report zeros")
	}
	h.Record(-time.Second) // clock oddity: counted as zero
	h.Record(0)
	h.Record(100 * 24 * time.Hour) // beyond the last bucket: clamped, max exact
	if h.Count() != 3 {
		t.Fatalf("count %d", h.Count())
	}
	if h.Quantile(0.5) != 0 {
		t.Errorf("median %v, want 0", h.Quantile(0.5))
	}
	if h.Max() != 100*24*time.Hour {
		t.Errorf("max %v", h.Max())
	}
	if h.Quantile(1) > h.Max() {
		t.Errorf("q1 %v above max %v", h.Quantile(1), h.Max())
	}
}

func TestBucketsAreMonotonic(t *testing.T) {
	prev := -1
	for v := uint64(0); v < 1<<22; v += 1 + v/300 {
		b := bucketOf(v)
		if b < prev {
			t.Fatalf("bucketOf(%d) = %d < %d", v, b, prev)
		}
		prev = b
		mid := bucketValue(b)
		if d := math.Abs(float64(mid) - float64(v)); d > float64(v)/128+1 {
			t.Fatalf("bucket %d value %d too far from %d", b, mid, v)
		}
	}
}
