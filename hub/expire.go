package hub

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/boucle/designation/meeting"
)

// retentionEnd is when a meeting's retention period ends: retention after
// the end of its day (UTC), or after its creation when it has no date.
func retentionEnd(st *meeting.State, retention time.Duration) time.Time {
	if d, err := time.Parse(time.DateOnly, st.Info.Date); err == nil {
		return d.Add(24 * time.Hour).Add(retention)
	}
	return st.CreatedAt.Add(retention)
}

// Expire deletes for good, with their logs, the meetings whose retention
// period ended before now: their connections are closed (4004), the meeting
// is forgotten and its log purged (bbolt compacted, Redis AOF rewritten).
// It returns how many meetings it deleted; a meeting whose log could not
// be purged is loaded again at the next start, and expires again then.
func (h *Hub) Expire(ctx context.Context, now time.Time, retention time.Duration) (int, error) {
	if retention <= 0 {
		return 0, nil
	}
	h.mu.Lock()
	rooms := make([]*Room, 0, len(h.rooms))
	for _, r := range h.rooms {
		rooms = append(rooms, r)
	}
	h.mu.Unlock()
	deleted := 0
	var errs []error
	for _, room := range rooms {
		var expired bool
		err := room.call(ctx, func() {
			if !room.state.Created || !now.After(retentionEnd(room.state, retention)) {
				return
			}
			expired = true
			for s := range room.subs {
				room.drop(s, StatusNotFound, "meeting expired")
			}
		})
		if err != nil || !expired {
			continue
		}
		h.remove(room)
		select {
		case <-room.done:
		case <-ctx.Done():
			return deleted, ctx.Err()
		}
		if err := h.log.Purge(ctx, room.id); err != nil {
			errs = append(errs, fmt.Errorf("hub: expire %s: %w", room.id, err))
			continue
		}
		deleted++
		h.opts.Logger.Info("meeting expired and purged", "meeting", room.id)
	}
	return deleted, errors.Join(errs...)
}
