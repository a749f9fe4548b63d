package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// lateRead is how long after the data arrives the tests read it: the
// generator reading late, which the receive time must not include.
const lateRead = 300 * time.Millisecond

// readLate has the peer send a message (send returns when it wrote it),
// reads it lateRead later with read, and checks that st kept the time it
// arrived, not the time it was read. The kernel turns receive stamps on a
// moment after the first socket asks for them: until a message comes
// stamped, each is sent again (for at most five seconds).
func readLate(t *testing.T, st rxStamper, send func(msg string) time.Time, read func() (string, error)) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for k := 0; ; k++ {
		msg := "m" + strconv.Itoa(k)
		sent := send(msg)
		if k > 0 {
			time.Sleep(lateRead)
		}
		readAt := time.Now()
		got, err := read()
		if err != nil || got != msg {
			t.Fatalf("read %q, %v; want %q", got, err, msg)
		}
		if st.lastRx() == 0 {
			if time.Now().After(deadline) {
				t.Fatal("no receive time from the kernel")
			}
			continue
		}
		if k == 0 {
			continue // stamped, but read at once: next one late
		}
		rx := time.Unix(0, st.lastRx())
		if rx.Before(sent.Add(-time.Millisecond)) || readAt.Sub(rx) < lateRead*9/10 {
			t.Errorf("received at %v: want about when it was sent (%v), not when read (%v)", rx, sent, readAt)
		}
		return
	}
}

// TestStampedReadKeepsArrivalTime: data read late keeps the time it
// reached the socket, not the time it was read; deadlines and the end of
// the stream work as on any connection.
func TestStampedReadKeepsArrivalTime(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	conn, err := dialStamped(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	st, ok := conn.(rxStamper)
	if !ok {
		t.Fatalf("%T does not keep receive times", conn)
	}
	if st.lastRx() != 0 {
		t.Fatalf("a receive time %d before any read", st.lastRx())
	}
	peer := <-accepted
	defer peer.Close()
	buf := make([]byte, 64)
	readLate(t, st,
		func(msg string) time.Time { at := time.Now(); peer.Write([]byte(msg)); return at },
		func() (string, error) { n, err := conn.Read(buf); return string(buf[:n]), err })

	// Nothing more comes: the deadline ends the read; then the peer's
	// close ends the stream.
	conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if _, err := conn.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("read past the deadline: %v, want a timeout", err)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	peer.Close()
	if n, err := conn.Read(buf); n != 0 || err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("read after the peer closed: %d bytes, %v; want the end of the stream", n, err)
	}
}

// TestWebSocketDialIsStamped: a WebSocket dialed as the generator dials it
// hands its connection back through the context, and a message read late
// is timed to its arrival.
func TestWebSocketDialIsStamped(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	toSend, wrote := make(chan string), make(chan time.Time)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			select {
			case msg := <-toSend:
				at := time.Now()
				if c.Write(ctx, websocket.MessageText, []byte(msg)) != nil {
					return
				}
				wrote <- at
			case <-ctx.Done():
				return
			}
		}
	}))
	defer srv.Close()
	slot := new(rxSlot)
	conn, _, err := websocket.Dial(context.WithValue(ctx, rxSlotKey{}, slot), "ws"+srv.URL[len("http"):], &websocket.DialOptions{HTTPClient: wsClient})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	st := slot.stamper()
	if st == nil {
		t.Fatal("the dial did not hand its connection back")
	}
	readLate(t, st,
		func(msg string) time.Time { toSend <- msg; return <-wrote },
		func() (string, error) {
			_, msg, err := conn.Read(ctx)
			return string(bytes.TrimSpace(msg)), err
		})
}
