package hub

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestQueuedFramesGoOutTogether: frames already queued for a connection
// whose hello said "batch" go out in one WebSocket message, one per line,
// in order, never more than maxMessage bytes in a message of several; a
// frame bigger than that goes alone. To a client that did not say it, one
// frame per message. Every frame arrives once.
func TestQueuedFramesGoOutTogether(t *testing.T) {
	for _, tc := range []struct {
		batch    bool
		messages int
	}{
		// All queued before the writer starts: 100+200+5000+5000 |
		// 5000+5000 (the next one would pass maxMessage) | the big one
		// alone | 300+400+7000+7000+10.
		{batch: true, messages: 4},
		{batch: false, messages: 12},
	} {
		t.Run(fmt.Sprintf("batch=%v", tc.batch), func(t *testing.T) {
			if got := queuedFramesMessages(t, tc.batch); got != tc.messages {
				t.Fatalf("12 frames in %d messages, want %d", got, tc.messages)
			}
		})
	}
}

// queuedFramesMessages queues twelve frames for a connection, then lets its
// writer go, and returns in how many messages the client got them, after
// checking it got each frame once, in order.
func queuedFramesMessages(t *testing.T, batch bool) int {
	log := openLog(t, filepath.Join(t.TempDir(), "c.db"))
	defer log.Close()
	h := newHub(t, log, Options{})
	defer h.Close()

	sizes := []int{100, 200, 5000, 5000, 5000, 5000, 3 * maxMessage, 300, 400, 7000, 7000, 10}
	var frames [][]byte
	for i, n := range sizes {
		f := fmt.Sprintf(`{"type":"test","i":%d,"pad":"`, i)
		frames = append(frames, []byte(f+strings.Repeat("x", max(0, n-len(f)-2))+`"}`))
	}
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(rw, r, nil)
		if err != nil {
			t.Error(err)
			return
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		sub := &subscriber{send: make(chan []byte, 64), batch: batch}
		w := h.newWriter(ctx, c, sub, func(StatusCode, string) {})
		sub.startWriter, sub.runWriter = w.start, w.run
		for _, f := range frames { // all queued before the writer starts
			sub.send <- f
		}
		sub.wake()
		<-done
		cancel()
		w.stop()
		c.CloseNow()
	}))
	defer srv.Close()
	defer close(done)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, strings.Replace(srv.URL, "http", "ws", 1), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	c.SetReadLimit(1 << 20)
	var got [][]byte
	messages := 0
	for len(got) < len(frames) {
		_, msg, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("after %d frames: %v", len(got), err)
		}
		messages++
		parts := bytes.Split(msg, []byte("\n"))
		if len(parts) > 1 && len(msg) > maxMessage {
			t.Errorf("a message of %d frames is %d bytes, over %d", len(parts), len(msg), maxMessage)
		}
		got = append(got, parts...)
	}
	if len(got) != len(frames) {
		t.Fatalf("%d frames received, %d sent", len(got), len(frames))
	}
	for i := range frames {
		if !bytes.Equal(got[i], frames[i]) {
			t.Fatalf("frame %d differs (or out of order): %.40s", i, got[i])
		}
	}
	return messages
}
