// Package redis is the op log shared by several server instances: every
// meeting's ops in a Redis stream, appended by one Lua script so that the
// sequence number, the de-duplication and the wake-up of the other
// instances happen atomically, in one total order per meeting.
//
// Keys of a meeting (the {hash tag} puts them in one Cluster slot, which a
// Lua script and MULTI need):
//
//	<prefix>{<id>}:seq   string   the last sequence number (INCR)
//	<prefix>{<id>}:ops   stream   one entry per op, entry id "<seq>-0", fields id, d
//	<prefix>{<id>}:ids   hash     op id -> seq (de-duplication, kept after trims)
//	<prefix>{<id>}:snap  hash     seq, data: the latest snapshot
//	<prefix>{<id>}:trim  string   the stream holds no op with seq <= this
//	<prefix>{<id>}:purged string  while a purge waits for its AOF rewrite
//
// and the Pub/Sub channel <prefix>{<id>}:appended carries the new last seq
// after every append (see store.Notifier: a wake-up, never the data).
//
// Durability: Append returns once Redis has answered, and Redis answers a
// write after writing it to its AOF; with appendfsync always, after the
// fsync (Redis group-commits the fsync of all clients of one event-loop
// turn). CheckPersistence tells whether the server is configured so.
package redis

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/boucle/designation/store"
)

var (
	_ store.Log      = (*Log)(nil)
	_ store.Notifier = (*Log)(nil)
	_ store.Trimmer  = (*Log)(nil)
)

const (
	// readChunk is how many ops one XRANGE returns; fn runs between chunks,
	// outside any Redis call.
	readChunk = 256
	// pollInterval is how often Purge polls INFO while waiting for the AOF
	// rewrite to finish.
	pollInterval = 20 * time.Millisecond
	// subscribeHealth is how long a quiet subscription waits before it
	// pings Redis, to notice a dead connection.
	subscribeHealth = 15 * time.Second
)

// Options tunes a Log. The zero value is ready to use.
type Options struct {
	// Prefix starts every key and channel name, so several deployments (or
	// tests) can share one Redis. Letters, digits and ":_.-" only.
	// Default "dsg:".
	Prefix string
	// OpTimeout bounds every call whose context has no earlier deadline, so
	// an unreachable Redis refuses ops quickly instead of hanging the
	// meeting's actor. Default 5 s.
	OpTimeout time.Duration
	// PurgeTimeout bounds a Purge, which waits for Redis to rewrite its
	// AOF (seconds for a large dataset). Default 2 min.
	PurgeTimeout time.Duration
}

// Log is a store.Log on Redis (single node, Sentinel or Cluster).
type Log struct {
	client goredis.UniversalClient
	opts   Options

	appendScript *goredis.Script
	snapScript   *goredis.Script
	trimScript   *goredis.Script
	purgeScript  *goredis.Script

	purgeMu sync.Mutex // one AOF rewrite wait at a time from this instance
}

// Open connects to the Redis at rawURL and checks that it answers.
//
//   - redis://[user:password@]host:port[/db][?dial_timeout=2s&...] one node;
//     rediss:// for TLS; unix:///path/to.sock
//   - redis://host:port?master_name=mymaster&addr=host2:port2 Sentinel: the
//     addresses are the sentinels'
//   - redis://host:port?addr=host2:port2&addr=host3:port3 Cluster
//
// Query parameters are go-redis's (ParseURL, ParseFailoverURL,
// ParseClusterURL). Unset timeouts default to 2 s (dial, read, write) and
// dial retries to 1, so a lost Redis is noticed quickly; contexts'
// deadlines are honoured. Errors never include the URL (it may hold a
// password). Open also finishes the purges a dead instance left half done.
func Open(ctx context.Context, rawURL string, opts Options) (*Log, error) {
	if opts.Prefix == "" {
		opts.Prefix = "dsg:"
	}
	if err := checkPrefix(opts.Prefix); err != nil {
		return nil, err
	}
	if opts.OpTimeout <= 0 {
		opts.OpTimeout = 5 * time.Second
	}
	if opts.PurgeTimeout <= 0 {
		opts.PurgeTimeout = 2 * time.Minute
	}
	client, err := newClient(rawURL)
	if err != nil {
		return nil, err
	}
	l := &Log{
		client:       client,
		opts:         opts,
		appendScript: goredis.NewScript(appendLua),
		snapScript:   goredis.NewScript(snapLua),
		trimScript:   goredis.NewScript(trimLua),
		purgeScript:  goredis.NewScript(purgeLua),
	}
	if err := l.Ping(ctx); err != nil {
		client.Close()
		return nil, err
	}
	l.finishPurges(ctx)
	return l, nil
}

func checkPrefix(p string) error {
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == ':' || c == '_' || c == '.' || c == '-') {
			return fmt.Errorf("redis: %w: key prefix %q: only letters, digits and \":_.-\"", store.ErrInvalid, p)
		}
	}
	return nil
}

// Default timeouts when the URL sets none.
const (
	defaultDialTimeout = 2 * time.Second
	defaultIOTimeout   = 2 * time.Second
	// defaultDialerRetries: go-redis retries a refused dial 5 times,
	// 100 ms apart, for each of its command retries, so a down Redis took
	// ~2 s to refuse an op; once is enough on a refused connection.
	defaultDialerRetries = 1
)

func newClient(rawURL string) (goredis.UniversalClient, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the URL, password included
		}
		return nil, fmt.Errorf("redis: invalid URL: %v", err)
	}
	q := u.Query()
	switch {
	case q.Has("master_name"):
		o, err := goredis.ParseFailoverURL(rawURL)
		if err != nil {
			return nil, fmt.Errorf("redis: invalid Sentinel URL: %v", err)
		}
		tune(&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.DialerRetries, &o.ContextTimeoutEnabled)
		return goredis.NewFailoverClient(o), nil
	case q.Has("addr"):
		o, err := goredis.ParseClusterURL(rawURL)
		if err != nil {
			return nil, fmt.Errorf("redis: invalid Cluster URL: %v", err)
		}
		tune(&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.DialerRetries, &o.ContextTimeoutEnabled)
		return goredis.NewClusterClient(o), nil
	default:
		o, err := goredis.ParseURL(rawURL)
		if err != nil {
			return nil, fmt.Errorf("redis: invalid URL: %v", err)
		}
		tune(&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.DialerRetries, &o.ContextTimeoutEnabled)
		return goredis.NewClient(o), nil
	}
}

// tune applies our defaults to the fields the URL left unset (the three
// go-redis option types share them but no interface), and makes go-redis
// honour contexts' deadlines (OpTimeout, the caller's).
func tune(dial, read, write *time.Duration, dialerRetries *int, contextTimeout *bool) {
	*dial = orDefault(*dial, defaultDialTimeout)
	*read = orDefault(*read, defaultIOTimeout)
	*write = orDefault(*write, defaultIOTimeout)
	if *dialerRetries == 0 {
		*dialerRetries = defaultDialerRetries
	}
	*contextTimeout = true
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// keys of one meeting.
type keys struct {
	seq, ops, ids, snap, trim, purged, channel string
}

func (l *Log) keys(meeting string) keys {
	base := l.opts.Prefix + "{" + meeting + "}:"
	return keys{
		seq:     base + "seq",
		ops:     base + "ops",
		ids:     base + "ids",
		snap:    base + "snap",
		trim:    base + "trim",
		purged:  base + "purged",
		channel: base + "appended",
	}
}

// call derives the context of one Redis call: the caller's, bounded by
// OpTimeout.
func (l *Log) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, l.opts.OpTimeout)
}

// fail wraps an error of a Redis call. The caller's own cancellation is
// returned as such; everything else (connection refused, a timeout, the
// caller's deadline passing while Redis is slow, a Redis that cannot write
// its AOF, a failover in progress) means the store cannot serve right now.
func fail(ctx context.Context, what string, err error) error {
	if errors.Is(ctx.Err(), context.Canceled) {
		return fmt.Errorf("redis: %s: %w", what, ctx.Err())
	}
	return fmt.Errorf("redis: %s: %w: %w", what, store.ErrUnavailable, err)
}

// appendLua appends a batch. KEYS: seq, ops, ids. ARGV: channel, then id,
// data pairs. Returns seq, dup (0/1) pairs. A duplicate id (already in the
// hash, or earlier in the same batch) writes nothing. One PUBLISH of the new
// last seq when anything was written.
const appendLua = `
local out = {}
local last = nil
for i = 2, #ARGV, 2 do
  local id = ARGV[i]
  local prev = redis.call('HGET', KEYS[3], id)
  if prev then
    out[#out+1] = tonumber(prev)
    out[#out+1] = 1
  else
    local seq = redis.call('INCR', KEYS[1])
    local s = string.format('%d', seq)
    redis.call('XADD', KEYS[2], s .. '-0', 'id', id, 'd', ARGV[i+1])
    redis.call('HSET', KEYS[3], id, s)
    out[#out+1] = seq
    out[#out+1] = 0
    last = s
  end
end
if last then
  redis.call('PUBLISH', ARGV[1], last)
end
return out
`

// Append implements store.Log with one script call per batch. If the
// reply is lost and go-redis retries, the retry finds the ids and reports
// them as Dup with their seq: either way the ops are in the log at Seq.
func (l *Log) Append(ctx context.Context, meeting string, entries []store.Entry) ([]store.Appended, error) {
	if err := store.CheckAppend(meeting, entries); err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		return []store.Appended{}, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	k := l.keys(meeting)
	args := make([]any, 0, 1+2*len(entries))
	args = append(args, k.channel)
	for _, e := range entries {
		args = append(args, e.ID, e.Data)
	}
	cctx, cancel := l.call(ctx)
	defer cancel()
	res, err := l.appendScript.Run(cctx, l.client, []string{k.seq, k.ops, k.ids}, args...).Int64Slice()
	if err != nil {
		return nil, fail(ctx, "append to "+meeting, err)
	}
	if len(res) != 2*len(entries) {
		return nil, fmt.Errorf("redis: append to %s: %w: script returned %d values for %d entries", meeting, store.ErrUnavailable, len(res), len(entries))
	}
	out := make([]store.Appended, len(entries))
	for i := range out {
		out[i] = store.Appended{Seq: uint64(res[2*i]), Dup: res[2*i+1] == 1}
	}
	return out, nil
}

// Read implements store.Log: XRANGE by chunks, each in a MULTI with the
// trim mark, so a concurrent Trim is noticed (ErrTrimmed) instead of
// silently skipping ops.
func (l *Log) Read(ctx context.Context, meeting string, after uint64, fn func(store.Record) error) error {
	if err := store.CheckMeetingID(meeting); err != nil {
		return err
	}
	k := l.keys(meeting)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if after == math.MaxUint64 {
			return nil // nothing can follow (and after+1 would wrap to 0)
		}
		var (
			rng  *goredis.XMessageSliceCmd
			trim *goredis.StringCmd
		)
		cctx, cancel := l.call(ctx)
		_, err := l.client.TxPipelined(cctx, func(p goredis.Pipeliner) error {
			rng = p.XRangeN(cctx, k.ops, strconv.FormatUint(after+1, 10)+"-0", "+", readChunk)
			trim = p.Get(cctx, k.trim)
			return nil
		})
		cancel()
		if err != nil && !errors.Is(err, goredis.Nil) {
			return fail(ctx, fmt.Sprintf("read %s after %d", meeting, after), err)
		}
		if t, err := trim.Uint64(); err == nil && after < t {
			return fmt.Errorf("redis: read %s after %d: %w (ops up to %d are only in the snapshot)", meeting, after, store.ErrTrimmed, t)
		}
		msgs := rng.Val()
		for _, m := range msgs {
			r, err := decodeMessage(m)
			if err != nil {
				return fmt.Errorf("redis: read %s: %w", meeting, err)
			}
			if r.Seq != after+1 {
				return fmt.Errorf("redis: read %s: %w: seq %d follows %d", meeting, store.ErrTrimmed, r.Seq, after)
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := fn(r); err != nil {
				return err
			}
			after = r.Seq
		}
		if len(msgs) < readChunk {
			return nil
		}
	}
}

func decodeMessage(m goredis.XMessage) (store.Record, error) {
	seqPart, _, _ := strings.Cut(m.ID, "-")
	seq, err := strconv.ParseUint(seqPart, 10, 64)
	if err != nil {
		return store.Record{}, fmt.Errorf("stream entry %q: bad id", m.ID)
	}
	id, ok1 := m.Values["id"].(string)
	data, ok2 := m.Values["d"].(string)
	if !ok1 || !ok2 {
		return store.Record{}, fmt.Errorf("stream entry %q: missing fields", m.ID)
	}
	return store.Record{Seq: seq, ID: id, Data: []byte(data)}, nil
}

// Last implements store.Log.
func (l *Log) Last(ctx context.Context, meeting string) (uint64, error) {
	if err := store.CheckMeetingID(meeting); err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	cctx, cancel := l.call(ctx)
	defer cancel()
	last, err := l.client.Get(cctx, l.keys(meeting).seq).Uint64()
	if errors.Is(err, goredis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fail(ctx, "last of "+meeting, err)
	}
	return last, nil
}

// Meetings implements store.Log by scanning for the meetings' seq keys (on
// every master of a Cluster). It is meant for start-up, not hot paths.
func (l *Log) Meetings(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, 4*l.opts.OpTimeout)
	defer cancel()
	keys, err := l.scanKeys(cctx, l.opts.Prefix+"{*}:seq")
	if err != nil {
		return nil, fail(ctx, "list meetings", err)
	}
	out := []string{}
	for _, key := range keys {
		id, ok := strings.CutPrefix(key, l.opts.Prefix+"{")
		if !ok {
			continue
		}
		if id, ok = strings.CutSuffix(id, "}:seq"); ok && store.CheckMeetingID(id) == nil {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// scanKeys lists the keys matching pattern, on every master of a Cluster.
func (l *Log) scanKeys(ctx context.Context, pattern string) ([]string, error) {
	var (
		mu  sync.Mutex
		out []string
	)
	scan := func(ctx context.Context, c goredis.Cmdable) error {
		it := c.Scan(ctx, 0, pattern, 1000).Iterator()
		for it.Next(ctx) {
			mu.Lock()
			out = append(out, it.Val())
			mu.Unlock()
		}
		return it.Err()
	}
	var err error
	if cc, ok := l.client.(*goredis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, c *goredis.Client) error { return scan(ctx, c) })
	} else {
		err = scan(ctx, l.client)
	}
	return out, err
}

// snapLua stores a snapshot unless a newer one is there. KEYS: seq, snap.
// ARGV: seq, data. Returns {1, last} stored, {0, last} older ignored,
// {-1, last} refused (seq not in 1..last).
const snapLua = `
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
local s = tonumber(ARGV[1])
if s < 1 or s > last then
  return {-1, last}
end
local cur = redis.call('HGET', KEYS[2], 'seq')
if cur and tonumber(cur) > s then
  return {0, last}
end
redis.call('HSET', KEYS[2], 'seq', ARGV[1], 'data', ARGV[2])
return {1, last}
`

// SaveSnapshot implements store.Log.
func (l *Log) SaveSnapshot(ctx context.Context, meeting string, seq uint64, data []byte) error {
	if err := store.CheckMeetingID(meeting); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	k := l.keys(meeting)
	cctx, cancel := l.call(ctx)
	defer cancel()
	res, err := l.snapScript.Run(cctx, l.client, []string{k.seq, k.snap}, strconv.FormatUint(seq, 10), data).Int64Slice()
	if err != nil {
		return fail(ctx, "save snapshot of "+meeting, err)
	}
	if len(res) == 2 && res[0] == -1 {
		return fmt.Errorf("redis: save snapshot of %s: %w: snapshot at seq %d, log has 1..%d", meeting, store.ErrInvalid, seq, res[1])
	}
	return nil
}

// Snapshot implements store.Log.
func (l *Log) Snapshot(ctx context.Context, meeting string) (seq uint64, data []byte, ok bool, err error) {
	if err := store.CheckMeetingID(meeting); err != nil {
		return 0, nil, false, err
	}
	if err := ctx.Err(); err != nil {
		return 0, nil, false, err
	}
	cctx, cancel := l.call(ctx)
	defer cancel()
	vals, err := l.client.HMGet(cctx, l.keys(meeting).snap, "seq", "data").Result()
	if err != nil {
		return 0, nil, false, fail(ctx, "snapshot of "+meeting, err)
	}
	s, ok1 := vals[0].(string)
	d, ok2 := vals[1].(string)
	if !ok1 || !ok2 {
		return 0, nil, false, nil
	}
	seq, err = strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, nil, false, fmt.Errorf("redis: snapshot of %s: bad seq %q", meeting, s)
	}
	return seq, []byte(d), true, nil
}

// trimLua drops the stream entries covered by the snapshot. KEYS: ops,
// snap, trim. Returns the snapshot's seq (0: none, nothing trimmed).
const trimLua = `
local s = redis.call('HGET', KEYS[2], 'seq')
if not s then
  return 0
end
local n = tonumber(s)
local cur = tonumber(redis.call('GET', KEYS[3]) or '0')
if n > cur then
  redis.call('XTRIM', KEYS[1], 'MINID', string.format('%d-0', n + 1))
  redis.call('SET', KEYS[3], s)
end
return n
`

// Trim implements store.Trimmer: the stream keeps only the ops after the
// stored snapshot; the op-id hash stays, so re-sent ops are still
// recognised.
func (l *Log) Trim(ctx context.Context, meeting string) error {
	if err := store.CheckMeetingID(meeting); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	k := l.keys(meeting)
	cctx, cancel := l.call(ctx)
	defer cancel()
	if err := l.trimScript.Run(cctx, l.client, []string{k.ops, k.snap, k.trim}).Err(); err != nil {
		return fail(ctx, "trim "+meeting, err)
	}
	return nil
}

// Purge implements store.Log: it deletes the meeting's keys, then has Redis
// rewrite its AOF and waits until the rewrite is done, because the deleted
// values stay in the append-only file (as the commands that wrote them)
// until it is rewritten. A purge mark, set with the deletion and cleared
// after the rewrite, lets the next Open finish a purge this instance could
// not. On a Redis without AOF there is nothing to rewrite. RDB dumps, if
// the server makes any, are not rewritten here.
func (l *Log) Purge(ctx context.Context, meeting string) error {
	if err := store.CheckMeetingID(meeting); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	k := l.keys(meeting)
	cctx, cancel := context.WithTimeout(ctx, l.opts.PurgeTimeout)
	defer cancel()
	pending, err := l.purgeScript.Run(cctx, l.client, []string{k.seq, k.ops, k.ids, k.snap, k.trim, k.purged}).Int()
	if err != nil {
		return fail(ctx, "purge "+meeting, err)
	}
	if pending == 0 {
		return nil // nothing deleted, now or by an unfinished earlier purge
	}
	if err := l.finishPurge(cctx, k.purged); err != nil {
		return fail(ctx, "purge "+meeting, err)
	}
	return nil
}

// purgeLua deletes a meeting's keys (KEYS 1-5) and, if anything was
// deleted, sets the purge mark (KEYS[6]) that says "AOF rewrite pending",
// so that the next Open finishes the job should this instance die first.
// Returns 1 when a rewrite is pending (now or from an earlier purge).
const purgeLua = `
local n = redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5])
if n > 0 then
  redis.call('SET', KEYS[6], '1')
  return 1
end
return redis.call('EXISTS', KEYS[6])
`

// finishPurge rewrites the AOF of the node holding the purge mark, then
// deletes the mark.
func (l *Log) finishPurge(ctx context.Context, mark string) error {
	node, err := l.nodeFor(ctx, mark)
	if err != nil {
		return err
	}
	if err := l.rewriteAOF(ctx, node); err != nil {
		return fmt.Errorf("rewrite the AOF: %w", err)
	}
	return l.client.Del(ctx, mark).Err()
}

// finishPurges completes the purges a dead instance left half done (keys
// deleted, AOF not yet rewritten). Errors are left for the next Open: the
// marks stay until a rewrite succeeds.
func (l *Log) finishPurges(ctx context.Context) {
	cctx, cancel := context.WithTimeout(ctx, l.opts.PurgeTimeout)
	defer cancel()
	marks, err := l.scanKeys(cctx, l.opts.Prefix+"{*}:purged")
	if err != nil {
		return
	}
	for _, mark := range marks {
		if l.finishPurge(cctx, mark) != nil {
			return
		}
	}
}

// nodeFor is the client of the node holding key (its Cluster master), or
// the client itself (one node, or Sentinel's current master).
func (l *Log) nodeFor(ctx context.Context, key string) (goredis.Cmdable, error) {
	if cc, ok := l.client.(*goredis.ClusterClient); ok {
		return cc.MasterForKey(ctx, key)
	}
	return l.client, nil
}

// rewriteAOF makes node rewrite its AOF with a rewrite that starts after
// now, and waits for it: a rewrite already running started from an older
// dataset, so it is waited out first.
func (l *Log) rewriteAOF(ctx context.Context, node goredis.Cmdable) error {
	l.purgeMu.Lock()
	defer l.purgeMu.Unlock()
	cfg, err := node.ConfigGet(ctx, "appendonly").Result()
	if err != nil {
		return fmt.Errorf("CONFIG GET appendonly: %w", err)
	}
	if cfg["appendonly"] != "yes" {
		return nil
	}
	info, err := l.waitRewriteIdle(ctx, node)
	if err != nil {
		return err
	}
	before := info["aof_rewrites"]
	if err := node.BgRewriteAOF(ctx).Err(); err != nil && !strings.Contains(err.Error(), "already in progress") {
		return fmt.Errorf("BGREWRITEAOF: %w", err)
	}
	// A rewrite that another client started after our DEL is as good.
	for {
		info, err := l.waitRewriteIdle(ctx, node)
		if err != nil {
			return err
		}
		if info["aof_rewrites"] != before {
			if st := info["aof_last_bgrewrite_status"]; st != "ok" {
				return fmt.Errorf("AOF rewrite status %q", st)
			}
			return nil
		}
		if err := sleep(ctx, pollInterval); err != nil {
			return err
		}
	}
}

// waitRewriteIdle polls INFO persistence until no AOF rewrite is running
// or scheduled, and returns its fields.
func (l *Log) waitRewriteIdle(ctx context.Context, node goredis.Cmdable) (map[string]string, error) {
	for {
		raw, err := node.Info(ctx, "persistence").Result()
		if err != nil {
			return nil, fmt.Errorf("INFO persistence: %w", err)
		}
		info := parseInfo(raw)
		if _, ok := info["aof_rewrites"]; !ok {
			return nil, errors.New("INFO persistence has no aof_rewrites (Redis 7 or later is needed)")
		}
		if info["aof_rewrite_in_progress"] == "0" && info["aof_rewrite_scheduled"] == "0" {
			return info, nil
		}
		if err := sleep(ctx, pollInterval); err != nil {
			return nil, err
		}
	}
}

func parseInfo(raw string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(raw, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			out[k] = v
		}
	}
	return out
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Ping implements store.Log (for /readyz).
func (l *Log) Ping(ctx context.Context) error {
	cctx, cancel := l.call(ctx)
	defer cancel()
	if err := l.client.Ping(cctx).Err(); err != nil {
		return fail(ctx, "ping", err)
	}
	return nil
}

// Close implements store.Log. Appends are durable when acked, so there is
// nothing to flush.
func (l *Log) Close() error {
	if err := l.client.Close(); err != nil {
		return fmt.Errorf("redis: close: %w", err)
	}
	return nil
}

// Client is the underlying go-redis client (tests and diagnostics).
func (l *Log) Client() goredis.UniversalClient { return l.client }
