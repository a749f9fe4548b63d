package hub

import "time"

// opBucket limits the frames one connection may send: a token bucket of
// burst frames refilled at rate per second. A frame over the limit is not
// refused: the connection's reader waits until the bucket has refilled, so
// a flooding client only slows itself down and an honest burst is never
// lost.
type opBucket struct {
	rate, burst float64
	tokens      float64
	last        time.Time
	now         func() time.Time
}

func newOpBucket(rate float64, burst int, now func() time.Time) *opBucket {
	return &opBucket{rate: rate, burst: float64(burst), tokens: float64(burst), last: now(), now: now}
}

// take spends one token and returns how long to wait before acting on the
// frame (0 when a token was there, or for a nil bucket: no limit).
func (b *opBucket) take() time.Duration {
	if b == nil {
		return 0
	}
	now := b.now()
	b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	b.tokens--
	if b.tokens >= 0 {
		return 0
	}
	return time.Duration(-b.tokens / b.rate * float64(time.Second))
}
