package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
)

// wsReadBuffer is the read buffer of a WebSocket connection. A client sends
// a hello and then ops of a few hundred bytes; net/http's 4 KiB reader,
// which the WebSocket library keeps after the hijack, is 40 MB of heap for
// 10,000 mostly idle phones that the garbage collector scans at every
// cycle. A frame bigger than the buffer is read straight into the frame.
const wsReadBuffer = 512

// smallReadBuffer is the ResponseWriter handed to websocket.Accept: its
// Hijack hands the connection on with a wsReadBuffer reader (holding what
// net/http had already buffered) and net/http's writer (4 KiB: a frame and
// its header go out in one write).
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
	n := brw.Reader.Buffered()
	if n == 0 {
		return conn, bufio.NewReadWriter(bufio.NewReaderSize(conn, wsReadBuffer), brw.Writer), nil
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
	return conn, bufio.NewReadWriter(r, brw.Writer), nil
}
