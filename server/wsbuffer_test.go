package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/boucle/designation/hub"
)

// maskedFrame is a client's text frame (masked, as clients must).
func maskedFrame(payload []byte) []byte {
	f := []byte{0x81}
	switch n := len(payload); {
	case n < 126:
		f = append(f, 0x80|byte(n))
	default:
		f = append(f, 0x80|126)
		f = binary.BigEndian.AppendUint16(f, uint16(n))
	}
	key := []byte{1, 2, 3, 4}
	f = append(f, key...)
	for i, b := range payload {
		f = append(f, b^key[i%4])
	}
	return f
}

// TestHelloSentWithTheHandshake: a client that sends its hello, and a frame
// bigger than the connection's read buffer, in the same write as its
// handshake (they reach net/http's buffer before the hijack) is read whole:
// nothing is lost or shifted when the connection moves to its small read
// buffer.
func TestHelloSentWithTheHandshake(t *testing.T) {
	app := newTestApp(t, hub.Options{})
	m := app.createMeeting()
	hello, _ := json.Marshal(map[string]any{"type": "hello", "meeting": m.ID, "token": m.FacSecret, "lastSeq": 0})
	op, _ := json.Marshal(map[string]any{"type": "op", "id": "0d6f3c1e-2a8b-4c55-9b7e-6f1c2d3e4a5b", "op": "bilan.set",
		"payload": map[string]any{"binome": "communication", "text": strings.Repeat("Bilan long. ", 3*wsReadBuffer/12)}})
	if len(op) <= wsReadBuffer {
		t.Fatalf("the op frame (%d bytes) must be bigger than the read buffer (%d)", len(op), wsReadBuffer)
	}
	conn, err := net.Dial("tcp", strings.TrimPrefix(app.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	var req bytes.Buffer
	req.WriteString("GET /ws HTTP/1.1\r\nHost: " + strings.TrimPrefix(app.url, "http://") + "\r\n" +
		"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	req.Write(maskedFrame(hello))
	req.Write(maskedFrame(op))
	if _, err := conn.Write(req.Bytes()); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	// Read server frames (unmasked) until the op's ack.
	for {
		var h [2]byte
		if _, err := io.ReadFull(br, h[:]); err != nil {
			t.Fatalf("reading frames: %v", err)
		}
		n := int(h[1] & 0x7f)
		switch n {
		case 126:
			var l [2]byte
			io.ReadFull(br, l[:])
			n = int(binary.BigEndian.Uint16(l[:]))
		case 127:
			var l [8]byte
			io.ReadFull(br, l[:])
			n = int(binary.BigEndian.Uint64(l[:]))
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(br, payload); err != nil {
			t.Fatal(err)
		}
		if h[0]&0x0f == 0x8 {
			t.Fatalf("closed by the server: %q", payload)
		}
		for _, line := range bytes.Split(payload, []byte("\n")) { // one frame per line
			var f struct{ Type, ID, Code string }
			_ = json.Unmarshal(line, &f)
			switch f.Type {
			case "refused", "error":
				t.Fatalf("the op sent with the handshake was not read whole: %s", line)
			case "ack":
				return
			}
		}
	}
}
