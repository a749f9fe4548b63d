package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/boucle/designation/hub"
)

// TestSlowClientCountedOnce: a phone that stops reading is closed as too
// slow, and designation_slow_clients_closed_total counts it once, whichever
// of its full queue or its blocked write noticed first (both may).
func TestSlowClientCountedOnce(t *testing.T) {
	app := newTestApp(t, hub.Options{SendQueue: 64, MaxInFlight: 8, BatchMax: 8, WriteTimeout: 2 * time.Second})
	f := setupGroups(t, app, 4, 2)
	g := f.groups[0]

	// The slow phone: a tiny receive buffer, and it never reads.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dialer := &net.Dialer{}
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := dialer.DialContext(ctx, network, addr)
		if tcp, ok := conn.(*net.TCPConn); ok {
			_ = tcp.SetReadBuffer(4096)
		}
		return conn, err
	}}}
	u := strings.Replace(app.url, "http://", "ws://", 1) + "/ws"
	slow, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: client})
	if err != nil {
		t.Fatal(err)
	}
	defer slow.CloseNow()
	hello, _ := json.Marshal(map[string]any{"type": "hello", "meeting": f.m.ID, "token": f.tokens[f.byGroup[g][1]], "lastSeq": 0})
	if err := slow.Write(ctx, websocket.MessageText, hello); err != nil {
		t.Fatal(err)
	}
	f.fac.waitFor("the slow phone connected", func() bool {
		ms, _ := f.fac.presence["members"].([]any)
		return len(ms) == 1
	})

	text := strings.Repeat("<", 1900) // large frames fill the socket buffers sooner
	deadline := time.Now().Add(60 * time.Second)
	for i := 0; !strings.Contains(app.logBuf.String(), "close_code=4008"); i++ {
		var ids []string
		for j := range 50 {
			ids = append(ids, f.fac.op("bilan.set", map[string]any{"binome": f.binome, "text": fmt.Sprintf("%s %d %d", text, i, j)}))
		}
		f.fac.waitFor("acks of the burst", func() bool { return f.fac.acks[ids[len(ids)-1]] != 0 })
		if time.Now().After(deadline) {
			t.Fatal("the slow phone was never disconnected")
		}
	}
	// The close line is written once the connection's goroutines are done:
	// nothing can count it again after that.
	waitLog(t, app, "close_code=4008")
	resp, body := app.get("/metrics", http.Header{"Authorization": {"Bearer " + testMetricsToken}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d", resp.StatusCode)
	}
	if got := regexp.MustCompile(`(?m)^designation_slow_clients_closed_total (\S+)$`).FindStringSubmatch(body); got == nil || got[1] != "1" {
		t.Fatalf("slow clients closed: %v, want 1 (one slow phone)", got)
	}
	if n := strings.Count(app.logBuf.String(), "close_code=4008"); n != 1 {
		t.Fatalf("%d connections closed as too slow, want 1", n)
	}
}
