package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
)

// wsReadBuffer is the read buffer of a WebSocket connection. A client sends
// a hello and then ops of a few hundred bytes; net/http's 4 KiB reader,
// which the WebSocket library keeps after the hijack, is 40 MB of heap for
// 10,000 mostly idle phones that the garbage collector scans at every
// cycle. A frame bigger than the buffer is read straight into the frame.
const wsReadBuffer = 512

// wsHeaderBuffer is the write buffer the WebSocket library is handed: room
// for a frame's header (2–10 bytes) and the first bytes of its payload. The
// frame itself is gathered by a frameWriter, in a pooled buffer that only a
// connection that is writing holds (see frameWriter).
const wsHeaderBuffer = 32

// smallReadBuffer is the ResponseWriter handed to websocket.Accept: its
// Hijack hands the connection on with a wsReadBuffer reader (holding what
// net/http had already buffered) and a writer that sends each frame whole,
// in one write (frameWriter), without a buffer of its own per connection.
type smallReadBuffer struct {
	http.ResponseWriter
}

// WriteHeaderNow is gin's: websocket.Accept calls it so that the 101
// response is written before the hijack.
func (w smallReadBuffer) WriteHeaderNow() {
	if g, ok := w.ResponseWriter.(interface{ WriteHeaderNow() }); ok {
		g.WriteHeaderNow()
	}
}

func (w smallReadBuffer) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("the response writer cannot be hijacked")
	}
	conn, brw, err := hj.Hijack()
	if err != nil {
		return nil, nil, err
	}
	// net/http has flushed the 101 response: its writer holds nothing.
	bw := bufio.NewWriterSize(&frameWriter{conn: conn}, wsHeaderBuffer)
	n := brw.Reader.Buffered()
	if n == 0 {
		return conn, bufio.NewReadWriter(bufio.NewReaderSize(conn, wsReadBuffer), bw), nil
	}
	// What the client sent right after its handshake is already read: it
	// must be in the new reader's buffer, not behind it, since the
	// library keeps the buffered bytes and reads the rest from conn.
	early, _ := brw.Reader.Peek(n)
	r := bufio.NewReaderSize(io.MultiReader(bytes.NewReader(bytes.Clone(early)), conn), max(wsReadBuffer, n))
	if _, err := r.Peek(n); err != nil {
		conn.Close()
		return nil, nil, err
	}
	return conn, bufio.NewReadWriter(r, bw), nil
}

// gatherMax bounds a frame that a frameWriter gathers before writing it
// (header included): a bigger one (a large snapshot) is written as it
// comes, in pieces. Frames up to the hub's largest batched message (16 KiB)
// are gathered.
const gatherMax = 64 << 10

// frameBuffers holds the buffers frameWriters gather frames in.
var frameBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

// frameWriter is what the WebSocket library's bufio.Writer writes to: it
// reads the length of each frame from its header and writes a frame to the
// connection when it is whole, in one write(2). Behind net/http's 4 KiB
// writer, a frame bigger than 4 KiB took two system calls (the buffer
// filled, then the flush), and every connection kept its 4 KiB for its
// whole life; most phones are idle most of the meeting. Here a connection
// holds a buffer only while a frame is half written, that is inside one of
// the library's frame writes, which hold its write lock: a frameWriter is
// never used by two goroutines at once.
type frameWriter struct {
	conn    net.Conn
	pending *[]byte // the start of a frame not yet whole (from frameBuffers), or nil
	through int     // bytes of a frame bigger than gatherMax still to write as they come
}

func (w *frameWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if w.through > 0 {
			k := min(len(p), w.through)
			if _, err := w.conn.Write(p[:k]); err != nil {
				return 0, err
			}
			w.through -= k
			p = p[k:]
			continue
		}
		if w.pending == nil {
			w.pending = frameBuffers.Get().(*[]byte)
		}
		*w.pending = append(*w.pending, p...)
		p = nil
		if err := w.writeWhole(); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// writeWhole writes the whole frames at the start of pending, in one write,
// and keeps the rest. The start of a frame bigger than gatherMax is written
// at once and the rest of it passes through.
func (w *frameWriter) writeWhole() error {
	b := *w.pending
	whole := 0
	for {
		size, ok := frameSize(b[whole:])
		if !ok {
			break
		}
		if whole+size <= len(b) {
			whole += size
			continue
		}
		if whole == 0 && size > gatherMax {
			w.through = size - len(b)
			whole = len(b)
		}
		break
	}
	if whole > 0 {
		if _, err := w.conn.Write(b[:whole]); err != nil {
			return err
		}
		rest := copy(b, b[whole:])
		*w.pending = b[:rest]
	}
	if len(*w.pending) == 0 {
		if cap(*w.pending) <= gatherMax {
			frameBuffers.Put(w.pending)
		}
		w.pending = nil
	}
	return nil
}

// frameSize is the size of the WebSocket frame at the start of b, header
// included (RFC 6455 §5.2), once b holds its header.
func frameSize(b []byte) (int, bool) {
	if len(b) < 2 {
		return 0, false
	}
	header := 2
	if b[1]&0x80 != 0 {
		header += 4 // masking key
	}
	var payload uint64
	switch l := b[1] & 0x7f; l {
	case 126:
		if len(b) < 4 {
			return 0, false
		}
		header += 2
		payload = uint64(binary.BigEndian.Uint16(b[2:]))
	case 127:
		if len(b) < 10 {
			return 0, false
		}
		header += 8
		payload = binary.BigEndian.Uint64(b[2:])
	default:
		payload = uint64(l)
	}
	if payload > 1<<40 { // never sent: the hub's frames are far smaller
		payload = 1 << 40
	}
	return header + int(payload), true
}
