package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/boucle/designation/store"
	"github.com/boucle/designation/store/bolt"
)

// scrape fetches the text exposition through the real handler.
func scrape(t *testing.T, h http.Handler, header string) (int, string) {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	req, err := http.NewRequest(http.MethodGet, srv.URL+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	if header != "" {
		req.Header.Set("Authorization", header)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// TestEverySeriesIsThereFromTheStart: a dashboard sees every app metric on
// the first scrape, before anything happened, in the text format.
func TestEverySeriesIsThereFromTheStart(t *testing.T) {
	m := New()
	m.InstrumentLog(nopLog{}, "bolt")
	status, body := scrape(t, m.Handler(), "")
	if status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	for _, want := range []string{
		`designation_connections{role="facilitator"} 0`,
		`designation_connections{role="participant"} 0`,
		`designation_connections{role="projector"} 0`,
		`designation_connections{role="rapporteur"} 0`,
		`designation_meetings_loaded 0`,
		`designation_ops_acked_total 0`,
		`designation_op_answer_seconds_count{answer="ack"} 0`,
		`designation_op_answer_seconds_count{answer="refused"} 0`,
		`designation_op_answer_seconds_bucket{answer="ack",le="0.05"} 0`,
		`designation_frames_sent_total 0`,
		`designation_slow_clients_closed_total 0`,
		`designation_resumes_total{from="history"} 0`,
		`designation_resumes_total{from="snapshot"} 0`,
		`designation_store_append_seconds_count{backend="bolt"} 0`,
		`designation_store_append_batch_ops_count{backend="bolt"} 0`,
		`designation_store_errors_total{backend="bolt",op="append"} 0`,
		`# TYPE designation_store_append_seconds histogram`,
		`go_goroutines `,
		`process_resident_memory_bytes `,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("scrape:\n%s", body)
	}
}

// TestCountersMove: each method moves its own series and only it.
func TestCountersMove(t *testing.T) {
	m := New()
	meetings := 3
	m.CountMeetingsWith(func() int { return meetings })
	m.ConnOpened("facilitator")
	m.ConnOpened("participant")
	m.ConnOpened("participant")
	m.ConnClosed("participant")
	m.OpAcked(3 * time.Millisecond)
	m.OpAcked(40 * time.Millisecond)
	m.OpRefused("conflict", 500*time.Microsecond)
	m.OpRefused("unavailable", 2*time.Second)
	m.OpRefused("unavailable", 20*time.Second)
	m.FrameSent()
	m.SlowClientClosed()
	m.Resumed(true)
	m.Resumed(false)
	m.Resumed(false)

	tests := []struct {
		name string
		got  float64
		want float64
	}{
		{"meetings", gaugeValue(t, m, "designation_meetings_loaded"), 3},
		{"facilitators", value(t, m.connections.WithLabelValues("facilitator")), 1},
		{"participants", value(t, m.connections.WithLabelValues("participant")), 1},
		{"projectors", value(t, m.connections.WithLabelValues("projector")), 0},
		{"acked", value(t, m.opsAcked), 2},
		{"refused conflict", value(t, m.opsRefused.WithLabelValues("conflict")), 1},
		{"refused unavailable", value(t, m.opsRefused.WithLabelValues("unavailable")), 2},
		{"frames", value(t, m.framesSent), 1},
		{"slow", value(t, m.slowClosed), 1},
		{"resumes history", value(t, m.resumes.WithLabelValues("history")), 1},
		{"resumes snapshot", value(t, m.resumes.WithLabelValues("snapshot")), 2},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
	type answers struct {
		count    uint64
		sum      float64
		le       map[float64]uint64 // cumulative, at some bounds
		overflow bool               // an answer slower than the last bound
	}
	for label, want := range map[string]answers{
		"ack":     {count: 2, sum: 0.043, le: map[float64]uint64{0.002: 0, 0.005: 1, 0.03: 1, 0.05: 2, 10: 2}},
		"refused": {count: 3, sum: 22.0005, le: map[float64]uint64{0.001: 1, 1: 1, 2.5: 2, 10: 2}, overflow: true},
	} {
		count, sum, le := histogram(t, m.answerSeconds.WithLabelValues(label).(prometheus.Histogram))
		if count != want.count || math.Abs(sum-want.sum) > 1e-9 {
			t.Errorf("answer %s: count %d sum %v, want %d and %v", label, count, sum, want.count, want.sum)
		}
		for bound, n := range want.le {
			if le[bound] != n {
				t.Errorf("answer %s: %d at or under %vs, want %d", label, le[bound], bound, n)
			}
		}
		if got := le[10] < count; got != want.overflow {
			t.Errorf("answer %s: slower than the last bound %v, want %v", label, got, want.overflow)
		}
	}
	meetings = 5
	if got := gaugeValue(t, m, "designation_meetings_loaded"); got != 5 {
		t.Errorf("meetings after change = %v, want 5 (read at scrape time)", got)
	}
}

// TestLabelsStayBounded: a label value from a caller that is not a short
// lowercase code cannot create a series of its own (no text leaks into the
// metrics, no unbounded cardinality).
func TestLabelsStayBounded(t *testing.T) {
	m := New()
	for _, code := range []string{"", "Jean Dupont", "jean@example.org", "+33 6 12 34 56 78",
		strings.Repeat("a", 40), "conflict\n# HELP x", "unavailable"} {
		m.OpRefused(code, time.Millisecond)
	}
	m.ConnOpened("Marie Curie")
	_, body := scrape(t, m.Handler(), "")
	for _, leak := range []string{"Jean", "example.org", "+33", "Marie", "HELP x", strings.Repeat("a", 40)} {
		if strings.Contains(body, leak) {
			t.Errorf("scrape contains %q", leak)
		}
	}
	if got := value(t, m.opsRefused.WithLabelValues("other")); got != 6 {
		t.Errorf(`refused{code="other"} = %v, want 6`, got)
	}
	if got := value(t, m.connections.WithLabelValues("other")); got != 1 {
		t.Errorf(`connections{role="other"} = %v, want 1`, got)
	}
}

// TestRequireBearer: /metrics behind a token answers only the right token.
func TestRequireBearer(t *testing.T) {
	m := New()
	m.OpAcked(time.Millisecond)
	tests := []struct {
		name, token, header string
		want                int
	}{
		{"right token", "s3cret-token", "Bearer s3cret-token", http.StatusOK},
		{"scheme case-insensitive", "s3cret-token", "bearer s3cret-token", http.StatusOK},
		{"no header", "s3cret-token", "", http.StatusUnauthorized},
		{"wrong token", "s3cret-token", "Bearer s3cret-tokeN", http.StatusUnauthorized},
		{"prefix of token", "s3cret-token", "Bearer s3cret", http.StatusUnauthorized},
		{"basic scheme", "s3cret-token", "Basic s3cret-token", http.StatusUnauthorized},
		{"empty bearer", "s3cret-token", "Bearer ", http.StatusUnauthorized},
		{"empty configured token refuses all", "", "Bearer ", http.StatusUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := scrape(t, RequireBearer(tc.token, m.Handler()), tc.header)
			if status != tc.want {
				t.Fatalf("status %d, want %d", status, tc.want)
			}
			if status == http.StatusOK && !strings.Contains(body, "designation_ops_acked_total 1") {
				t.Errorf("body lacks the metrics:\n%s", body)
			}
			if status != http.StatusOK && strings.Contains(body, "designation_") {
				t.Errorf("refused request got metrics:\n%s", body)
			}
		})
	}
}

// TestSeparateRegistries: two Metrics never share a counter (no global
// registry), so tests and several servers in one process stay apart.
func TestSeparateRegistries(t *testing.T) {
	a, b := New(), New()
	a.OpAcked(time.Millisecond)
	if got := value(t, b.opsAcked); got != 0 {
		t.Fatalf("second registry sees %v acks", got)
	}
}

// TestInstrumentedBoltLog: appends to a real bbolt file are timed and sized,
// reads pass through, and the caller's own errors are not counted as store
// failures.
func TestInstrumentedBoltLog(t *testing.T) {
	raw, err := bolt.Open(filepath.Join(t.TempDir(), "designation.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := New()
	l := m.InstrumentLog(raw, "bolt")
	defer l.Close()
	if _, ok := l.(store.Notifier); ok {
		t.Error("bolt log wrapped as a Notifier")
	}
	ctx := context.Background()
	for i, n := range []int{1, 3, 5} {
		entries := make([]store.Entry, n)
		for j := range entries {
			entries[j] = store.Entry{ID: fmt.Sprintf("op-%d-%d", i, j), Data: []byte(`{}`)}
		}
		got, err := l.Append(ctx, "m1", entries)
		if err != nil || len(got) != n {
			t.Fatalf("append %d: %v (%d results)", n, err, len(got))
		}
	}
	var count int
	if err := l.Read(ctx, "m1", 0, func(store.Record) error { count++; return nil }); err != nil || count != 9 {
		t.Fatalf("read: %v, %d records", err, count)
	}
	if _, ok := l.(store.Trimmer); !ok {
		t.Error("Trimmer lost by the wrapper")
	}
	lk, ok := l.(store.IDLookup)
	if !ok {
		t.Fatal("IDLookup lost by the wrapper")
	}
	if seq, found, err := lk.Lookup(ctx, "m1", "op-1-2"); err != nil || !found || seq != 4 {
		t.Fatalf("Lookup(op-1-2) = %d %v %v, want 4 true", seq, found, err)
	}
	if _, found, err := lk.Lookup(ctx, "m1", "unknown"); err != nil || found {
		t.Fatalf("Lookup(unknown) = %v %v, want not found", found, err)
	}
	stop := errors.New("caller stops")
	if err := l.Read(ctx, "m1", 0, func(store.Record) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("read with a failing callback: %v", err)
	}
	if _, err := l.Append(ctx, "bad id!", []store.Entry{{ID: "x", Data: []byte(`{}`)}}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("append with a bad id: %v", err)
	}

	count3 := histogramCount(t, m, "designation_store_append_batch_ops")
	if count3.count != 3 || count3.sum != 9 {
		t.Errorf("batch histogram: count %d sum %v, want 3 and 9", count3.count, count3.sum)
	}
	if lat := histogramCount(t, m, "designation_store_append_seconds"); lat.count != 3 || lat.sum <= 0 {
		t.Errorf("latency histogram: count %d sum %v, want 3 and > 0", lat.count, lat.sum)
	}
	for _, op := range []string{"append", "read", "lookup"} {
		if got := value(t, m.storeErrors.WithLabelValues("bolt", op)); got != 0 {
			t.Errorf("errors{op=%q} = %v: the caller's errors were counted", op, got)
		}
	}
}

// TestInstrumentedLogCountsFailures: a store that fails (Redis down) is
// counted per operation; the optional interfaces survive the wrapping.
func TestInstrumentedLogCountsFailures(t *testing.T) {
	down := fmt.Errorf("redis: append: %w: connection refused", store.ErrUnavailable)
	m := New()
	l := m.InstrumentLog(&failingSharedLog{err: down}, "redis")
	n, ok := l.(store.Notifier)
	if !ok {
		t.Fatal("Notifier lost by the wrapper")
	}
	tr, ok := l.(store.Trimmer)
	if !ok {
		t.Fatal("Trimmer lost by the wrapper")
	}
	ctx := context.Background()
	if _, err := l.Append(ctx, "m1", []store.Entry{{ID: "a", Data: []byte(`{}`)}}); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("append: %v", err)
	}
	_, _ = l.Append(ctx, "m1", []store.Entry{{ID: "b", Data: []byte(`{}`)}})
	_ = l.Read(ctx, "m1", 0, func(store.Record) error { return nil })
	_ = l.Ping(ctx)
	_ = n.Subscribe(ctx, func(string, uint64) {})
	_ = tr.Trim(ctx, "m1")
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	l.(*sharedLog).inner.(*failingSharedLog).err = context.Canceled
	_, _ = l.Append(cancelled, "m1", nil) // a caller that gave up is not a store failure

	for op, want := range map[string]float64{"append": 2, "read": 1, "ping": 1, "subscribe": 1, "trim": 1, "last": 0} {
		if got := value(t, m.storeErrors.WithLabelValues("redis", op)); got != want {
			t.Errorf("errors{op=%q} = %v, want %v", op, got, want)
		}
	}
	if c := histogramCount(t, m, "designation_store_append_seconds"); c.count != 0 {
		t.Errorf("failed appends observed in the latency histogram: %d", c.count)
	}
}

// TestConcurrentUse: the methods are safe from many goroutines (-race).
func TestConcurrentUse(t *testing.T) {
	m := New()
	m.CountMeetingsWith(func() int { return 1 })
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				m.ConnOpened("participant")
				m.OpAcked(time.Millisecond)
				m.FrameSent()
				m.ConnClosed("participant")
			}
		}()
	}
	for range 5 {
		scrape(t, m.Handler(), "")
	}
	wg.Wait()
	if got := value(t, m.opsAcked); got != 1600 {
		t.Errorf("acked = %v, want 1600", got)
	}
	if got := value(t, m.connections.WithLabelValues("participant")); got != 0 {
		t.Errorf("participants = %v, want 0", got)
	}
}

// failingRedisLog is a shared log that also looks ids up, like store/redis,
// and fails every call.
type failingRedisLog struct{ failingSharedLog }

func (l *failingRedisLog) Lookup(context.Context, string, string) (uint64, bool, error) {
	return 0, false, l.err
}

// TestInstrumentedLogKeepsIDLookup: a log with all three optional interfaces
// keeps them all, and a failed lookup is counted.
func TestInstrumentedLogKeepsIDLookup(t *testing.T) {
	m := New()
	l := m.InstrumentLog(&failingRedisLog{failingSharedLog{err: fmt.Errorf("redis: lookup: %w", store.ErrUnavailable)}}, "redis")
	_, notifies := l.(store.Notifier)
	_, trims := l.(store.Trimmer)
	lk, looksUp := l.(store.IDLookup)
	if !notifies || !trims || !looksUp {
		t.Fatalf("wrapper kept Notifier %v, Trimmer %v, IDLookup %v; want all", notifies, trims, looksUp)
	}
	if _, _, err := lk.Lookup(context.Background(), "m1", "a"); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Lookup: %v", err)
	}
	if got := value(t, m.storeErrors.WithLabelValues("redis", "lookup")); got != 1 {
		t.Errorf("errors{op=lookup} = %v, want 1", got)
	}
}
