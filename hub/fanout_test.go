package hub

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/boucle/designation/meeting"
)

// fanOutRoom is the room of a meeting of 100 at steps IV–V: 100 phones in
// ten breakout groups g0…g9, a projector and two facilitators, whose queues
// are emptied by a goroutine each, as their writers would. Every one reads
// "list" changes, as our pages do.
func fanOutRoom(tb testing.TB) *Room {
	tb.Helper()
	r := &Room{subs: map[*subscriber]struct{}{}}
	add := func(l meeting.Lens) {
		s := &subscriber{send: make(chan []byte, 1024), lens: l, lists: true}
		r.subs[s] = struct{}{}
		go func() {
			for range s.send {
			}
		}()
	}
	for i := 0; i < 100; i++ {
		add(meeting.Lens{Audience: meeting.Redacted, OwnGroupOnly: true, Group: fmt.Sprintf("g%d", i%10)})
	}
	add(meeting.Lens{Audience: meeting.Redacted})
	add(meeting.Lens{Audience: meeting.Full})
	add(meeting.Lens{Audience: meeting.Full})
	tb.Cleanup(func() {
		for s := range r.subs {
			close(s.send)
		}
	})
	return r
}

// listEdit is the history entry of a list edit of group g3, as
// participantFrames makes it: the group's phones get the projector's frame,
// the other phones nothing.
func listEdit(full, redacted []byte) *histEntry {
	return &histEntry{seq: 1, full: full, redacted: redacted, insiders: []groupFrame{{group: "g3", frame: redacted}}, lists: true}
}

// TestFanOutAllocatesNothingPerSubscriber: handing a list edit to a
// meeting's 103 screens allocates nothing (the encodings are shared) and
// reaches the 13 that follow that group: its ten phones, the projector and
// the two facilitators.
func TestFanOutAllocatesNothingPerSubscriber(t *testing.T) {
	r := fanOutRoom(t)
	full, redacted := []byte(`{"type":"changes","full":true}`), []byte(`{"type":"changes"}`)
	e := listEdit(full, redacted)
	if allocs := testing.AllocsPerRun(200, func() { r.publish(e, nil) }); allocs != 0 {
		t.Fatalf("publish to 103 subscribers: %.1f allocations, want 0", allocs)
	}
	sent := 0
	for s := range r.subs {
		if f := e.frameFor(s.lens); f != nil {
			sent++
			if s.lens.OwnGroupOnly && s.lens.Group != "g3" {
				t.Errorf("a phone of %s is sent g3's list edit", s.lens.Group)
			}
		}
	}
	if sent != 13 {
		t.Fatalf("a list edit goes to %d connections, want 13", sent)
	}
}

// BenchmarkFanOut: one list edit handed to the 103 connections of a
// meeting (100 phones in ten groups, a projector, two facilitators): 13 of
// them get it.
func BenchmarkFanOut(b *testing.B) {
	r := fanOutRoom(b)
	e := listEdit(make([]byte, 1400), make([]byte, 1300))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r.publish(e, nil)
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
