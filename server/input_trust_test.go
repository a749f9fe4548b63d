package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/boucle/designation/hub"
)

// TestBadBodiesChangeNothing posts malformed, oversize, invalid UTF-8,
// control-character and unknown-field bodies to every JSON endpoint: each
// gets a 4xx with a code, and the meeting's log does not move.
func TestBadBodiesChangeNothing(t *testing.T) {
	app := newTestApp(t, hub.Options{})
	m := app.createMeeting()
	members := app.importMembers(m, memberCSV(2, 1))
	ctx := context.Background()
	before, err := app.log.Last(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	meetingsBefore := app.hub.Meetings()

	huge := `{"title":"` + strings.Repeat("a", maxJSONBody+10) + `"}`
	for _, tc := range []struct {
		name, path, body string
		want             int
	}{
		{"create: not JSON", "/api/meetings", `{"title":`, 400},
		{"create: unknown field", "/api/meetings", `{"title":"x","admin":true}`, 400},
		{"create: trailing data", "/api/meetings", `{"title":"x"}{"title":"y"}`, 400},
		{"create: a brace after the body", "/api/meetings", `{"title":"x"}}`, 400},
		{"join: a bracket after the body", "/api/meetings/" + m.ID + "/join", `{"memberId":"` + members[0].ID + `"}]`, 400},
		{"create: too big", "/api/meetings", huge, 413},
		{"create: invalid UTF-8", "/api/meetings", "{\"title\":\"Boucle \xff\xfe\"}", 400},
		{"create: control character", "/api/meetings", `{"title":"Boucle\u0007"}`, 400},
		{"create: bad date", "/api/meetings", `{"date":"2026-13-45"}`, 400},
		{"create: three facilitators", "/api/meetings", `{"facilitators":["a","b","c"]}`, 400},
		{"create: javascript video", "/api/meetings", `{"videoUrl":"javascript:alert(1)"}`, 400},
		{"create: wrong types", "/api/meetings", `{"title":12}`, 400},
		{"join: unknown member", "/api/meetings/" + m.ID + "/join", `{"memberId":"nope"}`, 404},
		{"join: unknown field", "/api/meetings/" + m.ID + "/join", `{"memberId":"` + members[0].ID + `","role":"facilitator"}`, 400},
		{"join: invalid UTF-8", "/api/meetings/" + m.ID + "/join", "{\"memberId\":\"\xff\"}", 400},
		{"join: too big", "/api/meetings/" + m.ID + "/join", huge, 413},
	} {
		var e apiError
		st := app.do("POST", tc.path, "", "application/json", strings.NewReader(tc.body), &e)
		if st != tc.want || e.Error.Code == "" || e.Error.Message == "" {
			t.Errorf("%s: %d %+v, want %d with a code", tc.name, st, e, tc.want)
		}
	}
	after, _ := app.log.Last(ctx, m.ID)
	if after != before || app.hub.Meetings() != meetingsBefore {
		t.Fatalf("refused bodies changed something: seq %d -> %d, meetings %d -> %d", before, after, meetingsBefore, app.hub.Meetings())
	}
}

// TestBadFramesChangeNothing sends a facilitator's socket frames that are
// oversize, not UTF-8, not JSON, of unknown type, with unknown fields,
// unknown ops, out-of-range numbers or anything after the frame's JSON
// value: each gets its documented refusal or close code and the log does
// not move.
func TestBadFramesChangeNothing(t *testing.T) {
	app := newTestApp(t, hub.Options{})
	m := app.createMeeting()
	ctx := context.Background()
	before, _ := app.log.Last(ctx, m.ID)
	hello := map[string]any{"meeting": m.ID, "token": m.FacSecret, "lastSeq": uint64(0)}

	// Refused ops: the connection stays open.
	fac := dial(t, app, hello, nil)
	fac.waitFor("snapshot", func() bool { return fac.lastSeq > 0 })
	for _, tc := range []struct {
		name, frame, id, want string
	}{
		{"unknown op", `{"type":"op","id":"00000000-0000-4000-8000-000000000001","op":"meeting.explode","payload":{}}`, "00000000-0000-4000-8000-000000000001", "unknown_op"},
		{"unknown payload field", `{"type":"op","id":"00000000-0000-4000-8000-000000000002","op":"step.set","payload":{"step":"II","admin":true}}`, "00000000-0000-4000-8000-000000000002", "invalid"},
		{"bad step", `{"type":"op","id":"00000000-0000-4000-8000-000000000003","op":"step.set","payload":{"step":"XLII"}}`, "00000000-0000-4000-8000-000000000003", "invalid"},
		{"control character", `{"type":"op","id":"00000000-0000-4000-8000-000000000004","op":"meeting.update","payload":{"info":{"title":"a\u0000b"}}}`, "00000000-0000-4000-8000-000000000004", "invalid"},
		{"payload not an object", `{"type":"op","id":"00000000-0000-4000-8000-000000000005","op":"step.set","payload":[1]}`, "00000000-0000-4000-8000-000000000005", "invalid"},
		{"id not a UUID", `{"type":"op","id":"x","op":"step.set","payload":{"step":"II"}}`, "x", "invalid"},
		{"unknown frame field", `{"type":"op","id":"00000000-0000-4000-8000-000000000006","op":"step.set","payload":{"step":"II"},"actor":{"role":"system"}}`, "00000000-0000-4000-8000-000000000006", "invalid"},
		{"system op", `{"type":"op","id":"00000000-0000-4000-8000-000000000007","op":"token.issue","payload":{"hash":"` + strings.Repeat("b", 64) + `","role":"facilitator"}}`, "00000000-0000-4000-8000-000000000007", "not_allowed"},
		{"timer in year 99999", `{"type":"op","id":"00000000-0000-4000-8000-000000000008","op":"timer.set","payload":{"timerEnd":"99999-01-01T00:00:00Z"}}`, "00000000-0000-4000-8000-000000000008", "invalid"},
		{"huge text", `{"type":"op","id":"00000000-0000-4000-8000-000000000009","op":"meeting.update","payload":{"info":{"title":"` + strings.Repeat("é", 20000) + `"}}}`, "00000000-0000-4000-8000-000000000009", "invalid"},
	} {
		if err := fac.conn.Write(ctx, websocket.MessageText, []byte(tc.frame)); err != nil {
			t.Fatal(err)
		}
		var code string
		fac.waitFor(tc.name, func() bool {
			if _, ok := fac.acks[tc.id]; ok {
				t.Fatalf("%s: acked", tc.name)
			}
			code = fac.refusals[tc.id]
			return code != ""
		})
		if code != tc.want {
			t.Errorf("%s: refused %q, want %q", tc.name, code, tc.want)
		}
	}

	// Fatal frames: the connection is closed with the protocol's code.
	for _, tc := range []struct {
		name  string
		frame []byte
		want  websocket.StatusCode
	}{
		{"invalid UTF-8", []byte("{\"type\":\"op\",\"id\":\"00000000-0000-4000-8000-00000000000a\",\"op\":\"meeting.update\",\"payload\":{\"info\":{\"title\":\"\xff\"}}}"), hub.StatusProtocol},
		{"not JSON", []byte("op step.set"), hub.StatusProtocol},
		{"unknown frame type", []byte(`{"type":"sudo"}`), hub.StatusProtocol},
		{"a brace after the op", []byte(`{"type":"op","id":"00000000-0000-4000-8000-00000000000b","op":"step.set","payload":{"step":"II"}}}`), hub.StatusProtocol},
		{"a second op after the op", []byte(`{"type":"op","id":"00000000-0000-4000-8000-00000000000c","op":"step.set","payload":{"step":"II"}} {"type":"op","id":"00000000-0000-4000-8000-00000000000d","op":"step.set","payload":{"step":"III"}}`), hub.StatusProtocol},
		{"too big", bytes.Repeat([]byte(" "), 65<<10), websocket.StatusMessageTooBig},
	} {
		c := dial(t, app, hello, nil)
		c.waitFor("snapshot", func() bool { return c.lastSeq > 0 })
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_ = c.conn.Write(wctx, websocket.MessageText, tc.frame)
		cancel()
		if got := closeCode(c); got != tc.want {
			t.Errorf("%s: close %d, want %d", tc.name, got, tc.want)
		}
	}
	after, _ := app.log.Last(ctx, m.ID)
	if after != before {
		t.Fatalf("refused frames moved the log from %d to %d", before, after)
	}
	// The meeting still works.
	fac2 := dial(t, app, hello, nil)
	fac2.waitFor("snapshot", func() bool { return fac2.lastSeq > 0 })
	fac2.mustAck("step.set", map[string]any{"step": "I"})
	var mv struct{ Title string }
	var info struct {
		Info json.RawMessage `json:"info"`
	}
	fac2.valueOf("meeting", "", &info)
	_ = json.Unmarshal(info.Info, &mv)
	if mv.Title != "Boucle test" {
		t.Fatalf("title changed to %q", mv.Title)
	}
}

var _ = http.StatusOK
