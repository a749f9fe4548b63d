package bolt

import (
	"context"
	"errors"
	"fmt"
	"math"

	"go.etcd.io/bbolt"

	"github.com/boucle/designation/store"
)

// Lookup implements store.IDLookup: a restarted hub asks it for a re-sent
// op whose id it did not replay, to ack it with its seq rather than refuse
// it. The ids of trimmed ops are in the meeting's ids bucket; an op still
// in the log (at most the ops since the last trim) is found by reading it.
func (l *Log) Lookup(ctx context.Context, meeting, id string) (seq uint64, ok bool, err error) {
	if err := store.CheckMeetingID(meeting); err != nil {
		return 0, false, err
	}
	if id == "" || len(id) > store.MaxEntryIDLen {
		return 0, false, nil // never appended: Append refuses such ids
	}
	if err := ctx.Err(); err != nil {
		return 0, false, err
	}
	err = l.view(func(tx *bbolt.Tx) error {
		mb := meetingBucket(tx, meeting)
		if mb == nil {
			return nil
		}
		if ids := mb.Bucket(idsBucket); ids != nil {
			if v := ids.Get([]byte(id)); v != nil {
				seq, ok = readSeq(v), true
				return nil
			}
		}
		ops := mb.Bucket(opsBucket)
		if ops == nil {
			return nil
		}
		return forEachOpID(ops, math.MaxUint64, func(k, got []byte) error {
			if string(got) == id {
				seq, ok = readSeq(k), true
				return errFound
			}
			return nil
		})
	})
	if err != nil && !errors.Is(err, errFound) {
		return 0, false, fmt.Errorf("bolt: lookup in %s: %w", meeting, err)
	}
	return seq, ok, nil
}

// errFound stops a ForEach at what it looked for.
var errFound = errors.New("found")
