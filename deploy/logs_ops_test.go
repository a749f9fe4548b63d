package deploy

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"
)

// metricsToken guards /metrics in the tests that run the binary.
const metricsToken = "metrics-bearer-5ecret-for-tests"

// startForMeeting runs the image binary on a free loopback port with its
// data in a temporary DATA_DIR and the given extra environment.
func startForMeeting(t *testing.T, extra ...string) *serverProc {
	t.Helper()
	env := append([]string{"DATA_DIR=" + t.TempDir()}, extra...)
	return startServer(t, t.TempDir(), env, "-addr", "127.0.0.1:0")
}

// waitForLog waits until the server's log satisfies cond.
func waitForLog(t *testing.T, srv *serverProc, what string, cond func(log string) bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond(srv.stderr.String()) {
		if time.Now().After(deadline) {
			t.Fatalf("log never showed %s within %s", what, waitTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// secretsOf lists what must never be in a log: every secret and token,
// the join code, the metrics token, the member search, the personal data.
func secretsOf(m *plantedMeeting) []string {
	out := []string{m.facSecret, m.scrSecret, m.joinCode, metricsToken, m.searchTerm}
	out = append(out, m.tokens...)
	return append(out, m.personal...)
}

// TestLogsOfAWholeMeeting runs a meeting against the binary, in the text
// and the JSON log format, and checks the captured logs: one line per HTTP
// request (method, route pattern, status, duration), one per WebSocket
// welcomed (meeting id, role) and one per WebSocket closed (meeting id,
// role, close code, duration), and never a secret, a token, the join code,
// a name, an e-mail or a phone number.
func TestLogsOfAWholeMeeting(t *testing.T) {
	for _, format := range []string{"json", "text"} {
		t.Run(format, func(t *testing.T) {
			srv := startForMeeting(t, "LOG_FORMAT="+format, "METRICS_TOKEN="+metricsToken)
			m := runMeeting(t, srv.url, nil)
			welcomed := 0
			for _, n := range m.welcomed {
				welcomed += n
			}
			closedLine := `msg="websocket closed"`
			if format == "json" {
				closedLine = `"msg":"websocket closed"`
			}
			// The close lines are written once the server has seen each
			// close; wait for them before stopping it.
			waitForLog(t, srv, "every WebSocket closed", func(log string) bool {
				return strings.Count(log, closedLine) == welcomed+m.refusedWS+m.unknownWS
			})
			srv.stop()
			logs := srv.stderr.String()

			for _, secret := range secretsOf(m) {
				if secret != "" && strings.Contains(logs, secret) {
					t.Errorf("the log contains %q", secret)
				}
			}
			digits := regexp.MustCompile(`[^0-9]`).ReplaceAllString(logs, "")
			for _, p := range plantedMembers {
				if phone := strings.ReplaceAll(p.phone, " ", ""); strings.Contains(digits, phone[1:]) {
					t.Errorf("the log's digits contain the phone %s", p.phone)
				}
			}

			if format == "json" {
				checkJSONLog(t, logs, m, welcomed)
			} else {
				checkTextLog(t, logs, m, welcomed)
			}
		})
	}
}

// checkJSONLog: every line is a JSON object, and the lines about the
// meeting say what an operator needs.
func checkJSONLog(t *testing.T, logs string, m *plantedMeeting, welcomed int) {
	t.Helper()
	var requests, opened, closed, unknown int
	roles := map[string]int{}
	msgs := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("not a JSON line: %q", line)
			continue
		}
		for _, k := range []string{"time", "level", "msg"} {
			if _, ok := rec[k]; !ok {
				t.Errorf("line without %q: %s", k, line)
			}
		}
		msg, _ := rec["msg"].(string)
		msgs[msg] = true
		switch msg {
		case "request":
			requests++
			for _, k := range []string{"method", "route", "status", "duration_ms"} {
				if _, ok := rec[k]; !ok {
					t.Errorf("request line without %q: %s", k, line)
				}
			}
			if route, _ := rec["route"].(string); strings.Contains(route, m.id) {
				t.Errorf("request line with a path instead of the route pattern: %s", line)
			}
		case "websocket open":
			opened++
			roles[rec["role"].(string)]++
			if rec["meeting"] != m.id {
				t.Errorf("open line without the meeting id: %s", line)
			}
		case "websocket closed":
			closed++
			if rec["meeting"] == "" {
				// A hello that named no meeting: nothing of it is logged.
				if code, _ := rec["close_code"].(float64); code != 4004 {
					t.Errorf("close line without a meeting id: %s", line)
				}
				unknown++
				continue
			}
			if rec["meeting"] != m.id {
				t.Errorf("close line without the meeting id: %s", line)
			}
			for _, k := range []string{"role", "close_code", "duration_ms"} {
				if _, ok := rec[k]; !ok {
					t.Errorf("close line without %q: %s", k, line)
				}
			}
			code, _ := rec["close_code"].(float64)
			if rec["role"] == "" && code != 4001 {
				t.Errorf("refused WebSocket closed with %v, want 4001: %s", code, line)
			}
			if rec["role"] != "" && code != 1000 {
				t.Errorf("WebSocket closed by its client logged with code %v, want 1000: %s", code, line)
			}
		}
	}
	if requests != m.requests {
		t.Errorf("%d request lines for %d requests", requests, m.requests)
	}
	if opened != welcomed || closed != welcomed+m.refusedWS+m.unknownWS || unknown != m.unknownWS {
		t.Errorf("%d open and %d close lines (%d of unknown meetings) for %d WebSockets welcomed, %d refused, %d of unknown meetings",
			opened, closed, unknown, welcomed, m.refusedWS, m.unknownWS)
	}
	for role, n := range m.welcomed {
		if roles[role] != n {
			t.Errorf("%d open lines with role %s, want %d", roles[role], role, n)
		}
	}
	for _, want := range []string{"server started", "meetings loaded", "shutting down", "stopped"} {
		if !msgs[want] {
			t.Errorf("no %q line", want)
		}
	}
}

// checkTextLog: the same lines in slog's text format.
func checkTextLog(t *testing.T, logs string, m *plantedMeeting, welcomed int) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(logs), "\n")
	count := func(re string) int {
		n := 0
		r := regexp.MustCompile(re)
		for _, l := range lines {
			if r.MatchString(l) {
				n++
			}
		}
		return n
	}
	if got := count(`^time=\S+ level=INFO msg=request method=\w+ route=\S+ status=\d{3} duration_ms=\d+`); got != m.requests {
		t.Errorf("%d request lines for %d requests", got, m.requests)
	}
	if got := count(`msg="websocket open" meeting=` + regexp.QuoteMeta(m.id) + ` role=(facilitator|projector|participant|rapporteur)$`); got != welcomed {
		t.Errorf("%d open lines, want %d", got, welcomed)
	}
	if got := count(`msg="websocket closed" meeting=` + regexp.QuoteMeta(m.id) + ` role=\w+ close_code=1000 duration_ms=\d+$`); got != welcomed {
		t.Errorf("%d close lines of welcomed WebSockets, want %d", got, welcomed)
	}
	if got := count(`msg="websocket closed" meeting=` + regexp.QuoteMeta(m.id) + ` role="" close_code=4001 duration_ms=\d+$`); got != m.refusedWS {
		t.Errorf("%d close lines of refused WebSockets, want %d", got, m.refusedWS)
	}
	if got := count(`msg="websocket closed" meeting="" role="" close_code=4004 duration_ms=\d+$`); got != m.unknownWS {
		t.Errorf("%d close lines of WebSockets naming no meeting, want %d", got, m.unknownWS)
	}
	for _, want := range []string{`msg="server started"`, `msg="meetings loaded"`, `msg=stopped`} {
		if count(regexp.QuoteMeta(want)) != 1 {
			t.Errorf("no %s line", want)
		}
	}
}
