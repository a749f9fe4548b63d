package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"maps"
	"math"
	"net/http"
	"slices"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Our server times, in its /metrics, each op from the moment it has it to
// its answer queued (designation_op_answer_seconds) and each durable append
// (designation_store_append_seconds). Read at the start and at the end of
// the measured phase, they tell how much of the latency the generator sees
// is spent inside the server's op path, and how much around it: writing the
// answer out, the network stack, the generator's own scheduling on a
// machine both share.
const (
	metricAnswer = "designation_op_answer_seconds"
	metricAppend = "designation_store_append_seconds"
)

// newMetricsToken is the bearer token the generator starts our server with,
// to read its /metrics on the public listener.
func newMetricsToken() string { return rand.Text() }

// buckets is a Prometheus histogram: cumulative counts by upper bound, in
// increasing order, the last one +Inf.
type buckets struct {
	le    []float64 // seconds
	count []uint64
}

// serverTimes is what the generator reads of our server's metrics.
type serverTimes struct {
	answer buckets // acks only: designation_op_answer_seconds{answer="ack"}
	append buckets // every backend's appends, summed
}

// scrapeServerTimes reads the two histograms from the target's /metrics.
func scrapeServerTimes(ctx context.Context, baseURL, token string) (serverTimes, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/metrics", nil)
	if err != nil {
		return serverTimes{}, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return serverTimes{}, fmt.Errorf("scrape /metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return serverTimes{}, fmt.Errorf("scrape /metrics: %s", resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return serverTimes{}, fmt.Errorf("parse /metrics: %w", err)
	}
	var st serverTimes
	st.answer, err = histogramOf(families, metricAnswer, "answer", "ack")
	if err != nil {
		return serverTimes{}, err
	}
	st.append, err = histogramOf(families, metricAppend, "", "")
	if err != nil {
		return serverTimes{}, err
	}
	return st, nil
}

// histogramOf sums the series of histogram name whose label has value
// (every series when label is empty).
func histogramOf(families map[string]*dto.MetricFamily, name, label, value string) (buckets, error) {
	f := families[name]
	if f == nil || f.GetType() != dto.MetricType_HISTOGRAM {
		return buckets{}, fmt.Errorf("/metrics has no histogram %s (a server older than this generator?)", name)
	}
	sum := map[float64]uint64{}
	var total uint64
	for _, m := range f.GetMetric() {
		if label != "" && !hasLabel(m, label, value) {
			continue
		}
		h := m.GetHistogram()
		for _, b := range h.GetBucket() {
			if !math.IsInf(b.GetUpperBound(), 1) { // the parser may keep it as a bucket
				sum[b.GetUpperBound()] += b.GetCumulativeCount()
			}
		}
		total += h.GetSampleCount()
	}
	sum[math.Inf(1)] = total
	out := buckets{le: slices.Sorted(maps.Keys(sum))}
	for _, le := range out.le {
		out.count = append(out.count, sum[le])
	}
	return out, nil
}

func hasLabel(m *dto.Metric, name, value string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue() == value
		}
	}
	return false
}

// since is what b counted after earlier (the same histogram, read before).
func (b buckets) since(earlier buckets) buckets {
	out := buckets{le: b.le, count: make([]uint64, len(b.count))}
	for i, le := range b.le {
		out.count[i] = b.count[i]
		for j, e := range earlier.le {
			if e == le {
				out.count[i] -= min(out.count[i], earlier.count[j])
			}
		}
	}
	return out
}

// total is how many observations b holds.
func (b buckets) total() uint64 {
	if len(b.count) == 0 {
		return 0
	}
	return b.count[len(b.count)-1]
}

// quantileMs estimates the q-quantile, in milliseconds, as Prometheus's
// histogram_quantile does: linearly within the bucket it falls in (from 0
// in the first); in the +Inf bucket, the highest finite bound. NaN when b
// is empty.
func (b buckets) quantileMs(q float64) float64 {
	n := b.total()
	if n == 0 {
		return math.NaN()
	}
	rank := q * float64(n)
	for i, c := range b.count {
		if float64(c) < rank {
			continue
		}
		if math.IsInf(b.le[i], 1) {
			if i == 0 {
				return math.NaN()
			}
			return b.le[i-1] * 1000
		}
		lo, below := 0.0, uint64(0)
		if i > 0 {
			lo, below = b.le[i-1], b.count[i-1]
		}
		in := c - below
		if in == 0 {
			return b.le[i] * 1000
		}
		return (lo + (b.le[i]-lo)*(rank-float64(below))/float64(in)) * 1000
	}
	return math.NaN()
}

// ServerTimes is the server's own account of the measured phase, from its
// metrics (our server only): how long it took to answer the ops it acked
// (from each op read off its WebSocket to its ack queued), and to make its
// batches durable. Quantiles are estimated within the server's histogram
// buckets, as Prometheus would.
type ServerTimes struct {
	Acks        uint64  `json:"acks"`
	AnswerP50ms float64 `json:"answerP50Ms"`
	AnswerP99ms float64 `json:"answerP99Ms"`
	Appends     uint64  `json:"appends"`
	AppendP50ms float64 `json:"appendP50Ms"`
	AppendP99ms float64 `json:"appendP99Ms"`
}

// since is what the server counted between earlier and st.
func (st serverTimes) since(earlier serverTimes) *ServerTimes {
	answer, appends := st.answer.since(earlier.answer), st.append.since(earlier.append)
	// JSON has no NaN: an empty histogram's quantiles are 0, with a count
	// of 0 that says so.
	q := func(b buckets, q float64) float64 {
		if v := b.quantileMs(q); !math.IsNaN(v) {
			return v
		}
		return 0
	}
	return &ServerTimes{
		Acks: answer.total(), AnswerP50ms: q(answer, 0.5), AnswerP99ms: q(answer, 0.99),
		Appends: appends.total(), AppendP50ms: q(appends, 0.5), AppendP99ms: q(appends, 0.99),
	}
}
