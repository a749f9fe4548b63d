package bolt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/boucle/designation/store"
	"github.com/boucle/designation/store/storetest"
)

// openTemp opens a log in a fresh file under t.TempDir, closed at cleanup.
func openTemp(t testing.TB, opts Options) *Log {
	t.Helper()
	l, err := Open(filepath.Join(t.TempDir(), "data", "log.db"), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t,
		func(t *testing.T) store.Log { return openTemp(t, Options{}) },
		storetest.Reopen(func(t *testing.T, old store.Log) store.Log {
			path := old.(*Log).Path()
			if err := old.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			l, err := Open(path, Options{})
			if err != nil {
				t.Fatalf("reopen %s: %v", path, err)
			}
			t.Cleanup(func() { l.Close() })
			return l
		}))
}

// TestGroupCommit: appends of many meetings arriving together share
// transactions (fsyncs), and each returns only once committed.
func TestGroupCommit(t *testing.T) {
	t.Parallel()
	l := openTemp(t, Options{})
	const writers = 64
	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			<-start
			m := fmt.Sprintf("m-%d", w)
			got, err := l.Append(context.Background(), m, []store.Entry{{ID: "op", Data: []byte("x")}})
			if err != nil {
				errs <- err
				return
			}
			// Acked means readable (committed), right now.
			if last, err := l.Last(context.Background(), m); err != nil || last != got[0].Seq {
				errs <- fmt.Errorf("%s: acked seq %d but Last = %d (%v)", m, got[0].Seq, last, err)
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := l.commits.Load(); n >= writers {
		t.Fatalf("%d appends took %d commits: no group commit", writers, n)
	} else {
		t.Logf("%d concurrent appends in %d commits", writers, n)
	}
}

// TestCommitDelayOnlyWithCompany: a lone writer never waits for company
// (CommitDelay is not added to each append of a quiet meeting), while
// writers that arrive spread out, as the edits of busy meetings do, share
// transactions once the store is busy: each waits up to CommitDelay for the
// others rather than paying two fsyncs and a copy of the pages alone.
func TestCommitDelayOnlyWithCompany(t *testing.T) {
	t.Parallel()
	t.Run("alone", func(t *testing.T) {
		t.Parallel()
		l := openTemp(t, Options{CommitDelay: time.Second})
		const appends = 20
		done := make(chan error, 1)
		go func() {
			for i := range appends {
				if _, err := l.Append(context.Background(), "m", []store.Entry{{ID: fmt.Sprint("op", i), Data: []byte("x")}}); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
		select { // waiting each time would take 20 s
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%d appends one after the other took more than 10 s: each waited the commit delay", appends)
		}
	})
	t.Run("all in at once", func(t *testing.T) {
		t.Parallel()
		// Writers that each wait for their commit before the next append
		// (meetings at saturation) are all in at once: a transaction does
		// not wait the whole delay for more.
		l := openTemp(t, Options{CommitDelay: time.Second})
		const writers, each = 4 * enoughCompany, 10
		began := time.Now()
		select { // waiting the delay each time: at least 10 s
		case err := <-appendTogether(l, writers, each, nil):
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(8 * time.Second):
			t.Fatalf("%d writers × %d appends still running after 8 s: transactions waited the whole delay", writers, each)
		}
		t.Logf("%d appends in %v, %d commits", writers*each, time.Since(began).Round(time.Millisecond), l.commits.Load())
	})
	t.Run("company", func(t *testing.T) {
		t.Parallel()
		l := openTemp(t, Options{CommitDelay: 200 * time.Millisecond})
		const writers, each = 8, 10
		// Together at first, so the first transactions have company; then
		// spread out, as edits are: a transaction that did not wait would
		// mostly carry one or two writes.
		pace := func(w int) time.Duration { return time.Duration(1+w%3) * time.Millisecond }
		if err := <-appendTogether(l, writers, each, pace); err != nil {
			t.Fatal(err)
		}
		if n := l.commits.Load(); n > writers*each/4 {
			t.Fatalf("%d appends took %d commits: the writers did not wait for each other", writers*each, n)
		} else {
			t.Logf("%d appends in %d commits", writers*each, n)
		}
	})
}

// appendTogether starts writers goroutines at once, each appending each ops
// to a meeting of its own and pausing pace(w) after each (pace nil: no
// pause). The channel yields the first error, or nil, once all are done.
func appendTogether(l *Log, writers, each int, pace func(w int) time.Duration) <-chan error {
	start := make(chan struct{})
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for w := range writers {
		wg.Go(func() {
			<-start
			for i := range each {
				if _, err := l.Append(context.Background(), fmt.Sprint("m-", w), []store.Entry{{ID: fmt.Sprint("op", i), Data: []byte("x")}}); err != nil {
					once.Do(func() { first = err })
					return
				}
				if pace != nil {
					time.Sleep(pace(w))
				}
			}
		})
	}
	close(start)
	done := make(chan error, 1)
	go func() {
		wg.Wait()
		done <- first
	}()
	return done
}

// rawContains reads the file's raw bytes.
func rawContains(t *testing.T, path string, needle string) bool {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Contains(b, []byte(needle))
}

// TestPurgeLeavesNoBytes plants canary e-mails and phones in a meeting's
// ops and snapshot, purges it, and greps the raw file: bbolt alone would
// keep the bytes in free pages; the compaction must remove them.
func TestPurgeLeavesNoBytes(t *testing.T) {
	t.Parallel()
	l := openTemp(t, Options{})
	ctx := context.Background()
	canaries := []string{"canary.7f3a9c@example.org", "+33 6 98 76 54 32 canary", "canary-snapshot-e1b2"}
	keeper := "keeper-marker-4d5e"
	var es []store.Entry
	for i := range 200 {
		es = append(es, store.Entry{ID: fmt.Sprintf("op-%d", i), Data: []byte(fmt.Sprintf(`{"email":%q,"phone":%q,"n":%d}`, canaries[0], canaries[1], i))})
	}
	if _, err := l.Append(ctx, "secret", es); err != nil {
		t.Fatal(err)
	}
	if err := l.SaveSnapshot(ctx, "secret", 200, []byte(canaries[2])); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(ctx, "kept", []store.Entry{{ID: "k", Data: []byte(keeper)}}); err != nil {
		t.Fatal(err)
	}
	// Without compaction the bytes would remain: delete the bucket the
	// way bbolt does and check they are still in the file, so that the
	// test below proves something.
	for _, c := range append(canaries, keeper) {
		if !rawContains(t, l.Path(), c) {
			t.Fatalf("canary %q not in the file before the purge: the test is blind", c)
		}
	}
	if err := l.Purge(ctx, "secret"); err != nil {
		t.Fatalf("Purge: %v", err)
	}
	for _, c := range canaries {
		if rawContains(t, l.Path(), c) {
			t.Errorf("canary %q still in the raw file after the purge", c)
		}
	}
	if !rawContains(t, l.Path(), keeper) {
		t.Error("the other meeting's data is gone from the file")
	}
	entries, err := os.ReadDir(filepath.Dir(l.Path()))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != filepath.Base(l.Path()) {
			t.Errorf("file %s left next to the log after compaction", e.Name())
		}
	}
	// And it still works, with the data kept.
	got, err := l.Append(ctx, "kept", []store.Entry{{ID: "k2", Data: []byte("more")}})
	if err != nil || got[0].Seq != 2 {
		t.Fatalf("append after purge = %+v, %v", got, err)
	}
}

// TestInterruptedPurgeFinishesAtOpen: a crash between a purge's deletion
// and its compaction leaves the bytes in free pages; the next Open
// compacts them away.
func TestInterruptedPurgeFinishesAtOpen(t *testing.T) {
	t.Parallel()
	l := openTemp(t, Options{})
	ctx := context.Background()
	canary := "canary.interrupted.3c4d@example.org"
	if _, err := l.Append(ctx, "secret", []store.Entry{{ID: "a", Data: []byte(canary)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(ctx, "kept", []store.Entry{{ID: "k", Data: []byte("kept")}}); err != nil {
		t.Fatal(err)
	}
	// The first half of Purge, then the process "dies".
	l.mu.Lock()
	pending, err := l.deleteMeetingLocked("secret")
	l.mu.Unlock()
	if err != nil || !pending {
		t.Fatalf("deleteMeetingLocked = %v, %v", pending, err)
	}
	path := l.Path()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if !rawContains(t, path, canary) {
		t.Fatal("the canary is not in the file after the deletion alone: the test is blind")
	}
	l2, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	if rawContains(t, path, canary) {
		t.Fatal("the canary is still in the file after reopening: the interrupted purge was not finished")
	}
	if l2.compactionPending() {
		t.Fatal("the compaction mark is still set")
	}
	if ms, err := l2.Meetings(ctx); err != nil || len(ms) != 1 || ms[0] != "kept" {
		t.Fatalf("Meetings after the finished purge = %v, %v", ms, err)
	}
	// A purge of an unknown meeting, with nothing pending, does not compact.
	before, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := l2.Purge(ctx, "nobody"); err != nil {
		t.Fatal(err)
	}
	after, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) {
		t.Fatal("purging an unknown meeting rewrote the file")
	}
}

// TestTrimKeepsFileScrubLeavesNoBytes: a routine Trim deletes the ops
// behind the snapshot without rewriting the file (it runs every few hundred
// ops), so their bytes may linger in free pages; Scrub, which the hub calls
// after meeting.purge, compacts: no canary from the trimmed ops or the
// replaced snapshot is left in the raw file, and the meeting goes on from
// its snapshot.
func TestTrimKeepsFileScrubLeavesNoBytes(t *testing.T) {
	t.Parallel()
	l := openTemp(t, Options{})
	ctx := context.Background()
	canaries := []string{"canary.trim.51ab@example.org", "+33 6 11 22 33 44 canary", "canary-old-snapshot-9e8f"}
	var es []store.Entry
	for i := range 120 {
		es = append(es, store.Entry{ID: fmt.Sprintf("op-%d", i+1), Data: []byte(fmt.Sprintf(`{"email":%q,"phone":%q,"n":%d}`, canaries[0], canaries[1], i))})
	}
	if _, err := l.Append(ctx, "m", es[:100]); err != nil {
		t.Fatal(err)
	}
	if err := l.SaveSnapshot(ctx, "m", 60, []byte(canaries[2])); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(ctx, "kept", []store.Entry{{ID: "k", Data: []byte("keeper-marker-77aa")}}); err != nil {
		t.Fatal(err)
	}
	before, err := os.Stat(l.Path())
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Trim(ctx, "m"); err != nil {
		t.Fatalf("Trim: %v", err)
	}
	after, err := os.Stat(l.Path())
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) || l.compactionPending() {
		t.Fatal("a routine Trim compacted the file (or left a compaction pending)")
	}
	for _, c := range canaries {
		if !rawContains(t, l.Path(), c) {
			t.Fatalf("canary %q not in the file before the scrub: the test is blind", c)
		}
	}

	// The purge: later ops, then a snapshot without personal data.
	if _, err := l.Append(ctx, "m", es[100:]); err != nil {
		t.Fatal(err)
	}
	if err := l.SaveSnapshot(ctx, "m", 120, []byte("anonymised-state")); err != nil {
		t.Fatal(err)
	}
	if err := l.Scrub(ctx, "m"); err != nil {
		t.Fatalf("Scrub: %v", err)
	}
	for _, c := range canaries {
		if rawContains(t, l.Path(), c) {
			t.Errorf("canary %q still in the raw file after Scrub", c)
		}
	}
	if !rawContains(t, l.Path(), "keeper-marker-77aa") || !rawContains(t, l.Path(), "anonymised-state") {
		t.Error("Scrub lost live data")
	}
	if l.compactionPending() {
		t.Error("the compaction mark is still set after Scrub")
	}
	// The meeting goes on: its snapshot, Last, its ids, new ops.
	if seq, data, ok, err := l.Snapshot(ctx, "m"); err != nil || !ok || seq != 120 || string(data) != "anonymised-state" {
		t.Fatalf("Snapshot after Scrub = %d %q %v %v", seq, data, ok, err)
	}
	if err := l.Read(ctx, "m", 0, func(store.Record) error { return nil }); !errors.Is(err, store.ErrTrimmed) {
		t.Fatalf("Read from 0 after Scrub = %v, want ErrTrimmed", err)
	}
	got, err := l.Append(ctx, "m", []store.Entry{{ID: "op-7", Data: []byte("re-sent")}, {ID: "op-121", Data: []byte("new")}})
	if err != nil || got[0] != (store.Appended{Seq: 7, Dup: true}) || got[1] != (store.Appended{Seq: 121}) {
		t.Fatalf("Append after Scrub = %+v, %v", got, err)
	}
	var seqs []uint64
	if err := l.Read(ctx, "m", 120, func(r store.Record) error { seqs = append(seqs, r.Seq); return nil }); err != nil || fmt.Sprint(seqs) != "[121]" {
		t.Fatalf("Read after the snapshot = %v, %v", seqs, err)
	}
	// Scrub of a meeting without a log, nothing pending: no rewrite.
	before, err = os.Stat(l.Path())
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Scrub(ctx, "nobody"); err != nil {
		t.Fatal(err)
	}
	if after, err := os.Stat(l.Path()); err != nil || !os.SameFile(before, after) {
		t.Fatalf("Scrub of an unknown meeting rewrote the file (%v)", err)
	}
	if err := l.Scrub(ctx, "a b"); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("Scrub with a bad meeting id = %v, want ErrInvalid", err)
	}
}

// TestTrimWhileReading: a Read running while the log is trimmed either
// gets every record in order or stops with ErrTrimmed; it never skips.
func TestTrimWhileReading(t *testing.T) {
	t.Parallel()
	l := openTemp(t, Options{})
	ctx := context.Background()
	const n = 3 * readChunk
	var es []store.Entry
	for i := range n {
		es = append(es, store.Entry{ID: fmt.Sprintf("op-%d", i+1), Data: []byte("x")})
	}
	if _, err := l.Append(ctx, "m", es); err != nil {
		t.Fatal(err)
	}
	if err := l.SaveSnapshot(ctx, "m", n, []byte("state")); err != nil {
		t.Fatal(err)
	}
	var next uint64 = 1
	err := l.Read(ctx, "m", 0, func(r store.Record) error {
		if r.Seq != next {
			return fmt.Errorf("record %d after %d", r.Seq, next-1)
		}
		next++
		if r.Seq == readChunk/2 {
			// The trim commits while this Read holds its first chunk.
			return l.Trim(ctx, "m")
		}
		return nil
	})
	if !errors.Is(err, store.ErrTrimmed) {
		t.Fatalf("Read across a Trim = %v, want ErrTrimmed", err)
	}
	if next != readChunk+1 {
		t.Fatalf("Read gave %d records before ErrTrimmed, want the first chunk (%d)", next-1, readChunk)
	}
}

// TestPurgeWhileAppending: a purge (which swaps the file) running while
// other meetings append loses none of their acked ops.
func TestPurgeWhileAppending(t *testing.T) {
	t.Parallel()
	l := openTemp(t, Options{})
	ctx := context.Background()
	for i := range 5 {
		m := fmt.Sprintf("old-%d", i)
		if _, err := l.Append(ctx, m, []store.Entry{{ID: "a", Data: []byte("x")}}); err != nil {
			t.Fatal(err)
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	acked := make([]int, 4)
	errs := make(chan error, 8)
	for w := range acked {
		wg.Go(func() {
			m := fmt.Sprintf("live-%d", w)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				got, err := l.Append(ctx, m, []store.Entry{{ID: fmt.Sprintf("op-%d", i), Data: []byte("y")}})
				if err != nil {
					errs <- err
					return
				}
				if got[0].Seq != uint64(i+1) {
					errs <- fmt.Errorf("%s: op %d got seq %d", m, i, got[0].Seq)
					return
				}
				acked[w] = i + 1
			}
		})
	}
	var purges sync.WaitGroup
	for i := range 5 {
		purges.Go(func() {
			if err := l.Purge(ctx, fmt.Sprintf("old-%d", i)); err != nil {
				errs <- err
			}
		})
	}
	purges.Wait()
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for w, n := range acked {
		m := fmt.Sprintf("live-%d", w)
		if last, err := l.Last(ctx, m); err != nil || last != uint64(n) {
			t.Fatalf("%s: %d acked but Last = %d (%v)", m, n, last, err)
		}
	}
	ms, err := l.Meetings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if strings.HasPrefix(m, "old-") {
			t.Fatalf("purged meeting %s still listed", m)
		}
	}
}

func TestClosed(t *testing.T) {
	t.Parallel()
	l := openTemp(t, Options{})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := l.Append(ctx, "m", []store.Entry{{ID: "a"}}); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Append after Close = %v, want ErrUnavailable", err)
	}
	if err := l.Ping(ctx); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Ping after Close = %v, want ErrUnavailable", err)
	}
	if err := l.Purge(ctx, "m"); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Purge after Close = %v, want ErrUnavailable", err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// TestFileLocked: a second process (here: a second Open) on the same file
// gets a clear error after LockTimeout instead of hanging.
func TestFileLocked(t *testing.T) {
	t.Parallel()
	l := openTemp(t, Options{})
	start := time.Now()
	_, err := Open(l.Path(), Options{LockTimeout: 100 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("second Open = %v, want a 'locked' error", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("second Open took %v", d)
	}
}

func BenchmarkAppendParallel(b *testing.B) {
	benchAppendParallel(b, nil)
}

// BenchmarkAppendParallelSnapshotted is BenchmarkAppendParallel where
// every meeting has a snapshot of 64 KiB, the size of a meeting of a
// hundred people: an append must not rewrite it.
func BenchmarkAppendParallelSnapshotted(b *testing.B) {
	snapshot := bytes.Repeat([]byte("x"), 64<<10)
	benchAppendParallel(b, func(l *Log, m string) error {
		ctx := context.Background()
		if _, err := l.Append(ctx, m, []store.Entry{{ID: "first", Data: []byte(`{}`)}}); err != nil {
			return err
		}
		return l.SaveSnapshot(ctx, m, 1, snapshot)
	})
}

// benchAppendParallel appends two ops at a time from 16 meetings per core,
// each meeting first made ready by prepare (nil: nothing), and reports the
// appends per commit.
func benchAppendParallel(b *testing.B, prepare func(l *Log, meeting string) error) {
	l := openTemp(b, Options{})
	var next sync.Mutex
	meeting := 0
	b.SetParallelism(16) // many meetings' actors per core
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		next.Lock()
		m := fmt.Sprintf("m-%d", meeting)
		meeting++
		next.Unlock()
		if prepare != nil {
			if err := prepare(l, m); err != nil {
				b.Fatal(err)
			}
		}
		i := 0
		for pb.Next() {
			es := []store.Entry{
				{ID: fmt.Sprintf("%d-a", i), Data: []byte(`{"type":"edit","text":"quelque chose"}`)},
				{ID: fmt.Sprintf("%d-b", i), Data: []byte(`{"type":"edit","text":"autre chose"}`)},
			}
			if _, err := l.Append(context.Background(), m, es); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.ReportMetric(float64(b.N)/float64(max(l.commits.Load(), 1)), "appends/commit")
}

func BenchmarkRead(b *testing.B) {
	l := openTemp(b, Options{})
	ctx := context.Background()
	const n = 5000
	for i := 0; i < n; i += 100 {
		var es []store.Entry
		for j := i; j < i+100; j++ {
			es = append(es, store.Entry{ID: fmt.Sprintf("op-%d", j), Data: []byte(`{"type":"edit","text":"quelque chose"}`)})
		}
		if _, err := l.Append(ctx, "m", es); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		count := 0
		if err := l.Read(ctx, "m", 0, func(store.Record) error { count++; return nil }); err != nil {
			b.Fatal(err)
		}
		if count != n {
			b.Fatalf("read %d records, want %d", count, n)
		}
	}
	b.ReportMetric(n, "records/op")
}

// BenchmarkAppendIDs appends the ops of 64 meetings of 1,000 ops each, two
// ops per append from 16 meetings at once, with op ids as clients make
// them: random (UUIDv4) or time-ordered (UUIDv7). Each id goes in the
// meeting's id index, a B+tree: a random id lands on a random leaf.
func BenchmarkAppendIDs(b *testing.B) {
	for _, kind := range []string{"v4", "v7"} {
		b.Run(kind, func(b *testing.B) {
			l := openTemp(b, Options{})
			newID := func() string { return uuid.NewString() }
			if kind == "v7" {
				newID = func() string { return uuid.Must(uuid.NewV7()).String() }
			}
			ctx := context.Background()
			for m := range 64 { // meetings with a history: ids indexes of 1,000
				var es []store.Entry
				for range 1000 {
					es = append(es, store.Entry{ID: newID(), Data: []byte(`{"type":"edit"}`)})
				}
				if _, err := l.Append(ctx, fmt.Sprintf("m-%d", m), es); err != nil {
					b.Fatal(err)
				}
			}
			var next sync.Mutex
			meeting := 0
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				next.Lock()
				m := fmt.Sprintf("m-%d", meeting%64)
				meeting++
				next.Unlock()
				for pb.Next() {
					es := []store.Entry{{ID: newID(), Data: []byte(`{"type":"edit","text":"quelque chose"}`)},
						{ID: newID(), Data: []byte(`{"type":"edit","text":"autre chose"}`)}}
					if _, err := l.Append(ctx, m, es); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
