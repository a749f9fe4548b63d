// Package store is the durable op log of every meeting. Implementations:
// store/bolt (embedded default, one file) and store/redis (several
// instances). Both pass the conformance suite in store/storetest.
package store

import (
	"context"
	"errors"
	"fmt"
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

// ErrInvalid wraps every error caused by the caller's arguments (an empty or
// malformed meeting id, an empty entry id, a snapshot ahead of the log):
// nothing was changed, and retrying the same call cannot succeed.
var ErrInvalid = errors.New("store: invalid argument")

// ErrTrimmed is returned (wrapped) by Read when some of the ops after the
// requested sequence number are no longer in the log because it was trimmed
// behind a snapshot (see Trimmer). The caller loads the Snapshot and reads
// after its sequence number instead; a Read never silently skips ops.
var ErrTrimmed = errors.New("store: ops trimmed behind a snapshot")

// Limits on identifiers, shared by every implementation so that an id
// accepted by one store is accepted by all.
const (
	// MaxMeetingIDLen bounds a meeting id, in bytes.
	MaxMeetingIDLen = 128
	// MaxEntryIDLen bounds an entry (op) id, in bytes: a UUID is 36.
	MaxEntryIDLen = 128
)

// CheckMeetingID says whether id can name a meeting's log: 1 to
// MaxMeetingIDLen bytes of ASCII letters, digits, '-', '_', '.' or ':'. The
// character set keeps ids safe inside Redis keys (hash tags, SCAN and
// PSUBSCRIBE patterns) and file names. The error wraps ErrInvalid.
func CheckMeetingID(id string) error {
	if id == "" || len(id) > MaxMeetingIDLen {
		return fmt.Errorf("%w: meeting id must be 1 to %d bytes, got %d", ErrInvalid, MaxMeetingIDLen, len(id))
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == ':'
		if !ok {
			return fmt.Errorf("%w: meeting id has a forbidden character at byte %d", ErrInvalid, i)
		}
	}
	return nil
}

// CheckAppend validates the arguments of Log.Append: a valid meeting id and
// entries whose ids are 1 to MaxEntryIDLen bytes. The error wraps ErrInvalid.
func CheckAppend(meeting string, entries []Entry) error {
	if err := CheckMeetingID(meeting); err != nil {
		return err
	}
	for i, e := range entries {
		if e.ID == "" || len(e.ID) > MaxEntryIDLen {
			return fmt.Errorf("%w: entry %d: id must be 1 to %d bytes, got %d", ErrInvalid, i, MaxEntryIDLen, len(e.ID))
		}
	}
	return nil
}

// Log is the op log. All methods are safe for concurrent use. Sequence
// numbers of a meeting start at 1 and have no gaps.
type Log interface {
	// Append appends entries to a meeting's log in order, assigning
	// consecutive sequence numbers, and returns only once they are durable
	// (fsync, or Redis AOF). Concurrent Appends (of any meetings) are
	// group-committed. An entry whose ID is already in the meeting's log is
	// not written again: its Appended has Dup and the earlier Seq. (A call
	// retried after a lost reply can also see its own entries as Dup: either
	// way the op is in the log at Seq, which is what the caller relies on.)
	// On an error nothing is acked; when the error is not ErrInvalid the
	// entries may or may not be in the log, and re-appending them with the
	// same ids is safe.
	Append(ctx context.Context, meeting string, entries []Entry) ([]Appended, error)
	// Read calls fn for every record of the meeting with Seq > after, in
	// order. It stops at fn's first error and returns it. fn is not called
	// inside a store transaction, so it may block or call the Log. An error
	// wrapping ErrTrimmed means the ops after `after` are partly gone.
	Read(ctx context.Context, meeting string, after uint64, fn func(Record) error) error
	// Last is the highest Seq of the meeting's log (0 when empty).
	Last(ctx context.Context, meeting string) (uint64, error)
	// Meetings lists the ids of every meeting with a log, sorted.
	Meetings(ctx context.Context) ([]string, error)
	// SaveSnapshot stores an encoded state as of seq (replacing an older one).
	// A snapshot older than the stored one is ignored (two instances may
	// race; the newer wins), and seq above Last is refused (ErrInvalid).
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

// Notifier is implemented by logs shared between instances (store/redis): it
// tells an instance that another one appended to a meeting, so the instance
// can Read the new ops and apply them in order.
//
// It is a wake-up, not a delivery: notices can be lost (Redis Pub/Sub is at
// most once, and drops everything while reconnecting), arrive late or be
// repeated. The subscriber compares last with what it has applied and fills
// any gap with Read. Whenever the subscription is re-established after a
// break, fn is called with meeting "" and last 0, meaning "notices may have
// been lost: compare every meeting you hold with Last".
type Notifier interface {
	// Subscribe returns once the subscription is active (so a caller can
	// subscribe first, then load, then apply only newer ops), and then calls
	// fn from one goroutine, one call at a time, until ctx is done. fn must
	// not block for long. An error wraps ErrUnavailable when the store
	// cannot be reached.
	Subscribe(ctx context.Context, fn func(meeting string, last uint64)) error
}

// Trimmer is implemented by logs that can drop ops already covered by a
// snapshot (store/redis: the stream would otherwise grow for ever in
// memory; store/bolt: the file would). Op ids stay known, so a re-sent op is
// still a duplicate (and IDLookup finds it).
type Trimmer interface {
	// Trim removes the meeting's ops with Seq <= its stored snapshot's seq.
	// Without a snapshot it does nothing. Later Reads from before the
	// snapshot return an error wrapping ErrTrimmed.
	Trim(ctx context.Context, meeting string) error
}

// IDLookup is implemented by logs that can say where an op id is without
// reading the log (store/bolt and store/redis, from the op-id index they keep
// for de-duplication, which survives trims). The hub asks it only when a
// re-sent op is refused against the state and its id is not among the ids it
// replayed: after a trim a restarted instance no longer reads those ids, and
// a re-sent op that was in fact saved must be acked with its seq, not refused.
type IDLookup interface {
	// Lookup returns the seq of the op with that id in the meeting's log
	// (ok=false when the id was never appended to that meeting, or the
	// meeting has no log). The error wraps ErrInvalid for a bad meeting id
	// and ErrUnavailable when the store cannot answer.
	Lookup(ctx context.Context, meeting, id string) (seq uint64, ok bool, err error)
}
