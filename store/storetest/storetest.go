// Package storetest is the conformance suite every store.Log implementation
// passes (store/bolt, store/redis): the hub relies on exactly these
// behaviours, whichever store a deployment uses.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"

	"github.com/boucle/designation/store"
)

// Option adapts the suite to an implementation.
type Option func(*suite)

// Reopen gives the suite a way to close a log and open the same storage
// again (same file, same Redis keys), so it can check that everything
// survives. fn must close old and return a fresh Log on the same storage.
// Without it the persistence test is skipped.
func Reopen(fn func(t *testing.T, old store.Log) store.Log) Option {
	return func(s *suite) { s.reopen = fn }
}

type suite struct {
	open   func(t *testing.T) store.Log
	reopen func(t *testing.T, old store.Log) store.Log
}

// Run runs the conformance suite. open must return an empty log, distinct
// from every other call's, and arrange its Close at t's cleanup.
func Run(t *testing.T, open func(t *testing.T) store.Log, opts ...Option) {
	s := &suite{open: open}
	for _, o := range opts {
		o(s)
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, s *suite)
	}{
		{"SequencesStartAtOneWithoutGaps", testSequences},
		{"ReadAfter", testReadAfter},
		{"ReadManyInOrder", testReadMany},
		{"ReadStopsAtCallbackError", testReadStops},
		{"ReadMayCallTheLog", testReadReentrant},
		{"DuplicateIDs", testDuplicates},
		{"DuplicateIDsInOneBatch", testDuplicatesInBatch},
		{"EmptyAppend", testEmptyAppend},
		{"InvalidArgumentsChangeNothing", testInvalid},
		{"UnknownMeeting", testUnknownMeeting},
		{"ConcurrentAppendsOneMeeting", testConcurrentOne},
		{"ConcurrentAppendsManyMeetings", testConcurrentMany},
		{"ConcurrentDuplicates", testConcurrentDuplicates},
		{"MeetingsSorted", testMeetingsSorted},
		{"Snapshots", testSnapshots},
		{"Purge", testPurge},
		{"Trim", testTrim},
		{"TrimThenPurge", testTrimThenPurge},
		{"Lookup", testLookup},
		{"Reopen", testReopen},
		{"ContextCancelled", testContext},
		{"Ping", testPing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, s) })
	}
}

// entries makes n entries with ids prefix-1..prefix-n and data naming them.
func entries(prefix string, n int) []store.Entry {
	out := make([]store.Entry, n)
	for i := range out {
		id := fmt.Sprintf("%s-%d", prefix, i+1)
		out[i] = store.Entry{ID: id, Data: []byte(`{"op":"` + id + `"}`)}
	}
	return out
}

func mustAppend(t *testing.T, l store.Log, meeting string, es []store.Entry) []store.Appended {
	t.Helper()
	got, err := l.Append(context.Background(), meeting, es)
	if err != nil {
		t.Fatalf("Append(%s, %d entries): %v", meeting, len(es), err)
	}
	if len(got) != len(es) {
		t.Fatalf("Append(%s) returned %d results for %d entries", meeting, len(got), len(es))
	}
	return got
}

func readAll(t *testing.T, l store.Log, meeting string, after uint64) []store.Record {
	t.Helper()
	var out []store.Record
	err := l.Read(context.Background(), meeting, after, func(r store.Record) error {
		out = append(out, r)
		return nil
	})
	if err != nil {
		t.Fatalf("Read(%s, after %d): %v", meeting, after, err)
	}
	return out
}

func mustLast(t *testing.T, l store.Log, meeting string) uint64 {
	t.Helper()
	last, err := l.Last(context.Background(), meeting)
	if err != nil {
		t.Fatalf("Last(%s): %v", meeting, err)
	}
	return last
}

func mustMeetings(t *testing.T, l store.Log) []string {
	t.Helper()
	ms, err := l.Meetings(context.Background())
	if err != nil {
		t.Fatalf("Meetings: %v", err)
	}
	return ms
}

// checkLog asserts the meeting's whole log is exactly want, seqs 1..len(want).
func checkLog(t *testing.T, l store.Log, meeting string, want []store.Entry) {
	t.Helper()
	got := readAll(t, l, meeting, 0)
	if len(got) != len(want) {
		t.Fatalf("%s: read %d records, want %d", meeting, len(got), len(want))
	}
	for i, r := range got {
		if r.Seq != uint64(i+1) || r.ID != want[i].ID || !bytes.Equal(r.Data, want[i].Data) {
			t.Fatalf("%s: record %d = {%d %q %q}, want {%d %q %q}", meeting, i, r.Seq, r.ID, r.Data, i+1, want[i].ID, want[i].Data)
		}
	}
	if last := mustLast(t, l, meeting); last != uint64(len(want)) {
		t.Fatalf("%s: Last = %d, want %d", meeting, last, len(want))
	}
}

func testSequences(t *testing.T, s *suite) {
	l := s.open(t)
	first := entries("a", 3)
	got := mustAppend(t, l, "m1", first)
	for i, a := range got {
		if a.Seq != uint64(i+1) || a.Dup {
			t.Fatalf("first batch result %d = %+v, want seq %d, not dup", i, a, i+1)
		}
	}
	second := entries("b", 2)
	got = mustAppend(t, l, "m1", second)
	for i, a := range got {
		if a.Seq != uint64(i+4) || a.Dup {
			t.Fatalf("second batch result %d = %+v, want seq %d, not dup", i, a, i+4)
		}
	}
	checkLog(t, l, "m1", append(first, second...))
	// Another meeting has its own sequence.
	got = mustAppend(t, l, "m2", entries("c", 1))
	if got[0].Seq != 1 {
		t.Fatalf("first op of another meeting got seq %d, want 1", got[0].Seq)
	}
}

func testReadAfter(t *testing.T, s *suite) {
	l := s.open(t)
	es := entries("a", 5)
	mustAppend(t, l, "m", es)
	for _, tc := range []struct {
		after uint64
		want  []uint64
	}{
		{0, []uint64{1, 2, 3, 4, 5}},
		{2, []uint64{3, 4, 5}},
		{4, []uint64{5}},
		{5, nil},
		{99, nil},
		{math.MaxUint64, nil},
	} {
		var seqs []uint64
		for _, r := range readAll(t, l, "m", tc.after) {
			seqs = append(seqs, r.Seq)
			if r.ID != es[r.Seq-1].ID || !bytes.Equal(r.Data, es[r.Seq-1].Data) {
				t.Fatalf("record %d = %q %q, want %q %q", r.Seq, r.ID, r.Data, es[r.Seq-1].ID, es[r.Seq-1].Data)
			}
		}
		if !slices.Equal(seqs, tc.want) {
			t.Fatalf("Read(after %d) seqs = %v, want %v", tc.after, seqs, tc.want)
		}
	}
}

func testReadMany(t *testing.T, s *suite) {
	l := s.open(t)
	var all []store.Entry
	for b := range 30 {
		es := entries(fmt.Sprintf("b%d", b), 23)
		mustAppend(t, l, "m", es)
		all = append(all, es...)
	}
	checkLog(t, l, "m", all)
	if got := readAll(t, l, "m", 500); len(got) != len(all)-500 || got[0].Seq != 501 {
		t.Fatalf("Read(after 500) gave %d records starting at %d, want %d from 501", len(got), got[0].Seq, len(all)-500)
	}
}

func testReadStops(t *testing.T, s *suite) {
	l := s.open(t)
	mustAppend(t, l, "m", entries("a", 10))
	stop := errors.New("enough")
	calls := 0
	err := l.Read(context.Background(), "m", 0, func(r store.Record) error {
		calls++
		if r.Seq == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Fatalf("Read returned %v, want the callback's error", err)
	}
	if calls != 3 {
		t.Fatalf("callback called %d times after returning an error at the 3rd, want 3", calls)
	}
}

// testReadReentrant: the hub may append from inside a Read callback (it
// should not, but a deadlock there would take a meeting down).
func testReadReentrant(t *testing.T, s *suite) {
	l := s.open(t)
	mustAppend(t, l, "m", entries("a", 3))
	err := l.Read(context.Background(), "m", 0, func(r store.Record) error {
		_, err := l.Append(context.Background(), "other", []store.Entry{{ID: r.ID, Data: r.Data}})
		return err
	})
	if err != nil {
		t.Fatalf("Read with appends in the callback: %v", err)
	}
	checkLog(t, l, "other", entries("a", 3))
}

func testDuplicates(t *testing.T, s *suite) {
	l := s.open(t)
	es := entries("a", 3)
	mustAppend(t, l, "m", es)
	// Same id, different data: a re-sent op whose ack was lost.
	got := mustAppend(t, l, "m", []store.Entry{{ID: "a-2", Data: []byte("changed")}})
	if got[0] != (store.Appended{Seq: 2, Dup: true}) {
		t.Fatalf("re-appending a-2 gave %+v, want {Seq:2 Dup:true}", got[0])
	}
	// A batch mixing old and new ids: only the new ones are written.
	got = mustAppend(t, l, "m", []store.Entry{{ID: "a-1", Data: []byte("x")}, {ID: "n-1", Data: []byte("new")}, {ID: "a-3", Data: []byte("y")}})
	want := []store.Appended{{Seq: 1, Dup: true}, {Seq: 4}, {Seq: 3, Dup: true}}
	if !slices.Equal(got, want) {
		t.Fatalf("mixed batch gave %+v, want %+v", got, want)
	}
	checkLog(t, l, "m", append(es, store.Entry{ID: "n-1", Data: []byte("new")}))
	// Ids are per meeting: the same id in another meeting is a new op.
	got = mustAppend(t, l, "m-other", []store.Entry{{ID: "a-1", Data: []byte("z")}})
	if got[0] != (store.Appended{Seq: 1}) {
		t.Fatalf("same id in another meeting gave %+v, want {Seq:1}", got[0])
	}
}

func testDuplicatesInBatch(t *testing.T, s *suite) {
	l := s.open(t)
	batch := []store.Entry{
		{ID: "x", Data: []byte("1")},
		{ID: "y", Data: []byte("2")},
		{ID: "x", Data: []byte("3")},
		{ID: "y", Data: []byte("4")},
	}
	got := mustAppend(t, l, "m", batch)
	want := []store.Appended{{Seq: 1}, {Seq: 2}, {Seq: 1, Dup: true}, {Seq: 2, Dup: true}}
	if !slices.Equal(got, want) {
		t.Fatalf("batch with repeated ids gave %+v, want %+v", got, want)
	}
	checkLog(t, l, "m", batch[:2])
}

func testEmptyAppend(t *testing.T, s *suite) {
	l := s.open(t)
	got, err := l.Append(context.Background(), "m", nil)
	if err != nil || len(got) != 0 {
		t.Fatalf("Append with no entries = %v, %v; want nothing and no error", got, err)
	}
	if last := mustLast(t, l, "m"); last != 0 {
		t.Fatalf("Last after an empty append = %d, want 0", last)
	}
}

func testInvalid(t *testing.T, s *suite) {
	l := s.open(t)
	ctx := context.Background()
	long := string(bytes.Repeat([]byte("x"), store.MaxMeetingIDLen+1))
	for _, tc := range []struct {
		name    string
		meeting string
		entries []store.Entry
	}{
		{"empty meeting id", "", entries("a", 1)},
		{"meeting id too long", long, entries("a", 1)},
		{"meeting id with a brace", "m{1}", entries("a", 1)},
		{"meeting id with a space", "m 1", entries("a", 1)},
		{"meeting id with a star", "m*", entries("a", 1)},
		{"empty entry id", "m", []store.Entry{{ID: "ok", Data: []byte("1")}, {ID: "", Data: []byte("2")}}},
		{"entry id too long", "m", []store.Entry{{ID: string(bytes.Repeat([]byte("i"), store.MaxEntryIDLen+1))}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := l.Append(ctx, tc.meeting, tc.entries)
			if !errors.Is(err, store.ErrInvalid) {
				t.Fatalf("Append = %v, want an error wrapping ErrInvalid", err)
			}
		})
	}
	if err := l.SaveSnapshot(ctx, "", 0, []byte("s")); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("SaveSnapshot with an empty meeting id = %v, want ErrInvalid", err)
	}
	if err := l.SaveSnapshot(ctx, "m", 1, []byte("s")); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("SaveSnapshot ahead of the log = %v, want ErrInvalid", err)
	}
	if err := l.Read(ctx, "a b", 0, func(store.Record) error { return nil }); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("Read with a bad meeting id = %v, want ErrInvalid", err)
	}
	if err := l.Purge(ctx, ""); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("Purge with an empty meeting id = %v, want ErrInvalid", err)
	}
	if ms := mustMeetings(t, l); len(ms) != 0 {
		t.Fatalf("refused calls created meetings %v", ms)
	}
	if _, _, ok, err := l.Snapshot(ctx, "m"); ok || err != nil {
		t.Fatalf("refused SaveSnapshot stored something (ok=%v, err=%v)", ok, err)
	}
}

func testUnknownMeeting(t *testing.T, s *suite) {
	l := s.open(t)
	if got := readAll(t, l, "nobody", 0); len(got) != 0 {
		t.Fatalf("Read of an unknown meeting gave %d records", len(got))
	}
	if last := mustLast(t, l, "nobody"); last != 0 {
		t.Fatalf("Last of an unknown meeting = %d", last)
	}
	if _, _, ok, err := l.Snapshot(context.Background(), "nobody"); ok || err != nil {
		t.Fatalf("Snapshot of an unknown meeting: ok=%v err=%v", ok, err)
	}
	if err := l.Purge(context.Background(), "nobody"); err != nil {
		t.Fatalf("Purge of an unknown meeting: %v", err)
	}
	if ms := mustMeetings(t, l); len(ms) != 0 {
		t.Fatalf("Meetings of an empty log = %v", ms)
	}
}

// appendConcurrently runs writers goroutines per meeting, each appending
// batches batches of 1 to 3 entries, and returns every result by entry id.
func appendConcurrently(t *testing.T, l store.Log, meetings []string, writers, batches int) map[string]map[string]uint64 {
	t.Helper()
	var (
		mu   sync.Mutex
		seqs = map[string]map[string]uint64{}
		wg   sync.WaitGroup
		errs = make(chan error, len(meetings)*writers)
	)
	for _, m := range meetings {
		seqs[m] = map[string]uint64{}
	}
	for _, m := range meetings {
		for w := range writers {
			wg.Go(func() {
				for b := range batches {
					es := entries(fmt.Sprintf("w%d-b%d", w, b), 1+(w+b)%3)
					got, err := l.Append(context.Background(), m, es)
					if err != nil {
						errs <- fmt.Errorf("%s writer %d: %w", m, w, err)
						return
					}
					mu.Lock()
					for i, a := range got {
						if a.Dup {
							errs <- fmt.Errorf("%s: fresh id %s reported as duplicate", m, es[i].ID)
						}
						seqs[m][es[i].ID] = a.Seq
					}
					mu.Unlock()
					// A batch's seqs are consecutive.
					for i := 1; i < len(got); i++ {
						if got[i].Seq != got[i-1].Seq+1 {
							errs <- fmt.Errorf("%s: batch seqs %v are not consecutive", m, got)
						}
					}
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return seqs
}

// checkGapless asserts that the meeting's log holds exactly the entries of
// seqs (id -> seq), with seqs 1..n.
func checkGapless(t *testing.T, l store.Log, meeting string, seqs map[string]uint64) {
	t.Helper()
	recs := readAll(t, l, meeting, 0)
	if len(recs) != len(seqs) {
		t.Fatalf("%s: %d records for %d acked entries", meeting, len(recs), len(seqs))
	}
	for i, r := range recs {
		if r.Seq != uint64(i+1) {
			t.Fatalf("%s: record %d has seq %d: gap or disorder", meeting, i, r.Seq)
		}
		if seqs[r.ID] != r.Seq {
			t.Fatalf("%s: entry %s acked with seq %d but stored at %d", meeting, r.ID, seqs[r.ID], r.Seq)
		}
		if want := `{"op":"` + r.ID + `"}`; string(r.Data) != want {
			t.Fatalf("%s: entry %s has data %q, want %q", meeting, r.ID, r.Data, want)
		}
	}
	if last := mustLast(t, l, meeting); last != uint64(len(seqs)) {
		t.Fatalf("%s: Last = %d, want %d", meeting, last, len(seqs))
	}
}

func testConcurrentOne(t *testing.T, s *suite) {
	l := s.open(t)
	seqs := appendConcurrently(t, l, []string{"m"}, 8, 15)
	checkGapless(t, l, "m", seqs["m"])
}

func testConcurrentMany(t *testing.T, s *suite) {
	l := s.open(t)
	var meetings []string
	for i := range 16 {
		meetings = append(meetings, fmt.Sprintf("m-%02d", i))
	}
	seqs := appendConcurrently(t, l, meetings, 3, 8)
	for _, m := range meetings {
		checkGapless(t, l, m, seqs[m])
	}
	if got := mustMeetings(t, l); !slices.Equal(got, meetings) {
		t.Fatalf("Meetings = %v, want %v", got, meetings)
	}
}

// testConcurrentDuplicates: the same ops re-sent by several goroutines at
// once (a client retrying on two connections) are written once, and every
// caller learns the same seq for each id.
func testConcurrentDuplicates(t *testing.T, s *suite) {
	l := s.open(t)
	es := entries("same", 20)
	const callers = 6
	results := make([][]store.Appended, callers)
	var wg sync.WaitGroup
	errs := make([]error, callers)
	for c := range callers {
		wg.Go(func() {
			for _, e := range es {
				got, err := l.Append(context.Background(), "m", []store.Entry{e})
				if err != nil {
					errs[c] = err
					return
				}
				results[c] = append(results[c], got...)
			}
		})
	}
	wg.Wait()
	for c, err := range errs {
		if err != nil {
			t.Fatalf("caller %d: %v", c, err)
		}
	}
	seqOf := map[string]uint64{}
	for _, r := range readAll(t, l, "m", 0) {
		if _, seen := seqOf[r.ID]; seen {
			t.Fatalf("id %s written twice", r.ID)
		}
		seqOf[r.ID] = r.Seq
	}
	if len(seqOf) != len(es) {
		t.Fatalf("%d distinct ids stored, want %d", len(seqOf), len(es))
	}
	for c := range callers {
		for i, a := range results[c] {
			if a.Seq != seqOf[es[i].ID] {
				t.Fatalf("caller %d got seq %d for %s, stored at %d", c, a.Seq, es[i].ID, seqOf[es[i].ID])
			}
		}
	}
	for i := range es {
		fresh := 0
		for c := range callers {
			if !results[c][i].Dup {
				fresh++
			}
		}
		if fresh != 1 {
			t.Fatalf("%s reported as newly written to %d callers, want exactly 1", es[i].ID, fresh)
		}
	}
}

func testMeetingsSorted(t *testing.T, s *suite) {
	l := s.open(t)
	for _, m := range []string{"m-c", "m-a", "B", "m-b", "m-a"} {
		mustAppend(t, l, m, entries("e", 1))
	}
	want := []string{"B", "m-a", "m-b", "m-c"}
	if got := mustMeetings(t, l); !slices.Equal(got, want) {
		t.Fatalf("Meetings = %v, want %v", got, want)
	}
}

func testSnapshots(t *testing.T, s *suite) {
	l := s.open(t)
	ctx := context.Background()
	mustAppend(t, l, "m", entries("a", 5))
	check := func(wantSeq uint64, want string) {
		t.Helper()
		seq, data, ok, err := l.Snapshot(ctx, "m")
		if err != nil || !ok || seq != wantSeq || string(data) != want {
			t.Fatalf("Snapshot = %d %q ok=%v err=%v, want %d %q", seq, data, ok, err, wantSeq, want)
		}
	}
	if _, _, ok, err := l.Snapshot(ctx, "m"); ok || err != nil {
		t.Fatalf("Snapshot before any = ok %v, err %v", ok, err)
	}
	if err := l.SaveSnapshot(ctx, "m", 2, []byte("state@2")); err != nil {
		t.Fatal(err)
	}
	check(2, "state@2")
	if err := l.SaveSnapshot(ctx, "m", 4, []byte("state@4")); err != nil {
		t.Fatal(err)
	}
	check(4, "state@4")
	// Same seq replaces (a re-encoded state).
	if err := l.SaveSnapshot(ctx, "m", 4, []byte("state@4 again")); err != nil {
		t.Fatal(err)
	}
	check(4, "state@4 again")
	// An older one is ignored: another instance was behind.
	if err := l.SaveSnapshot(ctx, "m", 3, []byte("state@3")); err != nil {
		t.Fatal(err)
	}
	check(4, "state@4 again")
	// The log is untouched by snapshots.
	checkLog(t, l, "m", entries("a", 5))
	// Snapshots are per meeting.
	if _, _, ok, _ := l.Snapshot(ctx, "other"); ok {
		t.Fatal("a snapshot of m is visible as other's")
	}
}

func testPurge(t *testing.T, s *suite) {
	l := s.open(t)
	ctx := context.Background()
	mustAppend(t, l, "gone", entries("a", 4))
	if err := l.SaveSnapshot(ctx, "gone", 3, []byte("state")); err != nil {
		t.Fatal(err)
	}
	kept := entries("k", 3)
	mustAppend(t, l, "kept", kept)
	if err := l.SaveSnapshot(ctx, "kept", 2, []byte("kept state")); err != nil {
		t.Fatal(err)
	}
	if err := l.Purge(ctx, "gone"); err != nil {
		t.Fatalf("Purge: %v", err)
	}
	if got := readAll(t, l, "gone", 0); len(got) != 0 {
		t.Fatalf("purged meeting still has %d records", len(got))
	}
	if last := mustLast(t, l, "gone"); last != 0 {
		t.Fatalf("purged meeting has Last %d", last)
	}
	if _, _, ok, err := l.Snapshot(ctx, "gone"); ok || err != nil {
		t.Fatalf("purged meeting's snapshot: ok=%v err=%v", ok, err)
	}
	if got := mustMeetings(t, l); !slices.Equal(got, []string{"kept"}) {
		t.Fatalf("Meetings after purge = %v, want [kept]", got)
	}
	checkLog(t, l, "kept", kept)
	if seq, data, ok, err := l.Snapshot(ctx, "kept"); err != nil || !ok || seq != 2 || string(data) != "kept state" {
		t.Fatalf("other meeting's snapshot after purge = %d %q %v %v", seq, data, ok, err)
	}
	// The purged meeting's op ids are forgotten too: a new log starts at 1.
	got := mustAppend(t, l, "gone", entries("a", 1))
	if got[0] != (store.Appended{Seq: 1}) {
		t.Fatalf("append after purge gave %+v, want {Seq:1}", got[0])
	}
	// The store still works for everyone after the purge (compaction etc.).
	got = mustAppend(t, l, "kept", entries("k2", 1))
	if got[0] != (store.Appended{Seq: 4}) {
		t.Fatalf("append to the other meeting after purge gave %+v, want {Seq:4}", got[0])
	}
}

// trimmer returns l as a store.Trimmer, or skips the test.
func trimmer(t *testing.T, l store.Log) store.Trimmer {
	t.Helper()
	tr, ok := l.(store.Trimmer)
	if !ok {
		t.Skip("this store does not trim")
	}
	return tr
}

// checkTrimmed asserts that a Read from after returns ErrTrimmed before
// calling its callback: the caller must load the snapshot, never see a gap.
func checkTrimmed(t *testing.T, l store.Log, meeting string, after uint64) {
	t.Helper()
	called := false
	err := l.Read(context.Background(), meeting, after, func(store.Record) error { called = true; return nil })
	if !errors.Is(err, store.ErrTrimmed) || called {
		t.Fatalf("Read(%s, after %d) = %v (callback called: %v), want ErrTrimmed before any record", meeting, after, err, called)
	}
}

// checkSeqs asserts that a Read from after gives exactly the seqs want,
// with the data they were appended with (entries es, seq i+1 = es[i]).
func checkSeqs(t *testing.T, l store.Log, meeting string, after uint64, es []store.Entry, want []uint64) {
	t.Helper()
	var seqs []uint64
	for _, r := range readAll(t, l, meeting, after) {
		seqs = append(seqs, r.Seq)
		if r.ID != es[r.Seq-1].ID || !bytes.Equal(r.Data, es[r.Seq-1].Data) {
			t.Fatalf("record %d = %q %q, want %q %q", r.Seq, r.ID, r.Data, es[r.Seq-1].ID, es[r.Seq-1].Data)
		}
	}
	if !slices.Equal(seqs, want) {
		t.Fatalf("Read(%s, after %d) seqs = %v, want %v", meeting, after, seqs, want)
	}
}

// testTrim: a trim drops the ops covered by the snapshot and nothing else;
// reads from before it say so; ids, Last and the snapshot stay; trims only
// move forward; it all survives a reopen.
func testTrim(t *testing.T, s *suite) {
	l := s.open(t)
	tr := trimmer(t, l)
	ctx := context.Background()
	es := entries("a", 10)
	mustAppend(t, l, "m", es)
	other := entries("o", 4)
	mustAppend(t, l, "other", other)
	if err := l.SaveSnapshot(ctx, "other", 4, []byte("other@4")); err != nil {
		t.Fatal(err)
	}

	// Without a snapshot nothing goes.
	if err := tr.Trim(ctx, "m"); err != nil {
		t.Fatalf("Trim without a snapshot: %v", err)
	}
	checkLog(t, l, "m", es)
	// Nor for a meeting without a log.
	if err := tr.Trim(ctx, "nobody"); err != nil {
		t.Fatalf("Trim of an unknown meeting: %v", err)
	}
	if ms := mustMeetings(t, l); !slices.Equal(ms, []string{"m", "other"}) {
		t.Fatalf("Meetings after trimming an unknown meeting = %v", ms)
	}
	if err := tr.Trim(ctx, "a b"); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("Trim with a bad meeting id = %v, want ErrInvalid", err)
	}

	if err := l.SaveSnapshot(ctx, "m", 6, []byte("state@6")); err != nil {
		t.Fatal(err)
	}
	if err := tr.Trim(ctx, "m"); err != nil {
		t.Fatalf("Trim: %v", err)
	}
	checkSeqs(t, l, "m", 6, es, []uint64{7, 8, 9, 10})
	checkSeqs(t, l, "m", 8, es, []uint64{9, 10})
	for _, after := range []uint64{0, 1, 5} {
		checkTrimmed(t, l, "m", after)
	}
	if last := mustLast(t, l, "m"); last != 10 {
		t.Fatalf("Last after Trim = %d, want 10", last)
	}
	if seq, data, ok, err := l.Snapshot(ctx, "m"); err != nil || !ok || seq != 6 || string(data) != "state@6" {
		t.Fatalf("Snapshot after Trim = %d %q %v %v", seq, data, ok, err)
	}
	// Another meeting is untouched.
	checkLog(t, l, "other", other)
	// Trimming again at the same snapshot changes nothing.
	if err := tr.Trim(ctx, "m"); err != nil {
		t.Fatalf("second Trim: %v", err)
	}
	checkSeqs(t, l, "m", 6, es, []uint64{7, 8, 9, 10})

	// The ids of trimmed ops are still known: a re-sent op is a duplicate.
	got := mustAppend(t, l, "m", []store.Entry{{ID: "a-2", Data: []byte("again")}, {ID: "a-11", Data: []byte(`{"op":"a-11"}`)}})
	if want := []store.Appended{{Seq: 2, Dup: true}, {Seq: 11}}; !slices.Equal(got, want) {
		t.Fatalf("Append after Trim = %+v, want %+v", got, want)
	}
	es = append(es, entries("a", 11)[10])

	// A later snapshot trims further; an older one saved late does not
	// bring anything back nor move the trim point back.
	if err := l.SaveSnapshot(ctx, "m", 9, []byte("state@9")); err != nil {
		t.Fatal(err)
	}
	if err := tr.Trim(ctx, "m"); err != nil {
		t.Fatalf("Trim at 9: %v", err)
	}
	if err := l.SaveSnapshot(ctx, "m", 7, []byte("state@7")); err != nil {
		t.Fatal(err)
	}
	if err := tr.Trim(ctx, "m"); err != nil {
		t.Fatalf("Trim after a stale snapshot: %v", err)
	}
	checkTrimmed(t, l, "m", 6)
	checkTrimmed(t, l, "m", 8)
	checkSeqs(t, l, "m", 9, es, []uint64{10, 11})

	if s.reopen == nil {
		return
	}
	l = s.reopen(t, l)
	checkTrimmed(t, l, "m", 0)
	checkSeqs(t, l, "m", 9, es, []uint64{10, 11})
	if last := mustLast(t, l, "m"); last != 11 {
		t.Fatalf("Last after reopen = %d, want 11", last)
	}
	got = mustAppend(t, l, "m", []store.Entry{{ID: "a-5", Data: []byte("again")}, {ID: "a-12", Data: []byte("n")}})
	if want := []store.Appended{{Seq: 5, Dup: true}, {Seq: 12}}; !slices.Equal(got, want) {
		t.Fatalf("Append after reopen = %+v, want %+v", got, want)
	}
}

// testTrimThenPurge: a purge forgets the trim point with the rest, so a new
// log under the same id reads from the start.
func testTrimThenPurge(t *testing.T, s *suite) {
	l := s.open(t)
	tr := trimmer(t, l)
	ctx := context.Background()
	mustAppend(t, l, "m", entries("a", 5))
	if err := l.SaveSnapshot(ctx, "m", 4, []byte("state@4")); err != nil {
		t.Fatal(err)
	}
	if err := tr.Trim(ctx, "m"); err != nil {
		t.Fatal(err)
	}
	if err := l.Purge(ctx, "m"); err != nil {
		t.Fatalf("Purge: %v", err)
	}
	fresh := entries("b", 2)
	mustAppend(t, l, "m", fresh)
	checkLog(t, l, "m", fresh)
}

// testLookup: an op id is found at its seq, also after its op was trimmed
// behind a snapshot and after a reopen; unknown ids, ids of another meeting
// and ids of a purged meeting are not found; a bad meeting id is invalid.
func testLookup(t *testing.T, s *suite) {
	l := s.open(t)
	lk, ok := l.(store.IDLookup)
	if !ok {
		t.Skip("this store has no IDLookup")
	}
	ctx := context.Background()
	mustAppend(t, l, "m", entries("a", 6))
	mustAppend(t, l, "n", entries("b", 2))
	check := func(l store.IDLookup, meeting, id string, wantSeq uint64, wantOK bool) {
		t.Helper()
		seq, ok, err := l.Lookup(ctx, meeting, id)
		if err != nil || ok != wantOK || seq != wantSeq {
			t.Fatalf("Lookup(%s, %s) = %d %v %v, want %d %v", meeting, id, seq, ok, err, wantSeq, wantOK)
		}
	}
	check(lk, "m", "a-2", 2, true)
	check(lk, "m", "nope", 0, false)
	check(lk, "m", "b-1", 0, false) // another meeting's id
	check(lk, "n", "b-2", 2, true)
	check(lk, "nobody", "a-1", 0, false)
	if _, _, err := lk.Lookup(ctx, "a b", "a-1"); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("Lookup with a bad meeting id = %v, want ErrInvalid", err)
	}
	if tr, ok := l.(store.Trimmer); ok {
		if err := l.SaveSnapshot(ctx, "m", 4, []byte("state@4")); err != nil {
			t.Fatal(err)
		}
		if err := tr.Trim(ctx, "m"); err != nil {
			t.Fatal(err)
		}
		checkTrimmed(t, l, "m", 0)
		check(lk, "m", "a-1", 1, true) // trimmed, still known
		check(lk, "m", "a-4", 4, true)
		check(lk, "m", "a-6", 6, true)
		check(lk, "m", "nope", 0, false)
	}
	if s.reopen != nil {
		l = s.reopen(t, l)
		lk = l.(store.IDLookup)
		check(lk, "m", "a-3", 3, true)
		check(lk, "n", "a-3", 0, false)
	}
	if err := l.Purge(ctx, "m"); err != nil {
		t.Fatalf("Purge: %v", err)
	}
	check(lk, "m", "a-3", 0, false)
	check(lk, "n", "b-1", 1, true)
}

func testReopen(t *testing.T, s *suite) {
	if s.reopen == nil {
		t.Skip("this store has no Reopen hook")
	}
	l := s.open(t)
	ctx := context.Background()
	es := entries("a", 7)
	mustAppend(t, l, "m", es)
	mustAppend(t, l, "n", entries("b", 2))
	if err := l.SaveSnapshot(ctx, "m", 5, []byte("state@5")); err != nil {
		t.Fatal(err)
	}
	l = s.reopen(t, l)
	checkLog(t, l, "m", es)
	if got := mustMeetings(t, l); !slices.Equal(got, []string{"m", "n"}) {
		t.Fatalf("Meetings after reopen = %v", got)
	}
	if seq, data, ok, err := l.Snapshot(ctx, "m"); err != nil || !ok || seq != 5 || string(data) != "state@5" {
		t.Fatalf("snapshot after reopen = %d %q %v %v", seq, data, ok, err)
	}
	got := mustAppend(t, l, "m", []store.Entry{{ID: "a-3", Data: []byte("again")}, {ID: "new", Data: []byte("n")}})
	want := []store.Appended{{Seq: 3, Dup: true}, {Seq: 8}}
	if !slices.Equal(got, want) {
		t.Fatalf("append after reopen = %+v, want %+v", got, want)
	}
}

func testContext(t *testing.T, s *suite) {
	l := s.open(t)
	mustAppend(t, l, "m", entries("a", 3))
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.Append(cancelled, "m", entries("late", 2)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Append with a cancelled context = %v, want context.Canceled", err)
	}
	if last := mustLast(t, l, "m"); last != 3 {
		t.Fatalf("Append with a cancelled context wrote: Last = %d, want 3", last)
	}
	if err := l.Read(cancelled, "m", 0, func(store.Record) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("Read with a cancelled context = %v, want context.Canceled", err)
	}
	// Cancelled while reading: Read stops with the context's error.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	calls := 0
	err := l.Read(ctx, "m", 0, func(store.Record) error {
		calls++
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) || calls != 1 {
		t.Fatalf("Read cancelled in the callback = %v after %d calls, want context.Canceled after 1", err, calls)
	}
}

func testPing(t *testing.T, s *suite) {
	l := s.open(t)
	if err := l.Ping(context.Background()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}
