package bolt

import (
	"context"
	"fmt"

	"go.etcd.io/bbolt"

	"github.com/boucle/designation/store"
)

// Lookup implements store.IDLookup from the meeting's op-id index, which a
// trim leaves in place: a restarted hub asks it for a re-sent op whose id it
// did not replay, to ack it with its seq rather than refuse it.
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
		ids := mb.Bucket(idsBucket)
		if ids == nil {
			return nil
		}
		if v := ids.Get([]byte(id)); v != nil {
			seq, ok = readSeq(v), true
		}
		return nil
	})
	if err != nil {
		return 0, false, fmt.Errorf("bolt: lookup in %s: %w", meeting, err)
	}
	return seq, ok, nil
}
