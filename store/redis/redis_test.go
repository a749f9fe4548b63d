package redis

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/boucle/designation/internal/testredis"
	"github.com/boucle/designation/store"
	"github.com/boucle/designation/store/storetest"
)

// openLog opens a Log on url with its own key prefix, closed at cleanup.
func openLog(t testing.TB, url, prefix string, opts Options) *Log {
	t.Helper()
	opts.Prefix = prefix
	l, err := Open(context.Background(), url, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func TestConformance(t *testing.T) {
	t.Parallel()
	url, _ := testredis.Start(t)
	var n atomic.Int64
	storetest.Run(t,
		// One server for the whole suite; each log has its own keys.
		func(t *testing.T) store.Log { return openLog(t, url, fmt.Sprintf("t%d:", n.Add(1)), Options{}) },
		storetest.Reopen(func(t *testing.T, old store.Log) store.Log {
			prefix := old.(*Log).opts.Prefix
			if err := old.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			return openLog(t, url, prefix, Options{})
		}))
}

// TestDedupeAcrossInstances: two instances (two clients) re-sending the
// same ops at the same time write each op once and agree on its seq.
func TestDedupeAcrossInstances(t *testing.T) {
	t.Parallel()
	url, _ := testredis.Start(t)
	a := openLog(t, url, "d:", Options{})
	b := openLog(t, url, "d:", Options{})
	const n = 60
	results := [2][]store.Appended{}
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for i, l := range []*Log{a, b} {
		wg.Go(func() {
			for j := range n {
				got, err := l.Append(context.Background(), "m", []store.Entry{{ID: fmt.Sprintf("op-%d", j), Data: []byte("x")}})
				if err != nil {
					errs <- err
					return
				}
				results[i] = append(results[i], got[0])
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for j := range n {
		ra, rb := results[0][j], results[1][j]
		if ra.Seq != rb.Seq || ra.Dup == rb.Dup {
			t.Fatalf("op-%d: instance a got %+v, b got %+v; want the same seq, exactly one fresh", j, ra, rb)
		}
	}
	if last, err := a.Last(context.Background(), "m"); err != nil || last != n {
		t.Fatalf("Last = %d, %v; want %d", last, err, n)
	}
}

type notice struct {
	meeting string
	last    uint64
}

// subscribe collects notices into a channel.
func subscribe(t *testing.T, l *Log) <-chan notice {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ch := make(chan notice, 100)
	if err := l.Subscribe(ctx, func(m string, last uint64) { ch <- notice{m, last} }); err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	return ch
}

// waitNotice waits for a notice satisfying ok, skipping others.
func waitNotice(t *testing.T, ch <-chan notice, what string, ok func(notice) bool) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case n := <-ch:
			if ok(n) {
				return
			}
		case <-deadline:
			t.Fatalf("no notice %s within 5 s", what)
		}
	}
}

func TestSubscriberSeesOtherInstancesAppends(t *testing.T) {
	t.Parallel()
	url, _ := testredis.Start(t)
	listener := openLog(t, url, "s:", Options{})
	writer := openLog(t, url, "s:", Options{})
	other := openLog(t, url, "other:", Options{})
	ch := subscribe(t, listener)
	ctx := context.Background()
	if _, err := other.Append(ctx, "m", []store.Entry{{ID: "x", Data: []byte("1")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := writer.Append(ctx, "m-1", []store.Entry{{ID: "a", Data: []byte("1")}, {ID: "b", Data: []byte("2")}}); err != nil {
		t.Fatal(err)
	}
	waitNotice(t, ch, "m-1 at 2", func(n notice) bool {
		if n.meeting == "m" {
			t.Fatalf("notice from another prefix: %+v", n)
		}
		return n == notice{"m-1", 2}
	})
	// A duplicate writes nothing and wakes nobody; the next fresh op does.
	if _, err := writer.Append(ctx, "m-1", []store.Entry{{ID: "a", Data: []byte("1")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := writer.Append(ctx, "m-1", []store.Entry{{ID: "c", Data: []byte("3")}}); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-ch:
		if n != (notice{"m-1", 3}) {
			t.Fatalf("after a duplicate and a fresh op, notice = %+v, want m-1 at 3", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no notice for the fresh op")
	}
}

// TestSubscriptionCutIsReported: when Redis drops the subscriber's
// connection, go-redis re-subscribes and the subscriber is told notices may
// have been lost (meeting ""), then gets notices again.
func TestSubscriptionCutIsReported(t *testing.T) {
	t.Parallel()
	url, _ := testredis.Start(t)
	l := openLog(t, url, "c:", Options{})
	ch := subscribe(t, l)
	ctx := context.Background()
	if err := l.Client().Do(ctx, "CLIENT", "KILL", "TYPE", "pubsub").Err(); err != nil {
		t.Fatalf("CLIENT KILL: %v", err)
	}
	waitNotice(t, ch, "of a re-subscription", func(n notice) bool { return n == notice{"", 0} })
	if _, err := l.Append(ctx, "m", []store.Entry{{ID: "a", Data: []byte("1")}}); err != nil {
		t.Fatal(err)
	}
	waitNotice(t, ch, "m at 1 after the re-subscription", func(n notice) bool { return n == notice{"m", 1} })
}

// TestRedisDown: with Redis killed (kill -9), calls fail quickly with
// ErrUnavailable; once it is back the same Log works again without being
// reopened, every acked op is still there (AOF, fsync always), and the
// subscriber is told to resynchronise.
func TestRedisDown(t *testing.T) {
	t.Parallel()
	url, srv := testredis.Start(t)
	l := openLog(t, url, "down:", Options{OpTimeout: 2 * time.Second})
	ch := subscribe(t, l)
	ctx := context.Background()
	var acked []store.Entry
	for i := range 20 {
		e := store.Entry{ID: fmt.Sprintf("op-%d", i), Data: []byte(fmt.Sprintf(`{"n":%d}`, i))}
		if _, err := l.Append(ctx, "m", []store.Entry{e}); err != nil {
			t.Fatal(err)
		}
		acked = append(acked, e)
	}
	srv.Kill()

	start := time.Now()
	got, err := l.Append(ctx, "m", []store.Entry{{ID: "refused", Data: []byte("x")}})
	if !errors.Is(err, store.ErrUnavailable) || got != nil {
		t.Fatalf("Append with Redis down = %+v, %v; want nothing and ErrUnavailable", got, err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("Append with Redis down took %v to fail", d)
	}
	if err := l.Ping(ctx); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Ping with Redis down = %v, want ErrUnavailable", err)
	}
	if _, err := l.Last(ctx, "m"); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Last with Redis down = %v, want ErrUnavailable", err)
	}

	srv.Restart()
	if err := l.Ping(ctx); err != nil {
		t.Fatalf("Ping after Redis restarted: %v", err)
	}
	var ids []string
	if err := l.Read(ctx, "m", 0, func(r store.Record) error { ids = append(ids, r.ID); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(ids) != len(acked) {
		t.Fatalf("after kill -9 and restart the log has %d ops, %d were acked", len(ids), len(acked))
	}
	for i, id := range ids {
		if id != acked[i].ID {
			t.Fatalf("op %d is %s, want %s", i+1, id, acked[i].ID)
		}
	}
	got, err = l.Append(ctx, "m", []store.Entry{{ID: "after", Data: []byte("y")}})
	if err != nil || got[0] != (store.Appended{Seq: 21}) {
		t.Fatalf("Append after restart = %+v, %v; want seq 21", got, err)
	}
	waitNotice(t, ch, "of a re-subscription after the restart", func(n notice) bool { return n == notice{"", 0} })
}

// grepDir lists the files under dir containing needle.
func grepDir(t *testing.T, dir, needle string) []string {
	t.Helper()
	var hits []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // a history file deleted while we walk
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(needle)) {
			hits = append(hits, filepath.Base(path))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hits
}

// TestPurgeRewritesAOF plants canary e-mails and phones, purges, and greps
// every file of Redis's data directory: the values must be gone from the
// AOF, not just from memory.
func TestPurgeRewritesAOF(t *testing.T) {
	t.Parallel()
	url, srv := testredis.Start(t)
	l := openLog(t, url, "p:", Options{})
	ctx := context.Background()
	canaries := []string{"canary.9b8c7d@example.org", "+33 7 11 22 33 44 canary", "canary-snapshot-a4f0"}
	var es []store.Entry
	for i := range 50 {
		es = append(es, store.Entry{ID: fmt.Sprintf("op-%d", i), Data: []byte(fmt.Sprintf(`{"email":%q,"phone":%q,"n":%d}`, canaries[0], canaries[1], i))})
	}
	if _, err := l.Append(ctx, "secret", es); err != nil {
		t.Fatal(err)
	}
	if err := l.SaveSnapshot(ctx, "secret", 50, []byte(canaries[2])); err != nil {
		t.Fatal(err)
	}
	kept := []store.Entry{{ID: "k", Data: []byte("kept data")}}
	if _, err := l.Append(ctx, "kept", kept); err != nil {
		t.Fatal(err)
	}
	for _, c := range canaries {
		if hits := grepDir(t, srv.Dir(), c); len(hits) == 0 {
			t.Fatalf("canary %q not in the AOF before the purge: the test is blind", c)
		}
	}
	if err := l.Purge(ctx, "secret"); err != nil {
		t.Fatalf("Purge: %v", err)
	}
	// Redis deletes the replaced AOF files in a background thread right
	// after the rewrite: allow it a moment.
	deadline := time.Now().Add(5 * time.Second)
	for _, c := range canaries {
		for {
			hits := grepDir(t, srv.Dir(), c)
			if len(hits) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("canary %q still in %v after the purge", c, hits)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	var got []string
	if err := l.Read(ctx, "kept", 0, func(r store.Record) error { got = append(got, string(r.Data)); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != "kept data" {
		t.Fatalf("the other meeting after the purge = %v", got)
	}
	// And it survives a restart from the rewritten AOF.
	srv.Kill()
	srv.Restart()
	if last, err := l.Last(ctx, "kept"); err != nil || last != 1 {
		t.Fatalf("kept meeting after restart: Last = %d, %v", last, err)
	}
	if last, err := l.Last(ctx, "secret"); err != nil || last != 0 {
		t.Fatalf("purged meeting after restart: Last = %d, %v", last, err)
	}
}

func TestCheckPersistence(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url, _ := testredis.Start(t)
	l := openLog(t, url, "c:", Options{})
	if err := l.CheckPersistence(ctx); err != nil {
		t.Fatalf("CheckPersistence with AOF on: %v", err)
	}
	if p, err := l.Persistence(ctx); err != nil || p != (Persistence{AppendOnly: true, AppendFsync: "always"}) {
		t.Fatalf("Persistence = %+v, %v", p, err)
	}

	bareURL, _ := testredis.StartWithoutAOF(t)
	bare := openLog(t, bareURL, "c:", Options{})
	err := bare.CheckPersistence(ctx)
	if !errors.Is(err, ErrNoAOF) {
		t.Fatalf("CheckPersistence without AOF = %v, want ErrNoAOF", err)
	}
	if !strings.Contains(err.Error(), "appendonly") {
		t.Fatalf("the error does not say what to change: %v", err)
	}
	// Purge works there too (nothing to rewrite).
	if _, err := bare.Append(ctx, "m", []store.Entry{{ID: "a", Data: []byte("1")}}); err != nil {
		t.Fatal(err)
	}
	if err := bare.Purge(ctx, "m"); err != nil {
		t.Fatalf("Purge without AOF: %v", err)
	}
}

// TestTrim: the stream keeps only the ops after the snapshot; a Read from
// before it says so (ErrTrimmed) instead of skipping ops; ids stay known.
func TestTrim(t *testing.T) {
	t.Parallel()
	url, _ := testredis.Start(t)
	l := openLog(t, url, "tr:", Options{})
	ctx := context.Background()
	var es []store.Entry
	for i := range 10 {
		es = append(es, store.Entry{ID: fmt.Sprintf("op-%d", i+1), Data: []byte{byte('a' + i)}})
	}
	if _, err := l.Append(ctx, "m", es); err != nil {
		t.Fatal(err)
	}
	if err := l.Trim(ctx, "m"); err != nil {
		t.Fatalf("Trim without a snapshot: %v", err)
	}
	if n := l.Client().XLen(ctx, l.keys("m").ops).Val(); n != 10 {
		t.Fatalf("Trim without a snapshot removed ops: %d left", n)
	}
	if err := l.SaveSnapshot(ctx, "m", 6, []byte("state@6")); err != nil {
		t.Fatal(err)
	}
	if err := l.Trim(ctx, "m"); err != nil {
		t.Fatal(err)
	}
	if n := l.Client().XLen(ctx, l.keys("m").ops).Val(); n != 4 {
		t.Fatalf("after Trim the stream has %d ops, want 4", n)
	}
	var seqs []uint64
	if err := l.Read(ctx, "m", 6, func(r store.Record) error { seqs = append(seqs, r.Seq); return nil }); err != nil {
		t.Fatalf("Read after the snapshot: %v", err)
	}
	if fmt.Sprint(seqs) != "[7 8 9 10]" {
		t.Fatalf("Read after 6 = %v", seqs)
	}
	for _, after := range []uint64{0, 3, 5} {
		called := false
		err := l.Read(ctx, "m", after, func(store.Record) error { called = true; return nil })
		if !errors.Is(err, store.ErrTrimmed) || called {
			t.Fatalf("Read after %d = %v (callback called: %v), want ErrTrimmed before any record", after, err, called)
		}
	}
	got, err := l.Append(ctx, "m", []store.Entry{{ID: "op-2", Data: []byte("again")}, {ID: "op-11", Data: []byte("k")}})
	if err != nil || got[0] != (store.Appended{Seq: 2, Dup: true}) || got[1] != (store.Appended{Seq: 11}) {
		t.Fatalf("Append after Trim = %+v, %v", got, err)
	}
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		name, url string
	}{
		{"bad scheme", "http://user:s3cr3t@127.0.0.1:1"},
		{"bad port", "redis://user:s3cr3t@127.0.0.1:notaport"},
		{"unknown option", "redis://user:s3cr3t@127.0.0.1:1?bogus=1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Open(ctx, tc.url, Options{})
			if err == nil {
				t.Fatal("Open accepted it")
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Fatalf("the error shows the password: %v", err)
			}
		})
	}
	if _, err := Open(ctx, "redis://127.0.0.1:6379", Options{Prefix: "a b"}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("Open with a bad prefix = %v, want ErrInvalid", err)
	}
	// Nothing listens there: a clear, quick ErrUnavailable.
	_, srv := testredis.Start(t)
	addr := srv.Addr()
	srv.Kill()
	start := time.Now()
	_, err := Open(ctx, "redis://user:s3cr3t@"+addr, Options{})
	if !errors.Is(err, store.ErrUnavailable) || strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("Open on a dead address = %v, want ErrUnavailable without the password", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("Open on a dead address took %v", d)
	}
}

// TestURLKinds: Sentinel and Cluster are chosen from the URL (no such
// servers here: only the client kind is checked).
func TestURLKinds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url     string
		cluster bool
	}{
		{"redis://127.0.0.1:1/2", false},
		{"rediss://127.0.0.1:1", false},
		{"redis://127.0.0.1:1?master_name=main&addr=127.0.0.1:2", false},
		{"redis://127.0.0.1:1?addr=127.0.0.1:2&addr=127.0.0.1:3", true},
	} {
		c, err := newClient(tc.url)
		if err != nil {
			t.Fatalf("%s: %v", tc.url, err)
		}
		_, isCluster := c.(*goredis.ClusterClient)
		c.Close()
		if isCluster != tc.cluster {
			t.Fatalf("%s: cluster client = %v, want %v", tc.url, isCluster, tc.cluster)
		}
	}
}

// BenchmarkAppendParallel: many meetings' actors appending small batches
// at once; Redis shares each AOF fsync between the clients of one
// event-loop turn.
func BenchmarkAppendParallel(b *testing.B) {
	url, _ := testredis.Start(b)
	l := openLog(b, url, "bench:", Options{})
	var meeting atomic.Int64
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		m := fmt.Sprintf("m-%d", meeting.Add(1))
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
}

func BenchmarkRead(b *testing.B) {
	url, _ := testredis.Start(b)
	l := openLog(b, url, "bench:", Options{})
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

// TestKillMidStreamLosesNoAckedOp: writers append without pause while
// Redis is killed with SIGKILL; after the restart every op that was acked
// is in the log, in a gapless order.
func TestKillMidStreamLosesNoAckedOp(t *testing.T) {
	t.Parallel()
	url, srv := testredis.Start(t)
	l := openLog(t, url, "k:", Options{OpTimeout: time.Second})
	ctx := context.Background()
	var (
		mu    sync.Mutex
		acked = map[string]uint64{}
		wg    sync.WaitGroup
		first = make(chan struct{})
		once  sync.Once
	)
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				id := fmt.Sprintf("w%d-%d", w, i)
				got, err := l.Append(ctx, "m", []store.Entry{{ID: id, Data: []byte(id)}})
				if err != nil {
					if !errors.Is(err, store.ErrUnavailable) {
						t.Errorf("writer %d: %v, want ErrUnavailable", w, err)
					}
					return
				}
				mu.Lock()
				acked[id] = got[0].Seq
				n := len(acked)
				mu.Unlock()
				if n >= 200 {
					once.Do(func() { close(first) })
				}
			}
		})
	}
	<-first
	srv.Kill() // writers stop at their first refused append
	wg.Wait()
	srv.Restart()
	stored := map[string]uint64{}
	var next uint64 = 1
	if err := l.Read(ctx, "m", 0, func(r store.Record) error {
		if r.Seq != next {
			return fmt.Errorf("seq %d where %d was expected", r.Seq, next)
		}
		next++
		stored[r.ID] = r.Seq
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for id, seq := range acked {
		if stored[id] != seq {
			t.Fatalf("op %s acked at seq %d, after restart at %d (0: lost)", id, seq, stored[id])
		}
	}
	t.Logf("%d ops acked before the kill, %d in the log after the restart", len(acked), len(stored))
}

// TestConcurrentPurges: two instances purging different meetings at the
// same time (a BGREWRITEAOF may find the other one running) both end
// with their meeting's bytes gone from the AOF.
func TestConcurrentPurges(t *testing.T) {
	t.Parallel()
	url, srv := testredis.Start(t)
	ctx := context.Background()
	logs := []*Log{openLog(t, url, "cp:", Options{}), openLog(t, url, "cp:", Options{})}
	canaries := []string{"canary-one-5e6f7a@example.org", "canary-two-8b9c0d@example.org"}
	for i, l := range logs {
		var es []store.Entry
		for j := range 200 {
			es = append(es, store.Entry{ID: fmt.Sprintf("op-%d", j), Data: []byte(fmt.Sprintf(`{"email":%q,"n":%d}`, canaries[i], j))})
		}
		if _, err := l.Append(ctx, fmt.Sprintf("m%d", i), es); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for i, l := range logs {
		wg.Go(func() {
			if err := l.Purge(ctx, fmt.Sprintf("m%d", i)); err != nil {
				t.Errorf("Purge m%d: %v", i, err)
			}
		})
	}
	wg.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for _, c := range canaries {
		for len(grepDir(t, srv.Dir(), c)) > 0 {
			if time.Now().After(deadline) {
				t.Fatalf("canary %q still in the AOF after both purges", c)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// TestRedisHung: a Redis that accepts connections but answers nothing
// (SIGSTOP) makes calls fail with ErrUnavailable within OpTimeout, and the
// same Log works again once it answers.
func TestRedisHung(t *testing.T) {
	t.Parallel()
	url, srv := testredis.Start(t)
	l := openLog(t, url, "hung:", Options{OpTimeout: 500 * time.Millisecond})
	ctx := context.Background()
	if _, err := l.Append(ctx, "m", []store.Entry{{ID: "a", Data: []byte("1")}}); err != nil {
		t.Fatal(err)
	}
	srv.Pause()
	start := time.Now()
	_, err := l.Append(ctx, "m", []store.Entry{{ID: "b", Data: []byte("2")}})
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Append to a hung Redis = %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Fatalf("Append to a hung Redis took %v with OpTimeout 500ms", d)
	}
	// The caller's own deadline, shorter than OpTimeout, also reads as
	// unavailable (not as a bare context error).
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if err := l.Ping(short); !errors.Is(err, store.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Ping past the caller's deadline = %v, want ErrUnavailable and DeadlineExceeded", err)
	}
	srv.Resume()
	// The append that timed out may have been executed once Redis woke up:
	// re-sending it is safe (same id), and the log has no hole.
	got, err := l.Append(ctx, "m", []store.Entry{{ID: "b", Data: []byte("2")}, {ID: "c", Data: []byte("3")}})
	if err != nil {
		t.Fatalf("Append after Resume: %v", err)
	}
	if got[0].Seq != 2 || got[1] != (store.Appended{Seq: 3}) {
		t.Fatalf("Append after Resume = %+v, want b at 2 and c fresh at 3", got)
	}
}

// TestInterruptedPurgeFinishesAtOpen: an instance that died between
// deleting a meeting's keys and the AOF rewrite left the values in the AOF
// and a purge mark; the next Open rewrites the AOF and clears the mark.
func TestInterruptedPurgeFinishesAtOpen(t *testing.T) {
	t.Parallel()
	url, srv := testredis.Start(t)
	l := openLog(t, url, "ip:", Options{})
	ctx := context.Background()
	canary := "canary.interrupted.6a7b@example.org"
	if _, err := l.Append(ctx, "secret", []store.Entry{{ID: "a", Data: []byte(canary)}}); err != nil {
		t.Fatal(err)
	}
	// The first half of Purge only, then the instance "dies".
	k := l.keys("secret")
	if n, err := l.purgeScript.Run(ctx, l.Client(), []string{k.seq, k.ops, k.ids, k.snap, k.trim, k.purged}).Int(); err != nil || n != 1 {
		t.Fatalf("purge script = %d, %v", n, err)
	}
	l.Close()
	if len(grepDir(t, srv.Dir(), canary)) == 0 {
		t.Fatal("the canary is not in the AOF after the deletion alone: the test is blind")
	}
	l2 := openLog(t, url, "ip:", Options{})
	deadline := time.Now().Add(5 * time.Second)
	for len(grepDir(t, srv.Dir(), canary)) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the canary is still in the AOF after the next Open")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := l2.Client().Exists(ctx, k.purged).Val(); n != 0 {
		t.Fatal("the purge mark is still set")
	}
	// A purge of an unknown meeting, with nothing pending, rewrites nothing.
	before := parseInfo(l2.Client().Info(ctx, "persistence").Val())["aof_rewrites"]
	if err := l2.Purge(ctx, "nobody"); err != nil {
		t.Fatal(err)
	}
	if after := parseInfo(l2.Client().Info(ctx, "persistence").Val())["aof_rewrites"]; after != before {
		t.Fatalf("purging an unknown meeting rewrote the AOF (%s -> %s rewrites)", before, after)
	}
}

// TestSubscriptionEndsWithContext: cancelling Subscribe's context stops
// the notices.
func TestSubscriptionEndsWithContext(t *testing.T) {
	t.Parallel()
	url, _ := testredis.Start(t)
	l := openLog(t, url, "e:", Options{})
	ctx, cancel := context.WithCancel(context.Background())
	var calls atomic.Int64
	if err := l.Subscribe(ctx, func(string, uint64) { calls.Add(1) }); err != nil {
		t.Fatal(err)
	}
	cancel()
	// Wait until Redis no longer counts our pattern subscription.
	deadline := time.Now().Add(5 * time.Second)
	for l.Client().Do(context.Background(), "PUBSUB", "NUMPAT").Val() != int64(0) {
		if time.Now().After(deadline) {
			t.Fatal("the pattern subscription outlived its context")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := l.Append(context.Background(), "m", []store.Entry{{ID: "a", Data: []byte("1")}}); err != nil {
		t.Fatal(err)
	}
	if n := calls.Load(); n != 0 {
		t.Fatalf("fn called %d times after the context ended", n)
	}
}
