package metrics

import (
	"context"
	"errors"
	"time"

	"github.com/boucle/designation/store"
)

// InstrumentLog wraps an op log so that every Append is timed and sized
// (designation_store_append_seconds, designation_store_append_batch_ops) and
// every failed call is counted (designation_store_errors_total), labelled
// with backend ("bolt" or "redis"). The wrapper keeps the optional
// interfaces of l (store.Notifier, store.Trimmer), which the hub relies on to
// run several instances on one Redis, and store.IDLookup, which it uses to
// ack a re-sent op whose id was trimmed from the log it replayed.
func (m *Metrics) InstrumentLog(l store.Log, backend string) store.Log {
	backend = boundLabel(backend)
	base := &instrumentedLog{
		inner:   l,
		m:       m,
		backend: backend,
		seconds: m.appendSeconds.WithLabelValues(backend),
		batch:   m.appendBatch.WithLabelValues(backend),
	}
	for _, op := range []string{"append", "read", "last", "meetings", "save_snapshot", "snapshot", "purge", "ping", "subscribe", "trim", "lookup"} {
		m.storeErrors.WithLabelValues(backend, op) // every series from the first scrape
	}
	n, notifies := l.(store.Notifier)
	t, trims := l.(store.Trimmer)
	f, looksUp := l.(store.IDLookup)
	finder := idFinder{log: base, finder: f}
	switch {
	case notifies && trims && looksUp:
		return &sharedFindingLog{sharedLog: &sharedLog{instrumentedLog: base, notifier: n, trimmer: t}, idFinder: finder}
	case notifies && trims:
		return &sharedLog{instrumentedLog: base, notifier: n, trimmer: t}
	case notifies && looksUp:
		return &notifyingFindingLog{notifyingLog: &notifyingLog{instrumentedLog: base, notifier: n}, idFinder: finder}
	case notifies:
		return &notifyingLog{instrumentedLog: base, notifier: n}
	case trims && looksUp:
		return &trimmingFindingLog{trimmingLog: &trimmingLog{instrumentedLog: base, trimmer: t}, idFinder: finder}
	case trims:
		return &trimmingLog{instrumentedLog: base, trimmer: t}
	case looksUp:
		return &findingLog{instrumentedLog: base, idFinder: finder}
	}
	return base
}

// instrumentedLog is a store.Log that reports to Metrics.
type instrumentedLog struct {
	inner   store.Log
	m       *Metrics
	backend string
	seconds interface{ Observe(float64) }
	batch   interface{ Observe(float64) }
}

// failed counts err when it is a failure of the store: not a cancelled
// caller, not the caller's own bad argument, not a trimmed read (a normal
// condition the hub handles).
func (l *instrumentedLog) failed(op string, err error) {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, store.ErrInvalid) || errors.Is(err, store.ErrTrimmed) {
		return
	}
	l.m.storeErrors.WithLabelValues(l.backend, op).Inc()
}

func (l *instrumentedLog) Append(ctx context.Context, meeting string, entries []store.Entry) ([]store.Appended, error) {
	start := time.Now()
	out, err := l.inner.Append(ctx, meeting, entries)
	if err == nil {
		l.seconds.Observe(time.Since(start).Seconds())
		l.batch.Observe(float64(len(entries)))
	}
	l.failed("append", err)
	return out, err
}

func (l *instrumentedLog) Read(ctx context.Context, meeting string, after uint64, fn func(store.Record) error) error {
	var fnErr error
	err := l.inner.Read(ctx, meeting, after, func(r store.Record) error {
		fnErr = fn(r)
		return fnErr
	})
	if err != nil && (fnErr == nil || !errors.Is(err, fnErr)) {
		l.failed("read", err) // the caller's own error is not the store's
	}
	return err
}

func (l *instrumentedLog) Last(ctx context.Context, meeting string) (uint64, error) {
	seq, err := l.inner.Last(ctx, meeting)
	l.failed("last", err)
	return seq, err
}

func (l *instrumentedLog) Meetings(ctx context.Context) ([]string, error) {
	ids, err := l.inner.Meetings(ctx)
	l.failed("meetings", err)
	return ids, err
}

func (l *instrumentedLog) SaveSnapshot(ctx context.Context, meeting string, seq uint64, data []byte) error {
	err := l.inner.SaveSnapshot(ctx, meeting, seq, data)
	l.failed("save_snapshot", err)
	return err
}

func (l *instrumentedLog) Snapshot(ctx context.Context, meeting string) (uint64, []byte, bool, error) {
	seq, data, ok, err := l.inner.Snapshot(ctx, meeting)
	l.failed("snapshot", err)
	return seq, data, ok, err
}

func (l *instrumentedLog) Purge(ctx context.Context, meeting string) error {
	err := l.inner.Purge(ctx, meeting)
	l.failed("purge", err)
	return err
}

func (l *instrumentedLog) Ping(ctx context.Context) error {
	err := l.inner.Ping(ctx)
	l.failed("ping", err)
	return err
}

// Close is not instrumented: the process is stopping.
func (l *instrumentedLog) Close() error { return l.inner.Close() }

// notifyingLog keeps store.Notifier.
type notifyingLog struct {
	*instrumentedLog
	notifier store.Notifier
}

func (l *notifyingLog) Subscribe(ctx context.Context, fn func(meeting string, last uint64)) error {
	err := l.notifier.Subscribe(ctx, fn)
	l.failed("subscribe", err)
	return err
}

// trimmingLog keeps store.Trimmer.
type trimmingLog struct {
	*instrumentedLog
	trimmer store.Trimmer
}

func (l *trimmingLog) Trim(ctx context.Context, meeting string) error {
	err := l.trimmer.Trim(ctx, meeting)
	l.failed("trim", err)
	return err
}

// sharedLog keeps both (store/redis).
type sharedLog struct {
	*instrumentedLog
	notifier store.Notifier
	trimmer  store.Trimmer
}

func (l *sharedLog) Subscribe(ctx context.Context, fn func(meeting string, last uint64)) error {
	err := l.notifier.Subscribe(ctx, fn)
	l.failed("subscribe", err)
	return err
}

func (l *sharedLog) Trim(ctx context.Context, meeting string) error {
	err := l.trimmer.Trim(ctx, meeting)
	l.failed("trim", err)
	return err
}

// idFinder keeps store.IDLookup; embedded in the wrappers of logs that have it.
type idFinder struct {
	log    *instrumentedLog
	finder store.IDLookup
}

func (f idFinder) Lookup(ctx context.Context, meeting, id string) (uint64, bool, error) {
	seq, ok, err := f.finder.Lookup(ctx, meeting, id)
	f.log.failed("lookup", err)
	return seq, ok, err
}

// findingLog keeps store.IDLookup only.
type findingLog struct {
	*instrumentedLog
	idFinder
}

// notifyingFindingLog keeps store.Notifier and store.IDLookup.
type notifyingFindingLog struct {
	*notifyingLog
	idFinder
}

// trimmingFindingLog keeps store.Trimmer and store.IDLookup (store/bolt).
type trimmingFindingLog struct {
	*trimmingLog
	idFinder
}

// sharedFindingLog keeps all three (store/redis).
type sharedFindingLog struct {
	*sharedLog
	idFinder
}
