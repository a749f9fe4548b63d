package main

import (
	"context"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// Times "at the socket". The generator stands in for thousands of phones
// with one process on the target's own CPUs: when it is slow to read, what
// it sees late was often on its socket long before, and a phone, with a CPU
// of its own, would have had it then. So besides the time a frame is
// handled here, the generator keeps the time the kernel received it
// (dialStamped) and reports the edit→ack and edit→projector latencies to
// that time too: the target's share without the generator's. On loopback
// the kernel stamps a segment as the target's write(2) sends it. A read
// gives the stamp of the newest segment it returned, so a frame counts from
// the arrival of the newest data read with it: never before it arrived.

// rxStamper is a connection that knows when the kernel received the newest
// data read from it (Unix nanoseconds, 0 if unknown).
type rxStamper interface{ lastRx() int64 }

// rxSlot carries the connection a WebSocket dial opened back to the dial's
// caller (the WebSocket library does not give it).
type rxSlot struct{ v atomic.Value }

type rxSlotKey struct{}

func (s *rxSlot) stamper() rxStamper {
	st, _ := s.v.Load().(rxStamper)
	return st
}

// wsClient is the HTTP client of the WebSocket dials: each on a connection
// of its own (an upgraded connection never goes back to a pool), dialed by
// dialStamped.
var wsClient = &http.Client{Transport: &http.Transport{
	DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := dialStamped(ctx, network, addr)
		if err == nil {
			if slot, ok := ctx.Value(rxSlotKey{}).(*rxSlot); ok {
				if st, ok := conn.(rxStamper); ok {
					slot.v.Store(st)
				}
			}
		}
		return conn, err
	},
	MaxIdleConnsPerHost: 1,
	IdleConnTimeout:     time.Second,
}}

// lastRx is the kernel's receive time of the newest data read on s (Unix
// nanoseconds), 0 when unknown.
func (s *session) lastRx() int64 {
	if s.rx == nil {
		return 0
	}
	return s.rx.lastRx()
}

// atSocket is when a frame handled at at (since() time) reached the
// socket, the kernel having received the newest data read with it at rx
// (Unix nanoseconds, 0: unknown): at less how long ago rx was by the wall
// clock; at itself when rx is unknown, and never later.
func atSocket(rx, at int64) int64 {
	if rx == 0 {
		return at
	}
	ago := max(0, time.Now().UnixNano()-rx)
	return max(1, at-ago)
}
