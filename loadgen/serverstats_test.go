package main

import (
	"context"
	"io"
	"math"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/boucle/designation/metrics"
	"github.com/boucle/designation/store"
	"github.com/boucle/designation/store/bolt"
)

// TestBucketQuantiles: quantiles are estimated within buckets as
// Prometheus's histogram_quantile does, after the counts read at the start
// are taken away.
func TestBucketQuantiles(t *testing.T) {
	start := buckets{le: []float64{0.01, 0.05, math.Inf(1)}, count: []uint64{5, 5, 5}}
	end := buckets{le: start.le, count: []uint64{15, 95, 105}}
	b := end.since(start) // 10 at or under 10 ms, 80 in (10, 50], 10 above
	if b.total() != 100 {
		t.Fatalf("total %d, want 100", b.total())
	}
	for _, tc := range []struct {
		q    float64
		want float64 // ms
	}{
		{0.05, 5},  // half-way through the first bucket, from 0
		{0.5, 30},  // rank 50: 40 of the 80 in (10, 50]
		{0.9, 50},  // the top of (10, 50]
		{0.99, 50}, // in +Inf: the highest finite bound
	} {
		if got := b.quantileMs(tc.q); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("q%.2f = %v ms, want %v", tc.q, got, tc.want)
		}
	}
	if got := end.since(end).quantileMs(0.99); !math.IsNaN(got) {
		t.Errorf("quantile of nothing = %v, want NaN", got)
	}
}

// TestScrapeServerTimes reads the histograms from the exposition of our
// metrics package, as our server serves it: acks only (refusals are timed
// apart), and the appends of a real bbolt log.
func TestScrapeServerTimes(t *testing.T) {
	m := metrics.New()
	base, err := bolt.Open(filepath.Join(t.TempDir(), "d.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer base.Close()
	log := m.InstrumentLog(base, "bolt")
	const token = "scrape-token"
	srv := httptest.NewServer(metrics.RequireBearer(token, m.Handler()))
	defer srv.Close()
	ctx := context.Background()

	before, err := scrapeServerTimes(ctx, srv.URL, token)
	if err != nil {
		t.Fatal(err)
	}
	m.OpAcked(time.Second) // before the window: not counted
	before, err = scrapeServerTimes(ctx, srv.URL, token)
	if err != nil {
		t.Fatal(err)
	}
	for range 99 {
		m.OpAcked(3 * time.Millisecond) // in (2, 5] ms
	}
	m.OpAcked(400 * time.Millisecond)
	m.OpRefused("conflict", 5*time.Second) // refusals are not acks
	for i := range 3 {
		if _, err := log.Append(ctx, "m1", []store.Entry{{ID: string(rune('a' + i)), Data: []byte(`{}`)}}); err != nil {
			t.Fatal(err)
		}
	}
	after, err := scrapeServerTimes(ctx, srv.URL, token)
	if err != nil {
		t.Fatal(err)
	}
	got := after.since(before)
	if got.Acks != 100 || got.Appends != 3 {
		t.Fatalf("%d acks and %d appends, want 100 and 3", got.Acks, got.Appends)
	}
	if got.AnswerP50ms <= 2 || got.AnswerP50ms > 5 || got.AnswerP99ms <= 2 || got.AnswerP99ms > 5 {
		t.Errorf("ack p50 %v ms, p99 %v ms: want both in (2, 5]", got.AnswerP50ms, got.AnswerP99ms)
	}
	if got.AppendP99ms <= 0 {
		t.Errorf("append p99 %v ms", got.AppendP99ms)
	}

	if _, err := scrapeServerTimes(ctx, srv.URL, "wrong"); err == nil {
		t.Error("scraped with the wrong token")
	}
	bare := httptest.NewServer(metrics.RequireBearer(token, metrics.New().Handler()))
	defer bare.Close()
	if _, err := scrapeServerTimes(ctx, bare.URL, token); err == nil {
		t.Error("a server without a store's histogram gave times")
	}
}

// TestURLTargetMetricsToken: a server of ours already running (-target url)
// is read with -url-metrics-token, or else METRICS_TOKEN from the
// environment, as the server itself takes it.
func TestURLTargetMetricsToken(t *testing.T) {
	ctx := context.Background()
	t.Setenv("METRICS_TOKEN", "from-env")
	for _, tc := range []struct{ flag, want string }{{"", "from-env"}, {"from-flag", "from-flag"}} {
		tg, err := startTarget(ctx, targetURL, &config{url: "http://127.0.0.1:8080/", urlMetricsToken: tc.flag}, t.TempDir(), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if tg.metricsToken != tc.want || tg.baseURL != "http://127.0.0.1:8080" {
			t.Errorf("flag %q: token %q at %s, want %q", tc.flag, tg.metricsToken, tg.baseURL, tc.want)
		}
	}
}
