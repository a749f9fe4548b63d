package hub

import (
	"context"
	"fmt"
	"time"

	"github.com/boucle/designation/meeting"
	"github.com/boucle/designation/store"
)

// placeholderPrefix starts the ids of the ops a log rewritten by
// logRewriter holds in place of the purged ones.
const placeholderPrefix = "purged-"

// placeholderChunk is how many placeholders go in one store append.
const placeholderChunk = 1000

// logRewriter scrubs any store.Log through its public methods, for the logs
// that cannot scrub themselves (store/redis: trimmed ops stay in the AOF
// until it is rewritten, which only Purge does). After a meeting.purge and
// its snapshot it purges the meeting's log (Redis rewrites the AOF, bbolt
// compacts) and writes it again: one placeholder per seq (a meeting.purge
// by the system, which carries nothing), the snapshot at the same seq, then
// a trim when the log can. Seqs do not move, so every client's lastSeq
// keeps its meaning.
//
// A crash between the purge and the snapshot (milliseconds) loses the
// purged meeting's remains, never leaks its data. With several instances,
// an op another instance appends during the rewrite is lost: purges are
// rare and made by the facilitators at the end of a meeting.
type logRewriter struct {
	log store.Log
	now func() time.Time
}

func (w logRewriter) Scrub(ctx context.Context, meetingID string) error {
	seq, data, ok, err := w.log.Snapshot(ctx, meetingID)
	if err != nil {
		return fmt.Errorf("hub: scrub %s: %w", meetingID, err)
	}
	last, err := w.log.Last(ctx, meetingID)
	if err != nil {
		return fmt.Errorf("hub: scrub %s: %w", meetingID, err)
	}
	if !ok || seq != last {
		return fmt.Errorf("hub: scrub %s: the snapshot (seq %d) does not cover the log (seq %d)", meetingID, seq, last)
	}
	if err := w.log.Purge(ctx, meetingID); err != nil {
		return fmt.Errorf("hub: scrub %s: %w", meetingID, err)
	}
	at := w.now().UTC().Truncate(time.Millisecond)
	system := meeting.Actor{Role: meeting.RoleSystem}
	for from := uint64(1); from <= seq; from += placeholderChunk {
		to := min(seq, from+placeholderChunk-1)
		entries := make([]store.Entry, 0, to-from+1)
		for s := from; s <= to; s++ {
			id := fmt.Sprintf("%s%d", placeholderPrefix, s)
			op := meeting.Op{ID: id, Type: meeting.OpMeetingPurge, Actor: system, At: at, Payload: []byte("{}")}
			entries = append(entries, store.Entry{ID: id, Data: mustJSON(op)})
		}
		appended, err := w.log.Append(ctx, meetingID, entries)
		if err == nil && (len(appended) != len(entries) || appended[len(appended)-1].Seq != to) {
			err = fmt.Errorf("placeholders %d-%d not appended at their seqs", from, to)
		}
		if err != nil {
			return fmt.Errorf("hub: scrub %s: rewrite: %w", meetingID, err)
		}
	}
	if err := w.log.SaveSnapshot(ctx, meetingID, seq, data); err != nil {
		return fmt.Errorf("hub: scrub %s: snapshot: %w", meetingID, err)
	}
	if t, ok := w.log.(store.Trimmer); ok {
		if err := t.Trim(ctx, meetingID); err != nil {
			return fmt.Errorf("hub: scrub %s: trim: %w", meetingID, err)
		}
	}
	return nil
}
