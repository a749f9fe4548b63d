package main

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// Histogram records latencies in microseconds into log-linear buckets (128
// per power of two: at most 0.8% relative error) with lock-free counters, so
// that ten thousand reader goroutines can record into one without a lock and
// without keeping every sample. Min and max are exact.
type Histogram struct {
	counts [histBuckets]atomic.Uint64
	n      atomic.Uint64
	max    atomic.Uint64
}

const (
	histSubBits = 7
	histSub     = 1 << histSubBits // buckets per power of two
	// Values up to 2^40 µs (12 days) are kept apart; larger ones share the
	// last bucket.
	histBuckets = histSub + (40-histSubBits)*histSub
)

// bucketOf is the index of the bucket holding v.
func bucketOf(v uint64) int {
	if v < histSub {
		return int(v)
	}
	shift := bits.Len64(v) - histSubBits - 1 // v>>shift is in [histSub, 2*histSub)
	i := histSub + shift*histSub + int(v>>shift) - histSub
	if i >= histBuckets {
		return histBuckets - 1
	}
	return i
}

// bucketValue is the middle of bucket i's range (exact below histSub).
func bucketValue(i int) uint64 {
	if i < histSub {
		return uint64(i)
	}
	shift := (i - histSub) / histSub
	low := uint64(histSub+(i-histSub)%histSub) << shift
	return low + (uint64(1)<<shift)/2
}

// Record adds one latency; negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	v := uint64(0)
	if d > 0 {
		v = uint64(d / time.Microsecond)
	}
	h.counts[bucketOf(v)].Add(1)
	h.n.Add(1)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			break
		}
	}
}

// Count is the number of recorded samples.
func (h *Histogram) Count() uint64 { return h.n.Load() }

// Quantile returns the q-quantile (0 < q <= 1) as a duration: the smallest
// recorded value v such that at least q of the samples are <= v (nearest
// rank), within the bucket's precision. It is 0 with no sample.
func (h *Histogram) Quantile(q float64) time.Duration {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	rank := uint64(q*float64(n) + 0.9999999)
	if rank < 1 {
		rank = 1
	}
	if rank > n {
		rank = n
	}
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			v := bucketValue(i)
			if m := h.max.Load(); v > m {
				v = m
			}
			return time.Duration(v) * time.Microsecond
		}
	}
	return time.Duration(h.max.Load()) * time.Microsecond
}

// Max is the largest recorded sample.
func (h *Histogram) Max() time.Duration {
	return time.Duration(h.max.Load()) * time.Microsecond
}

// LatencySummary is a histogram as reported: sample count and p50, p99, max
// in milliseconds.
type LatencySummary struct {
	Count uint64  `json:"count"`
	P50ms float64 `json:"p50Ms"`
	P99ms float64 `json:"p99Ms"`
	MaxMs float64 `json:"maxMs"`
}

// Summary reports the histogram.
func (h *Histogram) Summary() LatencySummary {
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	return LatencySummary{Count: h.Count(), P50ms: ms(h.Quantile(0.50)), P99ms: ms(h.Quantile(0.99)), MaxMs: ms(h.Max())}
}
