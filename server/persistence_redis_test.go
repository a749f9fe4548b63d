package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/boucle/designation/internal/testredis"
	"github.com/boucle/designation/store/redis"
)

// TestRedisPersistenceAtStart: with Redis, the server reads its AOF
// settings at start and logs them; it refuses a Redis without AOF (as
// Debian ships it) unless -redis-allow-no-aof or REDIS_ALLOW_NO_AOF=true
// accepts the risk, which it then logs as a warning; appendfsync everysec
// runs with a warning.
func TestRedisPersistenceAtStart(t *testing.T) {
	t.Parallel()
	aofURL, _ := testredis.Start(t)
	noAOFURL, _ := testredis.StartWithoutAOF(t)
	everysecURL, _ := testredis.Start(t)
	l, err := redis.Open(context.Background(), everysecURL, redis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Client().ConfigSet(context.Background(), "appendfsync", "everysec").Err(); err != nil {
		t.Fatal(err)
	}
	l.Close()

	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		refused bool     // run returns ErrNoAOF without serving
		logged  []string // in the log (text format)
		never   []string // never in the log
	}{
		{name: "no AOF refused", args: []string{"-redis-url", noAOFURL}, refused: true},
		{name: "no AOF refused from the environment", env: map[string]string{"REDIS_URL": noAOFURL}, refused: true},
		{name: "no AOF accepted by the flag", args: []string{"-redis-url", noAOFURL, "-redis-allow-no-aof"},
			logged: []string{"appendonly=false", `level=WARN msg="redis keeps no AOF`}},
		{name: "no AOF accepted by the environment", env: map[string]string{"REDIS_URL": noAOFURL, "REDIS_ALLOW_NO_AOF": "true"},
			logged: []string{"appendonly=false", `level=WARN msg="redis keeps no AOF`}},
		{name: "AOF always", args: []string{"-redis-url", aofURL},
			logged: []string{`level=INFO msg="redis persistence" appendonly=true appendfsync=always`}, never: []string{"level=WARN"}},
		{name: "AOF everysec", args: []string{"-redis-url", everysecURL},
			logged: []string{"appendonly=true appendfsync=everysec", `level=WARN msg="redis appendfsync is not always`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"-addr", "127.0.0.1:0", "-data", t.TempDir()}, tc.args...)
			stdout, stderr := &syncBuffer{}, &syncBuffer{}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() {
				done <- run(ctx, args, func(k string) string { return tc.env[k] }, stdout, stderr)
			}()
			if tc.refused {
				select {
				case err := <-done:
					if !errors.Is(err, redis.ErrNoAOF) || !strings.Contains(err.Error(), "-redis-allow-no-aof") {
						t.Fatalf("run = %v, want ErrNoAOF naming -redis-allow-no-aof", err)
					}
				case <-time.After(15 * time.Second):
					t.Fatal("the server did not refuse a Redis without AOF")
				}
				if strings.Contains(stdout.String(), "listening on") {
					t.Fatal("the server listened on a Redis without AOF")
				}
				return
			}
			deadline := time.Now().Add(15 * time.Second)
			for !strings.Contains(stdout.String(), "listening on") {
				select {
				case err := <-done:
					t.Fatalf("run returned %v before listening; log:\n%s", err, stderr.String())
				default:
				}
				if time.Now().After(deadline) {
					t.Fatalf("not listening after 15 s; log:\n%s", stderr.String())
				}
				time.Sleep(20 * time.Millisecond)
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("run after cancel: %v", err)
			}
			logged := stderr.String()
			for _, want := range tc.logged {
				if !strings.Contains(logged, want) {
					t.Errorf("the log lacks %q:\n%s", want, logged)
				}
			}
			for _, never := range tc.never {
				if strings.Contains(logged, never) {
					t.Errorf("the log has %q:\n%s", never, logged)
				}
			}
		})
	}
}

// TestRedisAllowNoAOFSetting: the setting takes true or false, from the
// flag (alone means true) or the environment; anything else stops the
// server with a message naming it.
func TestRedisAllowNoAOFSetting(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		env     string
		want    bool
		wantErr bool
	}{
		{nil, "", false, false},
		{[]string{"-redis-allow-no-aof"}, "", true, false},
		{[]string{"-redis-allow-no-aof=false"}, "true", false, false},
		{nil, "true", true, false},
		{nil, "1", true, false},
		{nil, "yes", false, true},
	} {
		cfg, err := parseConfig(tc.args, func(k string) string {
			if k == "REDIS_ALLOW_NO_AOF" {
				return tc.env
			}
			return ""
		}, &bytes.Buffer{})
		if tc.wantErr {
			if err == nil || !strings.Contains(err.Error(), "-redis-allow-no-aof") {
				t.Errorf("%v REDIS_ALLOW_NO_AOF=%q: error %v, want one naming -redis-allow-no-aof", tc.args, tc.env, err)
			}
			continue
		}
		if err != nil || cfg.RedisAllowNoAOF != tc.want {
			t.Errorf("%v REDIS_ALLOW_NO_AOF=%q: %v, %v; want %v", tc.args, tc.env, cfg.RedisAllowNoAOF, err, tc.want)
		}
	}
}
