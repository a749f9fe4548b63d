package redis

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Subscribe implements store.Notifier with a PSUBSCRIBE on every meeting's
// "appended" channel. go-redis re-subscribes by itself after a broken
// connection; each re-subscription is reported as fn("", 0), since every
// notice published meanwhile is lost.
func (l *Log) Subscribe(ctx context.Context, fn func(meeting string, last uint64)) error {
	pattern := l.opts.Prefix + "{*}:appended"
	ps := l.client.PSubscribe(ctx, pattern)
	cctx, cancel := l.call(ctx)
	// The first reply is the subscription's confirmation: once it is in,
	// no notice published later can be missed (short of a disconnection).
	_, err := ps.Receive(cctx)
	cancel()
	if err != nil {
		ps.Close()
		return fail(ctx, "subscribe", err)
	}
	go l.listen(ctx, ps, fn)
	return nil
}

// listen delivers notices until ctx is done.
func (l *Log) listen(ctx context.Context, ps *goredis.PubSub, fn func(string, uint64)) {
	defer ps.Close()
	// Closing the PubSub unblocks a Receive waiting on a quiet connection.
	stop := context.AfterFunc(ctx, func() { ps.Close() })
	defer stop()
	prefix, suffix := l.opts.Prefix+"{", "}:appended"
	backoff := 50 * time.Millisecond
	for {
		msg, err := ps.ReceiveTimeout(ctx, subscribeHealth)
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, goredis.ErrClosed) {
			return // the Log was closed
		}
		if err != nil {
			var nerr net.Error
			if errors.As(err, &nerr) && nerr.Timeout() {
				// Quiet for a while: ping, so a dead connection turns
				// into an error (and a reconnection) on the next Receive.
				ps.Ping(ctx)
				continue
			}
			// Broken connection (or Redis down): the next Receive
			// reconnects and re-subscribes. Do not spin meanwhile.
			if sleep(ctx, backoff) != nil {
				return
			}
			backoff = min(2*backoff, 2*time.Second)
			continue
		}
		backoff = 50 * time.Millisecond
		switch m := msg.(type) {
		case *goredis.Subscription:
			// Re-subscribed after a break: notices may have been lost.
			fn("", 0)
		case *goredis.Message:
			id, ok := strings.CutPrefix(m.Channel, prefix)
			if !ok {
				continue
			}
			if id, ok = strings.CutSuffix(id, suffix); !ok {
				continue
			}
			last, err := strconv.ParseUint(m.Payload, 10, 64)
			if err != nil {
				continue
			}
			fn(id, last)
		}
	}
}
