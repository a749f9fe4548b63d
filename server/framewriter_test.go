package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// recordingConn is a net.Conn that keeps what each Write was handed.
type recordingConn struct {
	net.Conn
	mu     sync.Mutex
	writes [][]byte
}

func (c *recordingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.writes = append(c.writes, bytes.Clone(p))
	c.mu.Unlock()
	if c.Conn == nil {
		return len(p), nil
	}
	return c.Conn.Write(p)
}

// mark is the number of writes so far; since returns the writes after it.
func (c *recordingConn) mark() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.writes)
}

func (c *recordingConn) since(k int) [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([][]byte(nil), c.writes[k:]...)
}

// serverFrame is an unmasked WebSocket frame as a server sends it.
func serverFrame(opcode byte, payload []byte) []byte {
	f := []byte{0x80 | opcode}
	switch n := len(payload); {
	case n < 126:
		f = append(f, byte(n))
	case n <= 0xffff:
		f = append(f, 126)
		f = binary.BigEndian.AppendUint16(f, uint16(n))
	default:
		f = append(f, 127)
		f = binary.BigEndian.AppendUint64(f, uint64(n))
	}
	return append(f, payload...)
}

func TestFrameSize(t *testing.T) {
	for _, n := range []int{0, 1, 125, 126, 1400, 0xffff, 0x10000, 300 << 10} {
		f := serverFrame(0x1, make([]byte, n))
		size, ok := frameSize(f)
		if !ok || size != len(f) {
			t.Errorf("payload %d: frameSize = %d, %v; want %d", n, size, ok, len(f))
		}
		// Until the header is whole, the size is not known.
		header := len(f) - n
		for k := 0; k < header; k++ {
			if _, ok := frameSize(f[:k]); ok {
				t.Errorf("payload %d: size known from %d of the header's %d bytes", n, k, header)
			}
		}
	}
	// A masked frame (a client's) has 4 bytes of key after the length.
	if size, ok := frameSize(maskedFrame(make([]byte, 300))); !ok || size != 2+2+4+300 {
		t.Errorf("masked frame: frameSize = %d, %v", size, ok)
	}
}

// TestFrameWriterWritesWholeFrames: whatever pieces the library's bufio
// writer hands on, the connection gets the same bytes, in order, and each
// write ends where a frame ends (a frame bigger than gatherMax aside), so a
// frame goes out in one system call; no buffer is held between frames.
func TestFrameWriterWritesWholeFrames(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	sizes := []int{0, 3, 125, 126, 1400, 4090, 5200, 16 << 10, 0xffff, 0x10000, gatherMax + 1, 200 << 10}
	for round := 0; round < 50; round++ {
		var stream []byte
		var ends []int // where each frame ends in stream
		var big []bool // frame bigger than gatherMax
		for k := 0; k < 1+rng.IntN(8); k++ {
			n := sizes[rng.IntN(len(sizes))]
			payload := make([]byte, n)
			for i := range payload {
				payload[i] = byte(rng.IntN(256))
			}
			f := serverFrame(0x1, payload)
			stream = append(stream, f...)
			ends = append(ends, len(stream))
			big = append(big, len(f) > gatherMax)
		}
		conn := &recordingConn{}
		w := &frameWriter{conn: conn}
		for rest := stream; len(rest) > 0; {
			k := min(len(rest), 1+rng.IntN(9000))
			if n, err := w.Write(rest[:k]); n != k || err != nil {
				t.Fatalf("Write = %d, %v", n, err)
			}
			rest = rest[k:]
		}
		if got := bytes.Join(conn.writes, nil); !bytes.Equal(got, stream) {
			t.Fatalf("round %d: the connection got %d bytes, not the %d written (or not in order)", round, len(got), len(stream))
		}
		if w.pending != nil || w.through != 0 {
			t.Fatalf("round %d: after whole frames, the writer still holds a buffer (%v) or a frame (%d)", round, w.pending != nil, w.through)
		}
		// Each write ends on a frame's end, unless it is inside a big frame.
		at, frame := 0, 0
		for _, p := range conn.writes {
			at += len(p)
			for frame < len(ends) && ends[frame] < at {
				frame++
			}
			if ends[frame] != at && !big[frame] {
				t.Fatalf("round %d: a write ends at byte %d, inside frame %d (ends at %d, not a big one)", round, at, frame, ends[frame])
			}
		}
	}
}

// TestWebSocketFramesInOneWrite: through the real library, over a real
// listener, each message the hub writes (up to the size of a batch and
// beyond 4 KiB, where net/http's writer needed two system calls) is one
// write to the socket, and the client reads every message, a ping and the
// close code intact.
func TestWebSocketFramesInOneWrite(t *testing.T) {
	conns := make(chan *recordingConn, 1)
	srv := httptest.NewUnstartedServer(nil)
	srv.Listener = recordingListener{srv.Listener, conns}
	sizes := []int{10, 125, 126, 1400, 4096, 5200, 16 << 10, 40 << 10, 150 << 10}
	payload := func(n int) []byte { return bytes.Repeat([]byte{'a' + byte(n%26)}, n) }
	type result struct {
		size, writes, bytes int
	}
	results := make(chan result, len(sizes))
	handlerDone := make(chan error, 1)
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(smallReadBuffer{w}, r, &websocket.AcceptOptions{})
		if err != nil {
			handlerDone <- err
			return
		}
		conn := <-conns
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, n := range sizes {
			k := conn.mark()
			if err := c.Write(ctx, websocket.MessageText, payload(n)); err != nil {
				handlerDone <- err
				return
			}
			var total int
			ws := conn.since(k)
			for _, p := range ws {
				total += len(p)
			}
			results <- result{n, len(ws), total}
		}
		c.CloseRead(ctx) // reads the pong and the client's close frame
		if err := c.Ping(ctx); err != nil {
			handlerDone <- err
			return
		}
		handlerDone <- c.Close(websocket.StatusCode(4008), "too slow: resume")
	})
	srv.Start()
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadLimit(1 << 20)
	for _, n := range sizes {
		_, got, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("reading the %d-byte message: %v", n, err)
		}
		if !bytes.Equal(got, payload(n)) {
			t.Fatalf("the %d-byte message arrived as %d other bytes", n, len(got))
		}
		r := <-results
		header := len(serverFrame(0x1, make([]byte, n))) - n
		if r.bytes != n+header {
			t.Errorf("the %d-byte message: %d bytes written, want %d", n, r.bytes, n+header)
		}
		if n+header <= gatherMax && r.writes != 1 {
			t.Errorf("the %d-byte message took %d writes, want 1", n, r.writes)
		}
	}
	// The ping is answered while the client reads; then the close code.
	_, _, err = c.Read(ctx)
	if got := websocket.CloseStatus(err); got != 4008 {
		t.Fatalf("close status %d (%v), want 4008", got, err)
	}
	if err := <-handlerDone; err != nil {
		t.Fatalf("server side: %v", err)
	}
}

// recordingListener hands each accepted connection to the test.
type recordingListener struct {
	net.Listener
	conns chan *recordingConn
}

func (l recordingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	rc := &recordingConn{Conn: c}
	select {
	case l.conns <- rc:
	default:
	}
	return rc, nil
}
