package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/boucle/designation/store/redis"
)

// checkRedisPersistence reads the AOF settings of the Redis that keeps the
// op log, logs them, and refuses a Redis without an append-only file (or
// one that will not say, CONFIG GET refused) unless allowNoAOF: an op is
// acked once Redis answers, and without AOF a crash or kill -9 of Redis
// loses every op acked since its last RDB dump. Debian ships Redis so.
func checkRedisPersistence(ctx context.Context, l *redis.Log, allowNoAOF bool, logger *slog.Logger) error {
	p, err := l.Persistence(ctx)
	if errors.Is(err, redis.ErrPersistenceUnknown) {
		if !allowNoAOF {
			return fmt.Errorf("%w: if this Redis does keep an AOF (appendonly yes), vouch for it with -redis-allow-no-aof (REDIS_ALLOW_NO_AOF=true)", err)
		}
		logger.Warn("redis persistence unknown (CONFIG GET refused): running because -redis-allow-no-aof is set; acked ops survive a crash of Redis only if it keeps an AOF")
		return nil
	}
	if err != nil {
		return fmt.Errorf("read the redis persistence settings: %w", err)
	}
	logger.Info("redis persistence", "appendonly", p.AppendOnly, "appendfsync", p.AppendFsync)
	if !p.AppendOnly {
		if !allowNoAOF {
			return fmt.Errorf("%w; or accept the risk with -redis-allow-no-aof (REDIS_ALLOW_NO_AOF=true)", redis.ErrNoAOF)
		}
		logger.Warn("redis keeps no AOF (appendonly no): running because -redis-allow-no-aof is set; a crash or kill -9 of Redis loses acked ops")
		return nil
	}
	if p.AppendFsync != "always" {
		logger.Warn("redis appendfsync is not always: acked ops survive a crash of Redis, but a power loss or a crash of the machine can lose the last second of them",
			"appendfsync", p.AppendFsync)
	}
	return nil
}
