package bolt

import (
	"context"
	"fmt"

	"go.etcd.io/bbolt"

	"github.com/boucle/designation/store"
)

// Lookup implements store.IDLookup from the meeting's op-id index, where a
// trim writes the ids of the ops it deletes, and from the ops not trimmed: a
// restarted hub asks it for a re-sent op whose id it did not replay, to ack
// it with its seq rather than refuse it. It is rare: the ops are read
// through rather than indexed in memory as the committer does.
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
		c := ops.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			got, err := opID(v)
			if err != nil {
				return err
			}
			if got == id {
				seq, ok = readSeq(k), true
				return nil
			}
		}
		return nil
	})
	if err != nil {
		return 0, false, fmt.Errorf("bolt: lookup in %s: %w", meeting, err)
	}
	return seq, ok, nil
}
