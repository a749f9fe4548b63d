// Package store is the durable op log of every meeting. Implementations:
// store/bolt (embedded default, one file) and store/redis (several
// instances). Both pass the conformance suite in store/storetest.
package store

import (
	"context"
	"errors"
)

// Entry is one op to append: its client-made id (for de-duplication) and its
// encoded bytes (meeting.Op as JSON, without Seq: the log assigns it).
type Entry struct {
	ID   string
	Data []byte
}

// Appended is the outcome of one Entry: the sequence number it has in the
// meeting's log, and Dup when an entry with that ID was already there (then
// Seq is the earlier one and nothing was written).
type Appended struct {
	Seq uint64
	Dup bool
}

// Record is one op read back from the log.
type Record struct {
	Seq  uint64
	ID   string
	Data []byte
}

// ErrUnavailable wraps every error that means "the store cannot be reached or
// cannot write right now" (a full disk, Redis down): the op is refused with a
// "temporarily unavailable" code, never acked.
var ErrUnavailable = errors.New("store unavailable")

// Log is the op log. All methods are safe for concurrent use. Sequence
// numbers of a meeting start at 1 and have no gaps.
type Log interface {
	// Append appends entries to a meeting's log in order, assigning
	// consecutive sequence numbers, and returns only once they are durable
	// (fsync, or Redis AOF). Concurrent Appends (of any meetings) are
	// group-committed. An entry whose ID is already in the meeting's log is
	// not written again: its Appended has Dup and the earlier Seq.
	Append(ctx context.Context, meeting string, entries []Entry) ([]Appended, error)
	// Read calls fn for every record of the meeting with Seq > after, in
	// order. It stops at fn's first error and returns it.
	Read(ctx context.Context, meeting string, after uint64, fn func(Record) error) error
	// Last is the highest Seq of the meeting's log (0 when empty).
	Last(ctx context.Context, meeting string) (uint64, error)
	// Meetings lists the ids of every meeting with a log, sorted.
	Meetings(ctx context.Context) ([]string, error)
	// SaveSnapshot stores an encoded state as of seq (replacing an older one).
	SaveSnapshot(ctx context.Context, meeting string, seq uint64, data []byte) error
	// Snapshot returns the latest snapshot (ok=false when there is none).
	Snapshot(ctx context.Context, meeting string) (seq uint64, data []byte, ok bool, err error)
	// Purge deletes the meeting's log and snapshot for good, and makes sure
	// the deleted bytes do not linger in the backing files (bolt: compaction;
	// Redis: AOF rewrite).
	Purge(ctx context.Context, meeting string) error
	// Ping says whether the store can serve (for /readyz).
	Ping(ctx context.Context) error
	// Close flushes and releases the store.
	Close() error
}
