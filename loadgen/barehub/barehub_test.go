package barehub

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func dial(ctx context.Context, t *testing.T, url, meeting string) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(url, "http")+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Write(ctx, websocket.MessageText, []byte(`{"type":"hello","meeting":"`+meeting+`","token":"x","lastSeq":0}`)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"type":"welcome"`, `"type":"snapshot"`} {
		if got := read(ctx, t, c); !strings.Contains(got, want) {
			t.Fatalf("got %s, want %s", got, want)
		}
	}
	return c
}

func read(ctx context.Context, t *testing.T, c *websocket.Conn) string {
	t.Helper()
	_, data, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestRelay: an op goes to every connection of its meeting as a changes
// frame (sender included, before its ack) and to no other meeting.
func TestRelay(t *testing.T) {
	srv := httptest.NewServer(New().Handler())
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, b, other := dial(ctx, t, srv.URL, "m1"), dial(ctx, t, srv.URL, "m1"), dial(ctx, t, srv.URL, "m2")
	if err := a.Write(ctx, websocket.MessageText, []byte(`{"type":"op","id":"op-1","op":"quality.add","payload":{"groupId":"g"}}`)); err != nil {
		t.Fatal(err)
	}
	want := `{"type":"changes","seq":1,"opId":"op-1","opType":"quality.add","changes":[{"kind":"op","id":"op-1","value":{"groupId":"g"}}]}`
	if got := read(ctx, t, a); got != want {
		t.Errorf("sender got %s", got)
	}
	if got := read(ctx, t, a); got != `{"type":"ack","id":"op-1","seq":1}` {
		t.Errorf("sender ack %s", got)
	}
	if got := read(ctx, t, b); got != want {
		t.Errorf("peer got %s", got)
	}
	short, cancelShort := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancelShort()
	if _, data, err := other.Read(short); err == nil {
		t.Errorf("another meeting got %s", data)
	}
}
