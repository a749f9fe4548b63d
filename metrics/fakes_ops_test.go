package metrics

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/boucle/designation/store"
)

// value reads the one counter or gauge that c collects.
func value(t *testing.T, c prometheus.Collector) float64 {
	t.Helper()
	out := collectOne(t, c)
	if out.Counter != nil {
		return out.Counter.GetValue()
	}
	return out.Gauge.GetValue()
}

// histogram reads the one histogram that c collects: its count, its sum and
// its cumulative count by upper bound.
func histogram(t *testing.T, c prometheus.Collector) (count uint64, sum float64, le map[float64]uint64) {
	t.Helper()
	h := collectOne(t, c).GetHistogram()
	if h == nil {
		t.Fatal("not a histogram")
	}
	le = map[float64]uint64{}
	for _, b := range h.GetBucket() {
		le[b.GetUpperBound()] = b.GetCumulativeCount()
	}
	return h.GetSampleCount(), h.GetSampleSum(), le
}

// collectOne collects the one metric that c holds.
func collectOne(t *testing.T, c prometheus.Collector) *dto.Metric {
	t.Helper()
	ch := make(chan prometheus.Metric, 1)
	go func() { c.Collect(ch); close(ch) }()
	var out dto.Metric
	n := 0
	for metric := range ch {
		n++
		if err := metric.Write(&out); err != nil {
			t.Fatal(err)
		}
	}
	if n != 1 {
		t.Fatalf("collector gave %d metrics, want 1", n)
	}
	return &out
}

// gaugeValue reads a gathered gauge without labels (a GaugeFunc registered
// in New has no handle of its own).
func gaugeValue(t *testing.T, m *Metrics, name string) float64 {
	t.Helper()
	families, err := m.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name && len(f.GetMetric()) == 1 {
			return f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no gauge %s", name)
	return 0
}

// histogramTotals are a histogram's sample count and sum.
type histogramTotals struct {
	count uint64
	sum   float64
}

// histogramCount reads a gathered histogram (summed over its labels).
func histogramCount(t *testing.T, m *Metrics, name string) histogramTotals {
	t.Helper()
	families, err := m.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out histogramTotals
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, metric := range f.GetMetric() {
			out.count += metric.GetHistogram().GetSampleCount()
			out.sum += metric.GetHistogram().GetSampleSum()
		}
		return out
	}
	t.Fatalf("no histogram %s", name)
	return out
}

// nopLog is an empty store.Log with neither optional interface.
type nopLog struct{}

func (nopLog) Append(context.Context, string, []store.Entry) ([]store.Appended, error) {
	return nil, nil
}
func (nopLog) Read(context.Context, string, uint64, func(store.Record) error) error { return nil }
func (nopLog) Last(context.Context, string) (uint64, error)                         { return 0, nil }
func (nopLog) Meetings(context.Context) ([]string, error)                           { return nil, nil }
func (nopLog) SaveSnapshot(context.Context, string, uint64, []byte) error           { return nil }
func (nopLog) Snapshot(context.Context, string) (uint64, []byte, bool, error) {
	return 0, nil, false, nil
}
func (nopLog) Purge(context.Context, string) error { return nil }
func (nopLog) Ping(context.Context) error          { return nil }
func (nopLog) Close() error                        { return nil }

// failingSharedLog is a shared log (Notifier and Trimmer, like store/redis)
// whose every call fails with err, as when Redis is down.
type failingSharedLog struct {
	nopLog
	err error
}

func (l *failingSharedLog) Append(context.Context, string, []store.Entry) ([]store.Appended, error) {
	return nil, l.err
}
func (l *failingSharedLog) Read(context.Context, string, uint64, func(store.Record) error) error {
	return l.err
}
func (l *failingSharedLog) Ping(context.Context) error { return l.err }
func (l *failingSharedLog) Subscribe(context.Context, func(string, uint64)) error {
	return l.err
}
func (l *failingSharedLog) Trim(context.Context, string) error { return l.err }
