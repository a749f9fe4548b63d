package barehub

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// dial connects and says hello with the given extra fields (role, group),
// then reads the welcome and the snapshot.
func dial(ctx context.Context, t *testing.T, url, meeting, extra string) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(url, "http")+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	if err := c.Write(ctx, websocket.MessageText, []byte(`{"type":"hello","meeting":"`+meeting+`","token":"x","lastSeq":0`+extra+`}`)); err != nil {
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

func send(ctx context.Context, t *testing.T, c *websocket.Conn, frame string) {
	t.Helper()
	if err := c.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
		t.Fatal(err)
	}
}

// TestRelayRoutesLikeOurHub: a list edit of group g1 goes to g1's phones
// (the sender first as changes, then its ack), the projector and the
// facilitator, and not to a phone of g2; a step change goes to every
// connection of the meeting; nothing crosses to another meeting. What a
// connection did not get is shown by the next frame it reads: the step
// change (seq 2) comes right after the snapshot, so the edit (seq 1) never
// came.
func TestRelayRoutesLikeOurHub(t *testing.T) {
	srv := httptest.NewServer(New().Handler())
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	phone := `,"role":"participant","group":"g1"`
	sender := dial(ctx, t, srv.URL, "m1", phone)
	peer := dial(ctx, t, srv.URL, "m1", phone)
	otherGroup := dial(ctx, t, srv.URL, "m1", `,"role":"participant","group":"g2"`)
	projector := dial(ctx, t, srv.URL, "m1", `,"role":"projector"`)
	facilitator := dial(ctx, t, srv.URL, "m1", `,"role":"facilitator"`)
	otherMeeting := dial(ctx, t, srv.URL, "m2", `,"role":"projector"`)

	send(ctx, t, sender, `{"type":"op","id":"op-1","op":"quality.add","payload":{"groupId":"g1","binome":"caisse"}}`)
	edit := `{"type":"changes","seq":1,"opId":"op-1","opType":"quality.add","changes":[{"kind":"op","id":"op-1","value":{"groupId":"g1","binome":"caisse"}}]}`
	if got := read(ctx, t, sender); got != edit {
		t.Errorf("sender got %s, want %s", got, edit)
	}
	if got := read(ctx, t, sender); got != `{"type":"ack","id":"op-1","seq":1}` {
		t.Errorf("sender ack %s", got)
	}
	for name, c := range map[string]*websocket.Conn{"group peer": peer, "projector": projector, "facilitator": facilitator} {
		if got := read(ctx, t, c); got != edit {
			t.Errorf("%s got %s, want %s", name, got, edit)
		}
	}

	send(ctx, t, facilitator, `{"type":"op","id":"op-2","op":"step.set","payload":{"step":"V"}}`)
	step := `{"type":"changes","seq":2,"opId":"op-2","opType":"step.set","changes":[{"kind":"op","id":"op-2","value":{"step":"V"}}]}`
	for name, c := range map[string]*websocket.Conn{"sender": sender, "group peer": peer, "phone of another group": otherGroup, "projector": projector, "facilitator": facilitator} {
		if got := read(ctx, t, c); got != step {
			t.Errorf("%s got %s, want the step change %s", name, got, step)
		}
	}

	// The other meeting's first frame is its own op, at its own seq 1.
	send(ctx, t, otherMeeting, `{"type":"op","id":"op-3","op":"step.set","payload":{"step":"II"}}`)
	if got := read(ctx, t, otherMeeting); !strings.Contains(got, `"seq":1,"opId":"op-3"`) {
		t.Errorf("another meeting got %s, want its own op-3 at seq 1", got)
	}
}

// TestHelloWithoutRoleFollowsEveryGroup: a connection that does not say
// who it is gets every op, like a projector (the bare hub's behaviour
// before it routed by group).
func TestHelloWithoutRoleFollowsEveryGroup(t *testing.T) {
	srv := httptest.NewServer(New().Handler())
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	anyone := dial(ctx, t, srv.URL, "m1", "")
	sender := dial(ctx, t, srv.URL, "m1", `,"role":"participant","group":"g7"`)
	send(ctx, t, sender, `{"type":"op","id":"op-1","op":"quality.remove","payload":{"groupId":"g7"}}`)
	if got := read(ctx, t, anyone); !strings.Contains(got, `"opId":"op-1"`) {
		t.Errorf("got %s, want op-1", got)
	}
}
