package redis

import (
	"context"
	"errors"
	"fmt"
	"sync"

	goredis "github.com/redis/go-redis/v9"
)

// ErrNoAOF is returned (wrapped) by CheckPersistence when Redis does not
// keep an append-only file. Redis as Debian ships it has AOF off: it then
// answers writes that live only in memory (and in an RDB dump taken every
// few minutes at best), so a kill -9 or a crash of Redis loses ops the app
// has already acknowledged. The server refuses to start on such a Redis
// unless its operator explicitly accepts the risk.
var ErrNoAOF = errors.New("redis: persistence: AOF is off (appendonly no): acked ops would be lost if Redis is killed; set appendonly yes (and appendfsync always)")

// ErrPersistenceUnknown is returned (wrapped) by CheckPersistence when the
// server refuses CONFIG GET (managed services often do), so the setting
// cannot be verified; the operator must then vouch for it.
var ErrPersistenceUnknown = errors.New("redis: persistence: cannot read the configuration (CONFIG GET refused)")

// Persistence is what a Redis server promises about acknowledged writes.
type Persistence struct {
	// AppendOnly: the server logs every write to its AOF before answering.
	AppendOnly bool
	// AppendFsync is "always" (fsync before answering: survives a power
	// loss), "everysec" (survives kill -9 of Redis; a power loss loses up
	// to a second) or "no" (the kernel decides when to write to disk).
	AppendFsync string
}

// Persistence reads the server's AOF settings (of every master, for a
// Cluster: the weakest is reported).
func (l *Log) Persistence(ctx context.Context) (Persistence, error) {
	cctx, cancel := l.call(ctx)
	defer cancel()
	var (
		mu     sync.Mutex
		result = Persistence{AppendOnly: true, AppendFsync: "always"}
	)
	read := func(ctx context.Context, c goredis.Cmdable) error {
		cfg, err := c.ConfigGet(ctx, "append*").Result()
		if err != nil {
			var rerr goredis.Error
			if errors.As(err, &rerr) {
				return fmt.Errorf("%w: %v", ErrPersistenceUnknown, err)
			}
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		if cfg["appendonly"] != "yes" {
			result.AppendOnly = false
		}
		if f := cfg["appendfsync"]; weaker(f, result.AppendFsync) {
			result.AppendFsync = f
		}
		return nil
	}
	var err error
	if cc, ok := l.client.(*goredis.ClusterClient); ok {
		err = cc.ForEachMaster(cctx, func(ctx context.Context, c *goredis.Client) error { return read(ctx, c) })
	} else {
		err = read(cctx, l.client)
	}
	if err != nil {
		if errors.Is(err, ErrPersistenceUnknown) {
			return Persistence{}, err
		}
		return Persistence{}, fail(ctx, "read persistence settings", err)
	}
	return result, nil
}

// weaker says whether fsync mode a promises less than b.
func weaker(a, b string) bool {
	rank := map[string]int{"always": 2, "everysec": 1, "no": 0}
	ra, ok := rank[a]
	if !ok {
		ra = -1
	}
	return ra < rank[b]
}

// CheckPersistence returns an error wrapping ErrNoAOF when the server keeps
// no append-only file, ErrPersistenceUnknown when it will not say, and nil
// otherwise. appendfsync everysec is accepted: it keeps acked ops through
// a kill -9 of Redis, and loses at most a second of them on a power loss
// (read Persistence to log which one applies).
func (l *Log) CheckPersistence(ctx context.Context) error {
	p, err := l.Persistence(ctx)
	if err != nil {
		return err
	}
	if !p.AppendOnly {
		return ErrNoAOF
	}
	return nil
}
