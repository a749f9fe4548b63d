package hub

import (
	"runtime"
	"testing"

	"github.com/boucle/designation/meeting"
)

// fanOutRoom is a room with n subscribers (one in ten with the full view)
// whose queues are emptied by a goroutine each, as their writers would.
func fanOutRoom(tb testing.TB, n int) *Room {
	tb.Helper()
	r := &Room{subs: map[*subscriber]struct{}{}}
	for i := 0; i < n; i++ {
		s := &subscriber{send: make(chan []byte, 1024), audience: meeting.Redacted}
		if i%10 == 0 {
			s.audience = meeting.Full
		}
		r.subs[s] = struct{}{}
		go func() {
			for range s.send {
			}
		}()
	}
	tb.Cleanup(func() {
		for s := range r.subs {
			close(s.send)
		}
	})
	return r
}

// TestFanOutAllocatesNothingPerSubscriber: handing a change to a meeting's
// 100 screens allocates nothing: the two encodings are shared.
func TestFanOutAllocatesNothingPerSubscriber(t *testing.T) {
	r := fanOutRoom(t, 100)
	full, redacted := []byte(`{"type":"changes","full":true}`), []byte(`{"type":"changes"}`)
	if allocs := testing.AllocsPerRun(200, func() { r.publish(full, redacted) }); allocs != 0 {
		t.Fatalf("publish to 100 subscribers: %.1f allocations, want 0", allocs)
	}
}

// BenchmarkFanOut: one change handed to the 103 connections of a meeting
// (100 phones, a projector, two facilitators).
func BenchmarkFanOut(b *testing.B) {
	r := fanOutRoom(b, 103)
	full, redacted := make([]byte, 1400), make([]byte, 1300)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r.publish(full, redacted)
		if i%512 == 511 { // let the writers catch up, untimed: queues hold 1024
			b.StopTimer()
			for s := range r.subs {
				for len(s.send) > 0 {
					runtime.Gosched()
				}
			}
			b.StartTimer()
		}
	}
	if len(r.subs) != 103 {
		b.Fatalf("%d subscribers left, want 103 (one was dropped)", len(r.subs))
	}
}
