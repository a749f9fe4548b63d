package deploy

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/boucle/designation/internal/testredis"
)

// series is one scrape: the value of every series, keyed as printed
// (`name{label="v",...}`).
type series map[string]float64

// scrapeMetrics fetches /metrics with bearer (may be empty) and returns
// the status and, on 200, the parsed series and the raw body.
func scrapeMetrics(t *testing.T, base, bearer string) (int, series, string) {
	t.Helper()
	req, err := http.NewRequest("GET", base+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	c := newMeetingClient(t, base)
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read /metrics: %v", err)
	}
	body := string(data)
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, nil, body
	}
	out := series{}
	for _, line := range strings.Split(body, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			t.Fatalf("bad exposition line %q", line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("bad value in %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return resp.StatusCode, out, body
}

// mustScrape scrapes with the test token and fails on anything but 200.
func mustScrape(t *testing.T, base string) series {
	t.Helper()
	status, s, body := scrapeMetrics(t, base, metricsToken)
	if status != http.StatusOK {
		t.Fatalf("/metrics with the token: %d %s", status, body)
	}
	return s
}

// check compares series with wanted values: exact, or at least (min).
type seriesWant struct {
	name  string
	value float64
	min   bool
}

func checkSeries(t *testing.T, when string, s series, wants []seriesWant) {
	t.Helper()
	for _, w := range wants {
		got, ok := s[w.name]
		switch {
		case !ok:
			t.Errorf("%s: no series %s", when, w.name)
		case w.min && got < w.value:
			t.Errorf("%s: %s = %v, want at least %v", when, w.name, got, w.value)
		case !w.min && got != w.value:
			t.Errorf("%s: %s = %v, want %v", when, w.name, got, w.value)
		}
	}
}

// waitSeries scrapes until cond holds (gauges that settle after closes).
func waitSeries(t *testing.T, base, what string, cond func(series) bool) series {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		s := mustScrape(t, base)
		if cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics never showed %s within %s", what, waitTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestMetricsOfAWholeMeeting scrapes the binary's /metrics (behind
// METRICS_TOKEN) during and after a meeting: connections by role while
// live and back to zero after, acks, the refusal by code, every answer
// timed, frames sent, one resume from the history and one from a
// snapshot, the meeting loaded, bbolt appends timed and sized, no store
// error; never a meeting id, a secret or a name in the body.
func TestMetricsOfAWholeMeeting(t *testing.T) {
	srv := startForMeeting(t, "METRICS_TOKEN="+metricsToken)
	for _, bearer := range []string{"", "not-the-token", metricsToken + "x"} {
		if status, _, body := scrapeMetrics(t, srv.url, bearer); status != http.StatusUnauthorized || strings.Contains(body, "designation_") {
			t.Errorf("/metrics with bearer %q: %d", bearer, status)
		}
	}
	checkSeries(t, "before the meeting", mustScrape(t, srv.url), []seriesWant{
		{name: `designation_meetings_loaded`, value: 0},
		{name: `designation_ops_acked_total`, value: 0},
		{name: `designation_store_append_seconds_count{backend="bolt"}`, value: 0},
		{name: `designation_op_answer_seconds_count{answer="ack"}`, value: 0},
	})

	m := runMeeting(t, srv.url, func(m *plantedMeeting) {
		checkSeries(t, "while live", mustScrape(t, srv.url), []seriesWant{
			{name: `designation_connections{role="facilitator"}`, value: 2},
			{name: `designation_connections{role="projector"}`, value: 1},
			{name: `designation_connections{role="participant"}`, value: 2},
			{name: `designation_connections{role="rapporteur"}`, value: 0},
		})
	})
	after := waitSeries(t, srv.url, "every connection closed", func(s series) bool {
		return s[`designation_connections{role="facilitator"}`] == 0 && s[`designation_connections{role="participant"}`] == 0 &&
			s[`designation_connections{role="projector"}`] == 0
	})
	checkSeries(t, "after the meeting", after, []seriesWant{
		{name: `designation_meetings_loaded`, value: 1},
		// REST ops (creation, import, check-ins, tokens) are acked too.
		{name: `designation_ops_acked_total`, value: float64(m.acks + 1), min: true},
		{name: `designation_ops_refused_total{code="not_allowed"}`, value: float64(m.refusals["not_allowed"])},
		{name: `designation_frames_sent_total`, value: float64(m.acks), min: true},
		{name: `designation_resumes_total{from="history"}`, value: 1},
		{name: `designation_resumes_total{from="snapshot"}`, value: 1},
		{name: `designation_slow_clients_closed_total`, value: 0},
		{name: `designation_op_answer_seconds_count{answer="ack"}`, value: after[`designation_ops_acked_total`]},
		{name: `designation_op_answer_seconds_count{answer="refused"}`, value: float64(m.refusals["not_allowed"]), min: true},
		{name: `designation_store_append_seconds_count{backend="bolt"}`, value: float64(m.acks), min: true},
		{name: `designation_store_append_batch_ops_count{backend="bolt"}`, value: float64(m.acks), min: true},
		{name: `designation_store_append_batch_ops_sum{backend="bolt"}`, value: after[`designation_store_append_batch_ops_count{backend="bolt"}`], min: true},
		{name: `designation_store_errors_total{backend="bolt",op="append"}`, value: 0},
		{name: `go_goroutines`, value: 1, min: true},
	})
	_, _, body := scrapeMetrics(t, srv.url, metricsToken)
	for _, secret := range append(secretsOf(m), m.id) {
		if secret != metricsToken && strings.Contains(body, secret) {
			t.Errorf("/metrics contains %q", secret)
		}
	}
	srv.stop()
}

// TestMetricsOffByDefault: without METRICS_TOKEN there is no /metrics.
func TestMetricsOffByDefault(t *testing.T) {
	srv := startForMeeting(t)
	if status, _, _ := scrapeMetrics(t, srv.url, metricsToken); status != http.StatusNotFound {
		t.Errorf("/metrics without METRICS_TOKEN: %d, want 404", status)
	}
	srv.stop()
}

// TestMetricsCountRedisErrors runs the binary on a real Redis: appends are
// timed under backend="redis"; once Redis is down, a creation is refused
// as unavailable and the failed append is counted as a Redis error.
func TestMetricsCountRedisErrors(t *testing.T) {
	url, redis := testredis.Start(t)
	srv := startForMeeting(t, "METRICS_TOKEN="+metricsToken, "REDIS_URL="+url)
	c := newMeetingClient(t, srv.url)
	create := mustJSON(t, map[string]any{"title": "Boucle"})
	c.expect(http.StatusCreated, "POST", "/api/meetings", "", "application/json", create, nil)
	checkSeries(t, "Redis up", mustScrape(t, srv.url), []seriesWant{
		{name: `designation_store_append_seconds_count{backend="redis"}`, value: 1, min: true},
		{name: `designation_store_errors_total{backend="redis",op="append"}`, value: 0},
	})

	redis.Stop()
	if status, body := c.do("POST", "/api/meetings", "", "application/json", create); status != http.StatusServiceUnavailable {
		t.Fatalf("create with Redis down: %d %s, want 503", status, body)
	}
	checkSeries(t, "Redis down", mustScrape(t, srv.url), []seriesWant{
		{name: `designation_store_errors_total{backend="redis",op="append"}`, value: 1, min: true},
		{name: `designation_ops_refused_total{code="unavailable"}`, value: 1, min: true},
	})
	srv.stop()
}

// TestMetricsOnTheirOwnListener: with METRICS_ADDR, /metrics is served on
// that listener only (behind the token when one is set) and never on the
// public one, which answers 404 for it.
func TestMetricsOnTheirOwnListener(t *testing.T) {
	for _, tc := range []struct {
		name  string
		token string
	}{
		{"no token", ""},
		{"with a token", metricsToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startForMeeting(t, "METRICS_ADDR=127.0.0.1:0", "METRICS_TOKEN="+tc.token)
			if srv.metricsURL == "" {
				t.Fatal(`no "metrics on" line on stdout`)
			}
			private := strings.TrimSuffix(srv.metricsURL, "/metrics")
			for _, bearer := range []string{"", metricsToken} {
				if status, _, _ := scrapeMetrics(t, srv.url, bearer); status != http.StatusNotFound {
					t.Errorf("public /metrics with bearer %q: %d, want 404", bearer, status)
				}
			}
			status, s, _ := scrapeMetrics(t, private, tc.token)
			if status != http.StatusOK {
				t.Fatalf("metrics listener: %d", status)
			}
			if _, ok := s[`designation_meetings_loaded`]; !ok {
				t.Error("metrics listener lacks designation_meetings_loaded")
			}
			if tc.token != "" {
				if status, _, _ := scrapeMetrics(t, private, ""); status != http.StatusUnauthorized {
					t.Errorf("metrics listener without the token: %d, want 401", status)
				}
			}
			resp, err := http.Get(private + "/healthz")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("metrics listener serves /healthz: %d; it must serve /metrics only", resp.StatusCode)
			}
			srv.stop()
		})
	}
}
