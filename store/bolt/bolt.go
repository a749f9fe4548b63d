// Package bolt is the embedded op log: every meeting's ops in one bbolt
// file, fsynced before Append returns. It is the default store of a single
// server process (see store/redis for several instances).
//
// Layout: a bucket "meta" (the layout's version, and a mark while a
// purge's compaction is pending) and a root bucket "meetings" holding one
// bucket per meeting id, with
//
//	ops   seq (8 bytes, big-endian, so keys sort in log order) -> uvarint(len(id)) id data
//	ids   op id -> seq (8 bytes) of the ops trimmed away: de-duplication of re-sent ops
//	last  the highest seq (8 bytes)
//	snap  seq (8 bytes) + the encoded state
//	trim  seq (8 bytes): ops up to it were trimmed behind a snapshot
//
// Group commit: one committer goroutine takes every Append and SaveSnapshot
// waiting at that moment and writes them in one transaction, so one fsync
// serves them all. It starts the next transaction as soon as the previous
// one is on disk: an idle store commits a lone op at once (no timer, unlike
// bbolt's DB.Batch whose MaxBatchDelay would add its delay to every op of a
// quiet meeting), and under load the batch grows with the ops that arrived
// during the previous fsync, which is the wait worth sharing. When a
// transaction had company (it served more than one write: several meetings
// are busy), the next one waits CommitDelay after its first write for more,
// or until it has enoughCompany.
// At 1,000 ops a second from 100 meetings, transactions carried about 1.4
// writes each: two fsyncs and bbolt's copy of the pages they touch were
// paid for nearly every write.
//
// De-duplication: an op id is found in the ops still in the log through
// an index in memory (opIDs, built from the ops bucket the first time a
// write needs it), and in the ids bucket once trimmed. An append therefore
// writes one place, the end of the ops bucket, rather than also a random
// leaf of the ids index (op ids are random UUIDs): at the national peak
// that was a third of the pages each commit wrote and two thirds of the
// bytes an append allocated. A trim moves the ids of the ops it deletes
// into the ids bucket in the same transaction. Files written before this
// hold every id in the ids bucket, which is still read.
package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/bbolt"

	"github.com/boucle/designation/store"
)

var (
	_ store.Log     = (*Log)(nil)
	_ store.Trimmer = (*Log)(nil)
)

// Bucket and key names.
var (
	rootBucket = []byte("meetings")
	metaBucket = []byte("meta") // compact-pending: a purge to finish
	opsBucket  = []byte("ops")
	idsBucket  = []byte("ids")
	lastKey    = []byte("last")
	snapKey    = []byte("snap")
	// snapBucket holds the snapshot (under snapKey) in a bucket of its
	// own: a value in the meeting's bucket is rewritten with that bucket's
	// leaf at every append (lastKey), and a meeting's snapshot is tens of
	// kilobytes. Files written before keep it under snapKey in the
	// meeting's bucket until the next snapshot moves it (readSnapshot).
	snapBucket = []byte("snapshot")
	trimKey    = []byte("trim")

	compactPendingKey = []byte("compact-pending")
	formatKey         = []byte("format")
)

// fileFormat is the version of the layout this package writes, recorded
// under formatKey in the meta bucket. It reads every earlier one. Version 2:
// the ids of the ops still in the log are only in their op records (the ids
// bucket holds the trimmed ones). Version 1, and files with no version
// (written before it was recorded): the same, or every id also in the ids
// bucket. A file of a later version is refused (ErrNewerFormat) rather than
// misread: a server older than the file would, for example, not see the ids
// a later layout keeps elsewhere, and take re-sent ops for new ones.
const fileFormat = 2

// ErrNewerFormat is returned by Open for a file written by a later version
// of this package, whose layout this one cannot read.
var ErrNewerFormat = errors.New("file written by a newer version of the server")

const (
	// readChunk is how many records Read copies out of one read
	// transaction before calling fn: fn then runs outside any transaction
	// (it may block on a network write or call the Log).
	readChunk = 256
	// compactTxSize is the bytes bbolt.Compact copies per transaction.
	compactTxSize = 32 << 20
)

// Options tunes a Log. The zero value is ready to use.
type Options struct {
	// LockTimeout is how long Open waits for another process to release
	// the file (bbolt locks it). Default 5 s; the error then names the file.
	LockTimeout time.Duration
	// MaxBatch bounds how many Append and SaveSnapshot calls share one
	// transaction (one fsync). Default 512: large enough to absorb a burst
	// of a hundred meetings, small enough to keep one commit short.
	MaxBatch int
	// CommitDelay is how long a transaction waits after its first write
	// for more to share it (at most until it has enoughCompany writes),
	// when the previous transaction served more than one write (a lone
	// writer never waits). Default 2 ms; negative: never.
	CommitDelay time.Duration

	// openFile replaces os.OpenFile (tests: a disk that fails).
	openFile func(name string, flag int, perm os.FileMode) (*os.File, error)
}

// enoughCompany is the number of writes after which a transaction stops
// waiting for more (CommitDelay) and takes what else is waiting. When every
// busy meeting waits for its commit before sending more (saturation), the
// writers are all in at once: waiting longer would only idle the disk (at
// 5,000 edits/s, a full 2 ms wait per transaction cut the ops acked from
// 4,847 to 2,997 a second).
const enoughCompany = 8

// Log is a store.Log in one bbolt file.
type Log struct {
	path string
	opts Options

	// mu guards db: every use holds it shared; Purge holds it exclusively
	// to swap in the compacted file. db is nil once closed.
	mu sync.RWMutex
	db *bbolt.DB

	writes  chan *write   // unbuffered: the committer takes every waiting write
	closing chan struct{} // closed by Close
	stopped chan struct{} // closed when the committer returns
	once    sync.Once

	commits atomic.Int64 // transactions committed by the committer (tests)

	// opIDs is the index of the op ids in each meeting's ops bucket
	// (trimmed ops' ids are in its ids bucket), for the meetings a write
	// transaction has needed it for. Only write transactions use it: the
	// committer's, holding mu shared, and Scrub's and Purge's, holding it
	// exclusively. A transaction that fails drops the indexes it touched
	// (touched), which the next one rebuilds from the file.
	opIDs   map[string]*opIDs
	touched map[string]bool
	swept   time.Time // when opIDs was last rid of idle meetings
}

// opIDs maps the ids of a meeting's ops still in its ops bucket to their
// seqs.
type opIDs struct {
	seqs map[string]uint64
	used time.Time // the last transaction that used it
}

// opIDsIdle is how long a meeting's id index stays in memory unused (it
// holds at most the ops between two trims, SnapshotEvery of them).
const opIDsIdle = 10 * time.Minute

// write is one caller's part of a group commit.
type write struct {
	ctx context.Context
	// apply writes inside the shared transaction; it must reset any
	// result it records, since a batch can be re-run without a failed
	// member.
	apply func(tx *bbolt.Tx) error
	done  chan error // buffered(1): the committer never blocks on it
}

// applyError marks an error of one write's apply (not of the commit), so
// the committer can fail that write alone and commit the others.
type applyError struct{ err error }

func (e applyError) Error() string { return e.err.Error() }

// Open opens (or creates) the log file at path, creating its directory.
func Open(path string, opts Options) (*Log, error) {
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = 5 * time.Second
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 512
	}
	if opts.CommitDelay == 0 {
		opts.CommitDelay = 2 * time.Millisecond
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("bolt: create directory of %s: %w", path, err)
	}
	l := &Log{
		path:    path,
		opts:    opts,
		writes:  make(chan *write),
		closing: make(chan struct{}),
		stopped: make(chan struct{}),
		opIDs:   map[string]*opIDs{},
		touched: map[string]bool{},
		swept:   time.Now(),
	}
	db, err := l.openDB(path)
	if err != nil {
		return nil, err
	}
	l.db = db
	// A purge interrupted (crash, full disk) between deleting a meeting
	// and compacting left its bytes in free pages: compact now. On failure
	// the mark stays and the next Purge or Open tries again.
	if l.compactionPending() {
		if err := l.compactAndClearLocked(); err != nil && l.db == nil {
			return nil, fmt.Errorf("bolt: open %s: finish an interrupted purge: %w", path, err)
		}
	}
	go l.commitLoop()
	return l, nil
}

// compactionPending says whether a purge has deleted data not yet
// compacted away.
func (l *Log) compactionPending() bool {
	pending := false
	l.db.View(func(tx *bbolt.Tx) error {
		pending = tx.Bucket(metaBucket).Get(compactPendingKey) != nil
		return nil
	})
	return pending
}

func (l *Log) openDB(path string) (*bbolt.DB, error) {
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{
		Timeout:  l.opts.LockTimeout,
		OpenFile: l.opts.openFile,
	})
	if err != nil {
		if errors.Is(err, bbolt.ErrTimeout) {
			return nil, fmt.Errorf("bolt: open %s: file locked by another process: %w", path, err)
		}
		return nil, fmt.Errorf("bolt: open %s: %w", path, err)
	}
	// Checked before anything is written: a newer file is left as it is.
	var version uint64
	if err := db.View(func(tx *bbolt.Tx) error {
		if meta := tx.Bucket(metaBucket); meta != nil {
			version = readSeq(meta.Get(formatKey))
		}
		return nil
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("bolt: read the layout version of %s: %w", path, err)
	}
	if version > fileFormat {
		db.Close()
		return nil, fmt.Errorf("bolt: open %s: %w (layout version %d; this server reads up to %d): run that version or a later one, or restore the copy of the file saved before the upgrade",
			path, ErrNewerFormat, version, fileFormat)
	}
	if err := db.Update(func(tx *bbolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(metaBucket)
		if err != nil {
			return err
		}
		if version < fileFormat {
			if err := meta.Put(formatKey, seqKey(fileFormat)); err != nil {
				return err
			}
		}
		_, err = tx.CreateBucketIfNotExists(rootBucket)
		return err
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("bolt: init %s: %w", path, err)
	}
	return db, nil
}

// errClosed is returned by every call after Close.
var errClosed = fmt.Errorf("bolt: log closed: %w", store.ErrUnavailable)

// commitLoop is the group committer: it owns every write transaction.
func (l *Log) commitLoop() {
	defer close(l.stopped)
	delay := time.NewTimer(time.Hour)
	delay.Stop()
	crowded := false // the previous transaction served several writes
	for {
		var first *write
		select {
		case first = <-l.writes:
		case <-l.closing:
			return
		}
		batch := []*write{first}
		if crowded && l.opts.CommitDelay > 0 {
			delay.Reset(l.opts.CommitDelay)
		wait:
			for len(batch) < min(enoughCompany, l.opts.MaxBatch) {
				select {
				case w := <-l.writes:
					batch = append(batch, w)
				case <-delay.C:
					break wait
				}
			}
			delay.Stop()
		}
	gather:
		for len(batch) < l.opts.MaxBatch {
			select {
			case w := <-l.writes:
				batch = append(batch, w)
			default:
				break gather
			}
		}
		crowded = len(batch) > 1
		l.commit(batch)
	}
}

// commit writes batch in one transaction and answers every member. A
// member whose apply fails is answered alone and the rest re-committed.
func (l *Log) commit(batch []*write) {
	live := batch[:0]
	for _, w := range batch {
		if err := w.ctx.Err(); err != nil {
			w.done <- err // given up before its turn: not written
			continue
		}
		live = append(live, w)
	}
	batch = live
	for len(batch) > 0 {
		failed := -1
		l.mu.RLock()
		var err error
		if l.db == nil {
			err = errClosed
		} else {
			err = l.update(func(tx *bbolt.Tx) error {
				for i, w := range batch {
					if err := w.apply(tx); err != nil {
						failed = i
						return applyError{err}
					}
				}
				return nil
			})
			l.sweepOpIDs()
		}
		l.mu.RUnlock()
		var ae applyError
		switch {
		case err == nil:
			l.commits.Add(1)
			for _, w := range batch {
				w.done <- nil
			}
			return
		case errors.As(err, &ae) && failed >= 0:
			batch[failed].done <- ae.err
			batch = append(batch[:failed:failed], batch[failed+1:]...)
		default:
			if !errors.Is(err, store.ErrUnavailable) {
				err = fmt.Errorf("bolt: commit to %s: %w: %w", l.path, store.ErrUnavailable, err)
			}
			for _, w := range batch {
				w.done <- err
			}
			return
		}
	}
}

// update runs fn in a write transaction. When it fails, the id indexes
// that fn changed are dropped: they may hold ids of ops rolled back, or
// lack ids of ops a rolled-back trim had deleted.
func (l *Log) update(fn func(tx *bbolt.Tx) error) error {
	clear(l.touched)
	err := l.db.Update(fn)
	if err != nil {
		for m := range l.touched {
			delete(l.opIDs, m)
		}
	}
	return err
}

// idsOf is the index of the ids in the meeting's ops bucket, built from it
// when not in memory, for a write transaction that may change it.
func (l *Log) idsOf(meeting string, ops *bbolt.Bucket) (*opIDs, error) {
	l.touched[meeting] = true
	now := time.Now()
	if ix, ok := l.opIDs[meeting]; ok {
		ix.used = now
		return ix, nil
	}
	ix := &opIDs{seqs: map[string]uint64{}, used: now}
	if ops != nil {
		err := forEachOpID(ops, math.MaxUint64, func(k, id []byte) error {
			ix.seqs[string(id)] = readSeq(k)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	l.opIDs[meeting] = ix
	return ix, nil
}

// sweepOpIDs drops, once a minute, the id indexes of meetings that had no
// write for opIDsIdle: a server that runs for months meets many meetings.
func (l *Log) sweepOpIDs() {
	now := time.Now()
	if now.Sub(l.swept) < time.Minute {
		return
	}
	l.swept = now
	for m, ix := range l.opIDs {
		if now.Sub(ix.used) > opIDsIdle {
			delete(l.opIDs, m)
		}
	}
}

// submit hands apply to the committer and waits until it is on disk. When
// ctx ends after the committer took it, the write may or may not have been
// committed: a retry with the same op ids is safe (they are de-duplicated).
func (l *Log) submit(ctx context.Context, apply func(tx *bbolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w := &write{ctx: ctx, apply: apply, done: make(chan error, 1)}
	select {
	case l.writes <- w:
	case <-l.closing:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-w.done:
		return err
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			// The disk is too slow for the caller: unavailable, as a
			// failing disk would be.
			return fmt.Errorf("bolt: gave up waiting for the commit (it may have happened): %w: %w", store.ErrUnavailable, ctx.Err())
		}
		return fmt.Errorf("bolt: gave up waiting for the commit (it may have happened): %w", ctx.Err())
	}
}

func seqKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, seq)
}

func encodeOp(id string, data []byte) []byte {
	b := make([]byte, 0, binary.MaxVarintLen64+len(id)+len(data))
	b = binary.AppendUvarint(b, uint64(len(id)))
	b = append(b, id...)
	return append(b, data...)
}

func decodeOp(v []byte) (id string, data []byte, err error) {
	idb, data, err := splitOp(v)
	if err != nil {
		return "", nil, err
	}
	return string(idb), bytes.Clone(data), nil
}

// splitOp is an op record's id and data, in v's memory.
func splitOp(v []byte) (id, data []byte, err error) {
	n, w := binary.Uvarint(v)
	if w <= 0 || uint64(len(v)-w) < n {
		return nil, nil, errors.New("corrupt op record")
	}
	return v[w : w+int(n)], v[w+int(n):], nil
}

// forEachOpID calls fn with the key and the op id (in the transaction's
// memory: valid until it writes) of each op in ops up to seq upTo, in log
// order, until fn returns an error.
func forEachOpID(ops *bbolt.Bucket, upTo uint64, fn func(k, id []byte) error) error {
	c := ops.Cursor()
	for k, v := c.First(); k != nil && readSeq(k) <= upTo; k, v = c.Next() {
		id, _, err := splitOp(v)
		if err != nil {
			return fmt.Errorf("seq %d: %w", readSeq(k), err)
		}
		if err := fn(k, id); err != nil {
			return err
		}
	}
	return nil
}

func readSeq(v []byte) uint64 {
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

// readSnapshot is the meeting's snapshot record (seq, then data), nil when
// it has none: in its own bucket, or where files written before kept it.
func readSnapshot(mb *bbolt.Bucket) []byte {
	if mb == nil {
		return nil
	}
	if sb := mb.Bucket(snapBucket); sb != nil {
		if v := sb.Get(snapKey); v != nil {
			return v
		}
	}
	return mb.Get(snapKey)
}

// meetingBucket is the meeting's bucket, or nil when it has no log.
func meetingBucket(tx *bbolt.Tx, meeting string) *bbolt.Bucket {
	root := tx.Bucket(rootBucket)
	if root == nil {
		return nil
	}
	return root.Bucket([]byte(meeting))
}

// Append implements store.Log.
func (l *Log) Append(ctx context.Context, meeting string, entries []store.Entry) ([]store.Appended, error) {
	if err := store.CheckAppend(meeting, entries); err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		return []store.Appended{}, nil
	}
	out := make([]store.Appended, len(entries))
	err := l.submit(ctx, func(tx *bbolt.Tx) error {
		mb, err := tx.Bucket(rootBucket).CreateBucketIfNotExists([]byte(meeting))
		if err != nil {
			return err
		}
		ops, err := mb.CreateBucketIfNotExists(opsBucket)
		if err != nil {
			return err
		}
		// Ops are only appended at the end: fill each page before the
		// next (bbolt splits half full by default).
		ops.FillPercent = 1
		inLog, err := l.idsOf(meeting, ops)
		if err != nil {
			return err
		}
		trimmed := mb.Bucket(idsBucket) // nil until a trim
		last := readSeq(mb.Get(lastKey))
		for i, e := range entries {
			if seq, ok := inLog.seqs[e.ID]; ok {
				out[i] = store.Appended{Seq: seq, Dup: true}
				continue
			}
			if trimmed != nil {
				if prev := trimmed.Get([]byte(e.ID)); prev != nil {
					out[i] = store.Appended{Seq: readSeq(prev), Dup: true}
					continue
				}
			}
			last++
			if err := ops.Put(seqKey(last), encodeOp(e.ID, e.Data)); err != nil {
				return err
			}
			inLog.seqs[e.ID] = last
			out[i] = store.Appended{Seq: last}
		}
		return mb.Put(lastKey, seqKey(last))
	})
	if err != nil {
		return nil, fmt.Errorf("bolt: append to %s: %w", meeting, err)
	}
	return out, nil
}

// view runs fn in a read transaction on the current file.
func (l *Log) view(fn func(tx *bbolt.Tx) error) error {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.db == nil {
		return errClosed
	}
	return l.db.View(fn)
}

// Read implements store.Log. It copies records out readChunk at a time, so
// fn never runs inside a transaction.
func (l *Log) Read(ctx context.Context, meeting string, after uint64, fn func(store.Record) error) error {
	if err := store.CheckMeetingID(meeting); err != nil {
		return err
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if after == math.MaxUint64 {
			return nil // nothing can follow (and after+1 would wrap to 0)
		}
		var chunk []store.Record
		err := l.view(func(tx *bbolt.Tx) error {
			mb := meetingBucket(tx, meeting)
			if mb == nil || mb.Bucket(opsBucket) == nil {
				return nil
			}
			if trimmed := readSeq(mb.Get(trimKey)); after < trimmed {
				return fmt.Errorf("%w (ops up to %d are only in the snapshot)", store.ErrTrimmed, trimmed)
			}
			c := mb.Bucket(opsBucket).Cursor()
			for k, v := c.Seek(seqKey(after + 1)); k != nil && len(chunk) < readChunk; k, v = c.Next() {
				id, data, err := decodeOp(v)
				if err != nil {
					return fmt.Errorf("seq %d: %w", readSeq(k), err)
				}
				chunk = append(chunk, store.Record{Seq: readSeq(k), ID: id, Data: data})
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("bolt: read %s after %d: %w", meeting, after, err)
		}
		for _, r := range chunk {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := fn(r); err != nil {
				return err
			}
			after = r.Seq
		}
		if len(chunk) < readChunk {
			return nil
		}
	}
}

// Last implements store.Log.
func (l *Log) Last(ctx context.Context, meeting string) (uint64, error) {
	if err := store.CheckMeetingID(meeting); err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	var last uint64
	err := l.view(func(tx *bbolt.Tx) error {
		if mb := meetingBucket(tx, meeting); mb != nil {
			last = readSeq(mb.Get(lastKey))
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("bolt: last of %s: %w", meeting, err)
	}
	return last, nil
}

// Meetings implements store.Log. bbolt keeps keys sorted by bytes, which
// for the ASCII ids store.CheckMeetingID allows is string order.
func (l *Log) Meetings(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := []string{}
	err := l.view(func(tx *bbolt.Tx) error {
		return tx.Bucket(rootBucket).ForEachBucket(func(k []byte) error {
			out = append(out, string(k))
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("bolt: list meetings: %w", err)
	}
	return out, nil
}

// SaveSnapshot implements store.Log; it shares the group commit.
func (l *Log) SaveSnapshot(ctx context.Context, meeting string, seq uint64, data []byte) error {
	if err := store.CheckMeetingID(meeting); err != nil {
		return err
	}
	err := l.submit(ctx, func(tx *bbolt.Tx) error {
		mb := meetingBucket(tx, meeting)
		var last uint64
		if mb != nil {
			last = readSeq(mb.Get(lastKey))
		}
		if seq == 0 || seq > last {
			return fmt.Errorf("%w: snapshot at seq %d, log has 1..%d", store.ErrInvalid, seq, last)
		}
		if old := readSnapshot(mb); len(old) >= 8 && readSeq(old[:8]) > seq {
			return nil // a newer snapshot is already there
		}
		sb, err := mb.CreateBucketIfNotExists(snapBucket)
		if err != nil {
			return err
		}
		v := make([]byte, 0, 8+len(data))
		v = binary.BigEndian.AppendUint64(v, seq)
		if err := sb.Put(snapKey, append(v, data...)); err != nil {
			return err
		}
		return mb.Delete(snapKey) // where files written before kept it
	})
	if err != nil {
		return fmt.Errorf("bolt: save snapshot of %s: %w", meeting, err)
	}
	return nil
}

// Snapshot implements store.Log.
func (l *Log) Snapshot(ctx context.Context, meeting string) (seq uint64, data []byte, ok bool, err error) {
	if err := store.CheckMeetingID(meeting); err != nil {
		return 0, nil, false, err
	}
	if err := ctx.Err(); err != nil {
		return 0, nil, false, err
	}
	err = l.view(func(tx *bbolt.Tx) error {
		mb := meetingBucket(tx, meeting)
		if mb == nil {
			return nil
		}
		if v := readSnapshot(mb); len(v) >= 8 {
			seq, data, ok = readSeq(v[:8]), bytes.Clone(v[8:]), true
		}
		return nil
	})
	if err != nil {
		return 0, nil, false, fmt.Errorf("bolt: snapshot of %s: %w", meeting, err)
	}
	return seq, data, ok, nil
}

// Trim implements store.Trimmer: it deletes the meeting's ops covered by
// its snapshot and records the trim point (a Read from before it returns
// store.ErrTrimmed). The op ids and Last stay, so a re-sent op is still a
// duplicate. It shares the group commit. The deleted bytes stay in bbolt's
// free pages until reused: a routine trim does not compact (a copy of the
// whole file every few hundred ops would stall every meeting); Scrub does.
func (l *Log) Trim(ctx context.Context, meeting string) error {
	if err := store.CheckMeetingID(meeting); err != nil {
		return err
	}
	err := l.submit(ctx, func(tx *bbolt.Tx) error {
		_, err := l.trimTx(tx, meeting)
		return err
	})
	if err != nil {
		return fmt.Errorf("bolt: trim %s: %w", meeting, err)
	}
	return nil
}

// trimTx deletes the meeting's ops up to its snapshot's seq, moving their
// ids to the ids bucket, and records that seq as the trim point. It says
// whether it deleted anything; without a snapshot, or already trimmed that
// far, it changes nothing.
func (l *Log) trimTx(tx *bbolt.Tx, meeting string) (deleted bool, err error) {
	mb := meetingBucket(tx, meeting)
	if mb == nil {
		return false, nil
	}
	snap := readSnapshot(mb)
	if len(snap) < 8 {
		return false, nil
	}
	upTo := readSeq(snap[:8])
	if upTo <= readSeq(mb.Get(trimKey)) {
		return false, nil
	}
	if ops := mb.Bucket(opsBucket); ops != nil {
		inLog, err := l.idsOf(meeting, ops)
		if err != nil {
			return false, err
		}
		ids, err := mb.CreateBucketIfNotExists(idsBucket)
		if err != nil {
			return false, err
		}
		// Collect first: deleting while iterating makes a bbolt cursor
		// skip keys.
		var keys [][]byte
		var gone []string // the ids of the ops at keys
		err = forEachOpID(ops, upTo, func(k, id []byte) error {
			keys = append(keys, bytes.Clone(k))
			gone = append(gone, string(id))
			return nil
		})
		if err != nil {
			return false, err
		}
		for i, k := range keys {
			// Files written before kept every id in the ids bucket.
			if ids.Get([]byte(gone[i])) == nil {
				if err := ids.Put([]byte(gone[i]), k); err != nil {
					return false, err
				}
			}
			if err := ops.Delete(k); err != nil {
				return false, err
			}
			delete(inLog.seqs, gone[i])
		}
		deleted = len(keys) > 0
	}
	return deleted, mb.Put(trimKey, seqKey(upTo))
}

// Scrub trims the meeting's log like Trim, then compacts the file (always,
// when the meeting exists) so that the bytes of the deleted ops, and of
// replaced snapshots, are gone from the disk, not merely unreachable. The hub calls it after meeting.purge:
// the ops before it carry the names, e-mails and phones the purge removed
// from the state. Like Purge it holds the log exclusively for the time of
// one copy of the file. The trim and the compaction mark are committed
// together, so a compaction cut short (crash, full disk) is finished by the
// next Scrub, Purge or Open.
func (l *Log) Scrub(ctx context.Context, meeting string) error {
	if err := store.CheckMeetingID(meeting); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.db == nil {
		return errClosed
	}
	pending := false
	err := l.update(func(tx *bbolt.Tx) error {
		meta := tx.Bucket(metaBucket)
		pending = meta.Get(compactPendingKey) != nil
		if meetingBucket(tx, meeting) == nil {
			return nil
		}
		// Compact even when this trim deletes nothing: an earlier
		// routine Trim may have left the meeting's old ops in free pages.
		if _, err := l.trimTx(tx, meeting); err != nil {
			return err
		}
		pending = true
		return meta.Put(compactPendingKey, []byte{1})
	})
	if err != nil {
		return fmt.Errorf("bolt: scrub %s: %w: %w", meeting, store.ErrUnavailable, err)
	}
	if !pending {
		return nil // no such meeting, and no unfinished earlier compaction
	}
	if err := l.compactAndClearLocked(); err != nil {
		return fmt.Errorf("bolt: scrub %s: %w", meeting, err)
	}
	return nil
}

// Purge implements store.Log: it deletes the meeting's bucket, then copies
// the live data into a new file (bbolt.Compact) and swaps it in, because
// bbolt only marks deleted pages free and the old bytes stay in the file
// until reused. It holds the log exclusively meanwhile: appends wait for
// the time of one copy of the file.
func (l *Log) Purge(ctx context.Context, meeting string) error {
	if err := store.CheckMeetingID(meeting); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.db == nil {
		return errClosed
	}
	pending, err := l.deleteMeetingLocked(meeting)
	if err != nil {
		return fmt.Errorf("bolt: purge %s: %w: %w", meeting, store.ErrUnavailable, err)
	}
	if !pending {
		return nil // nothing deleted, now or by an unfinished earlier purge
	}
	if err := l.compactAndClearLocked(); err != nil {
		return fmt.Errorf("bolt: purge %s: %w", meeting, err)
	}
	return nil
}

// deleteMeetingLocked deletes the meeting's bucket and, in the same
// transaction, marks the file as needing a compaction, so that a crash
// before the compaction is caught up at the next Open. It says whether a
// compaction is pending (this deletion or an earlier unfinished one).
func (l *Log) deleteMeetingLocked(meeting string) (pending bool, err error) {
	delete(l.opIDs, meeting)
	err = l.db.Update(func(tx *bbolt.Tx) error {
		meta := tx.Bucket(metaBucket)
		pending = meta.Get(compactPendingKey) != nil
		root := tx.Bucket(rootBucket)
		if root.Bucket([]byte(meeting)) == nil {
			return nil
		}
		if err := root.DeleteBucket([]byte(meeting)); err != nil {
			return err
		}
		pending = true
		return meta.Put(compactPendingKey, []byte{1})
	})
	return pending, err
}

// compactAndClearLocked compacts the file and then clears the pending mark.
func (l *Log) compactAndClearLocked() error {
	if err := l.compactLocked(); err != nil {
		return err
	}
	err := l.db.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket(metaBucket).Delete(compactPendingKey)
	})
	if err != nil {
		return fmt.Errorf("clear the compaction mark: %w: %w", store.ErrUnavailable, err)
	}
	return nil
}

// compactLocked rewrites the file with only its live data. l.mu is held
// exclusively. On failure before the swap the current file stays in use.
func (l *Log) compactLocked() error {
	tmp := l.path + ".compact"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove stale %s: %w", tmp, err)
	}
	dst, err := bbolt.Open(tmp, 0o600, &bbolt.Options{Timeout: l.opts.LockTimeout, OpenFile: l.opts.openFile})
	if err != nil {
		return fmt.Errorf("create %s: %w: %w", tmp, store.ErrUnavailable, err)
	}
	if err := bbolt.Compact(dst, l.db, compactTxSize); err != nil {
		dst.Close()
		os.Remove(tmp)
		return fmt.Errorf("compact into %s: %w: %w", tmp, store.ErrUnavailable, err)
	}
	if err := dst.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("close %s: %w: %w", tmp, store.ErrUnavailable, err)
	}
	if err := l.db.Close(); err != nil {
		os.Remove(tmp)
		// The old handle is unusable now; try to reopen the file.
		l.db, _ = l.openDB(l.path)
		return fmt.Errorf("close %s: %w: %w", l.path, store.ErrUnavailable, err)
	}
	renameErr := os.Rename(tmp, l.path)
	if renameErr == nil {
		renameErr = syncDir(filepath.Dir(l.path))
	}
	db, err := l.openDB(l.path)
	l.db = db // nil on failure: every later call says unavailable
	if renameErr != nil {
		os.Remove(tmp)
		return fmt.Errorf("swap in %s: %w: %w", tmp, store.ErrUnavailable, renameErr)
	}
	if err != nil {
		return fmt.Errorf("reopen after compaction: %w: %w", store.ErrUnavailable, err)
	}
	return nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Ping implements store.Log: it reads the file.
func (l *Log) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := l.view(func(tx *bbolt.Tx) error { return nil }); err != nil {
		return fmt.Errorf("bolt: ping %s: %w", l.path, err)
	}
	return nil
}

// Close stops the committer (after the batch in progress, whose callers get
// their answer) and closes the file. Later calls return ErrUnavailable.
func (l *Log) Close() error {
	var err error
	l.once.Do(func() {
		close(l.closing)
		<-l.stopped
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.db != nil {
			if cerr := l.db.Close(); cerr != nil {
				err = fmt.Errorf("bolt: close %s: %w", l.path, cerr)
			}
			l.db = nil
		}
	})
	return err
}

// Path is the file the log lives in.
func (l *Log) Path() string { return l.path }
