package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	goredis "github.com/redis/go-redis/v9"

	"github.com/boucle/designation/store"
)

// Lookup implements store.IDLookup from the meeting's op-id hash, which a
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
	cctx, cancel := l.call(ctx)
	defer cancel()
	v, err := l.client.HGet(cctx, l.keys(meeting).ids, id).Result()
	if errors.Is(err, goredis.Nil) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fail(ctx, "lookup in "+meeting, err)
	}
	seq, err = strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("redis: lookup in %s: bad seq %q", meeting, v)
	}
	return seq, true, nil
}
