// Package metrics exposes the server's operational counters in the
// Prometheus text format: live connections by audience, meetings loaded, ops
// acknowledged and refused and the time taken to answer them, frames fanned
// out, slow clients closed, resumes served from the in-memory history or
// from a snapshot, store append latency and batch size, and store (Redis)
// errors.
//
// Everything lives in the registry of one *Metrics (no global registry), so
// tests and several servers in one process never share counters. The hub
// reports through the small interface it defines (hub.Observer); the server
// reports connections and wraps the op log with InstrumentLog. No label ever
// carries a meeting id, a name or a token: label values are fixed sets (roles,
// refusal codes, backends, store operations), so the series stay few.
package metrics

import (
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// namespace starts every metric name.
const namespace = "designation"

// Metrics holds the collectors of one server. Its methods are safe for
// concurrent use; a nil *Metrics is not valid (use the hub's no-op default
// instead of a nil observer).
type Metrics struct {
	registry *prometheus.Registry

	connections    *prometheus.GaugeVec
	opsAcked       prometheus.Counter
	opsRefused     *prometheus.CounterVec
	answerSeconds  *prometheus.HistogramVec
	ackSeconds     prometheus.Observer // answerSeconds of acks and refusals, looked up once
	refusedSeconds prometheus.Observer
	framesSent     prometheus.Counter
	slowClosed     prometheus.Counter
	resumes        *prometheus.CounterVec
	appendSeconds  *prometheus.HistogramVec
	appendBatch    *prometheus.HistogramVec
	storeErrors    *prometheus.CounterVec
	meetingsMu     sync.Mutex
	meetingsLoaded func() int
}

// Label values of designation_op_answer_seconds.
const (
	answerAck     = "ack"
	answerRefused = "refused"
)

// Label values of designation_resumes_total.
const (
	resumeHistory  = "history"
	resumeSnapshot = "snapshot"
)

// knownRoles are the connection roles, created at zero so a dashboard sees
// every series from the first scrape.
var knownRoles = []string{"facilitator", "rapporteur", "participant", "projector"}

// New returns a Metrics with its own registry holding the app's collectors
// plus the Go runtime and process collectors.
func New() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		connections: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace,
			Name:      "connections",
			Help:      "Open WebSocket connections, by audience (the role they were welcomed with: facilitator, rapporteur, participant, projector).",
		}, []string{"role"}),
		opsAcked: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "ops_acked_total",
			Help:      "Ops answered with an acknowledgement (WebSocket and REST), re-sent duplicates included.",
		}),
		opsRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "ops_refused_total",
			Help:      "Ops answered with a refusal, by refusal code (unavailable: not made durable, the client sends it again).",
		}, []string{"code"}),
		framesSent: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "frames_sent_total",
			Help:      "Frames written to WebSocket connections (fan-out of changes, acks, refusals, presence, catch-up).",
		}),
		slowClosed: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "slow_clients_closed_total",
			Help:      "Connections closed because the client did not read fast enough (close code 4008; the client resumes).",
		}),
		resumes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "resumes_total",
			Help:      "Reconnections with a lastSeq, by what caught them up: the in-memory history of changes, or a full snapshot.",
		}, []string{"from"}),
		answerSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace,
			Name:      "op_answer_seconds",
			Help:      "Time from an op reaching the server (read off its WebSocket, or received over HTTP) to its answer being queued for the client, by answer (ack or refused): the wait for its meeting, the checking, the durable append and the fan-out of its changes.",
			// Finer around the 50 ms that edits aim at (README, Performance).
			Buckets: []float64{.001, .002, .005, .01, .02, .03, .05, .075, .1, .2, .5, 1, 2.5, 5, 10},
		}, []string{"answer"}),
		appendSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace,
			Name:      "store_append_seconds",
			Help:      "Time to make one batch of ops durable in the op log (fsync or Redis AOF), by backend.",
			Buckets:   []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"backend"}),
		appendBatch: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace,
			Name:      "store_append_batch_ops",
			Help:      "Ops per append to the op log (one meeting's batch), by backend.",
			Buckets:   []float64{1, 2, 4, 8, 16, 32, 64, 128},
		}, []string{"backend"}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "store_errors_total",
			Help:      "Failed calls to the op log (Redis or disk unreachable or failing), by backend and operation.",
		}, []string{"backend", "op"}),
	}
	meetings := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: namespace,
		Name:      "meetings_loaded",
		Help:      "Meetings held in memory by this instance.",
	}, m.meetingsNow)
	m.registry.MustRegister(
		m.connections, m.opsAcked, m.opsRefused, m.answerSeconds, m.framesSent, m.slowClosed,
		m.resumes, m.appendSeconds, m.appendBatch, m.storeErrors, meetings,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	for _, role := range knownRoles {
		m.connections.WithLabelValues(role)
	}
	m.ackSeconds = m.answerSeconds.WithLabelValues(answerAck)
	m.refusedSeconds = m.answerSeconds.WithLabelValues(answerRefused)
	m.resumes.WithLabelValues(resumeHistory)
	m.resumes.WithLabelValues(resumeSnapshot)
	return m
}

// Handler serves the registry in the Prometheus text format. A collector
// that fails is reported in the response, not as a failed scrape.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{
		ErrorHandling:     promhttp.ContinueOnError,
		Registry:          m.registry, // promhttp_metric_handler_errors_total
		EnableOpenMetrics: false,
	})
}

// Gatherer is the registry, for tests that read values without HTTP.
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.registry }

// CountMeetingsWith sets the function designation_meetings_loaded reads at
// each scrape (the hub's Meetings). Until it is called the gauge is 0.
func (m *Metrics) CountMeetingsWith(count func() int) {
	m.meetingsMu.Lock()
	defer m.meetingsMu.Unlock()
	m.meetingsLoaded = count
}

func (m *Metrics) meetingsNow() float64 {
	m.meetingsMu.Lock()
	count := m.meetingsLoaded
	m.meetingsMu.Unlock()
	if count == nil {
		return 0
	}
	return float64(count())
}

// ConnOpened counts a WebSocket welcomed with role.
func (m *Metrics) ConnOpened(role string) {
	m.connections.WithLabelValues(boundLabel(role)).Inc()
}

// ConnClosed uncounts a WebSocket of role that ConnOpened counted.
func (m *Metrics) ConnClosed(role string) {
	m.connections.WithLabelValues(boundLabel(role)).Dec()
}

// SlowClientClosed counts a connection closed as too slow.
func (m *Metrics) SlowClientClosed() { m.slowClosed.Inc() }

// OpAcked counts an op answered with an ack, took after it reached the
// server.
func (m *Metrics) OpAcked(took time.Duration) {
	m.opsAcked.Inc()
	m.ackSeconds.Observe(took.Seconds())
}

// OpRefused counts an op answered with a refusal of code, took after it
// reached the server.
func (m *Metrics) OpRefused(code string, took time.Duration) {
	m.opsRefused.WithLabelValues(boundLabel(code)).Inc()
	m.refusedSeconds.Observe(took.Seconds())
}

// FrameSent counts one frame written to a WebSocket.
func (m *Metrics) FrameSent() { m.framesSent.Inc() }

// Resumed counts a reconnection with a lastSeq: fromHistory when the
// in-memory history (or nothing at all: already up to date) caught it up,
// false when it needed a snapshot.
func (m *Metrics) Resumed(fromHistory bool) {
	if fromHistory {
		m.resumes.WithLabelValues(resumeHistory).Inc()
		return
	}
	m.resumes.WithLabelValues(resumeSnapshot).Inc()
}

// maxLabelLen bounds a label value taken from a caller.
const maxLabelLen = 32

// boundLabel keeps label values to a small fixed alphabet and length, so a
// bug upstream can neither create unbounded series nor leak text into the
// metrics: anything else becomes "other".
func boundLabel(v string) string {
	if v == "" || len(v) > maxLabelLen {
		return "other"
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return "other"
		}
	}
	return v
}
