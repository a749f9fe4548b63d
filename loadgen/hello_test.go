package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestHelloPerTarget: what a client says first, by target. Our server gets
// the protocol's hello, saying it reads batches and list changes as our
// pages do, and nothing more (its tokens say the role and the group); the
// bare hub gets the role and the group in the hello, since it routes list
// edits by group; centrifuge gets a connect and one subscription per
// channel the client follows.
func TestHelloPerTarget(t *testing.T) {
	first := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
		if err != nil {
			return
		}
		defer c.CloseNow()
		_, data, err := c.Read(r.Context())
		if err == nil {
			first <- string(data)
		}
	}))
	defer srv.Close()

	cases := []struct {
		kind, who, want string
	}{
		{targetServer, "phone", `{"type":"hello","meeting":"m1","token":"tok","lastSeq":0,"lang":"fr","batch":true,"lists":true}`},
		{targetURL, "projector", `{"type":"hello","meeting":"m1","token":"scr","lastSeq":0,"lang":"fr","batch":true,"lists":true}`},
		{targetBare, "phone", `{"type":"hello","meeting":"m1","token":"tok","lastSeq":0,"lang":"fr","role":"participant","group":"g1"}`},
		{targetBare, "projector", `{"type":"hello","meeting":"m1","token":"scr","lastSeq":0,"lang":"fr","role":"projector"}`},
		{targetBare, "facilitator", `{"type":"hello","meeting":"m1","token":"adm","lastSeq":0,"lang":"fr","role":"facilitator"}`},
		{targetCentrifuge, "phone", `{"id":1,"connect":{"token":"m1/0/7","name":"loadgen"}}` + "\n" +
			`{"id":2,"subscribe":{"channel":"m:m1","recover":true}}` + "\n" +
			`{"id":3,"subscribe":{"channel":"m:m1:g:g1","recover":true}}`},
		{targetCentrifuge, "projector", `{"id":1,"connect":{"token":"m1/1/0","name":"loadgen"}}` + "\n" +
			`{"id":2,"subscribe":{"channel":"m:m1","recover":true}}` + "\n" +
			`{"id":3,"subscribe":{"channel":"m:m1:g:g0","recover":true}}` + "\n" +
			`{"id":4,"subscribe":{"channel":"m:m1:g:g1","recover":true}}`},
	}
	for _, tc := range cases {
		t.Run(tc.kind+"/"+tc.who, func(t *testing.T) {
			cfg := &config{wl: Workload{Meetings: 1, Participants: 8, GroupSize: 4, Rate: 1, Duration: time.Second, OwnMax: 1}}
			r := newRunner(cfg, &target{kind: tc.kind, baseURL: srv.URL}, io.Discard)
			m := r.newMeetingRun(0)
			m.id, m.groupIDs = "m1", []string{"g0", "g1"}
			m.participants[7].group, m.participants[7].token = 1, "tok"
			m.projector.token = "scr"
			m.facilitators[0].token = "adm"
			r.meetings = []*meetingRun{m}
			c := map[string]*client{"phone": m.participants[7], "projector": m.projector, "facilitator": m.facilitators[0]}[tc.who]
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := c.dial(ctx); err != nil {
				t.Fatal(err)
			}
			defer c.sess.Load().conn.CloseNow()
			select {
			case got := <-first:
				if got != tc.want {
					t.Errorf("first message\n got %s\nwant %s", got, tc.want)
				}
			case <-ctx.Done():
				t.Fatal("no first message")
			}
		})
	}
}
