package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	tests := []struct {
		name    string
		args    []string
		env     func(string) string
		want    Config
		wantErr string
	}{
		{"defaults", nil, env(), Config{Addr: ":8080", DataDir: "./data", LogFormat: "text", ShutdownTimeout: 10 * time.Second, BodyTimeout: 20 * time.Second, Retention: 30 * 24 * time.Hour}, ""},
		{"environment", nil, env("PORT", "9000", "DATA_DIR", "/var/lib/d", "PUBLIC_URL", "https://x.example/", "LOG_FORMAT", "json", "REDIS_URL", "redis://r:6379/0"),
			Config{Addr: ":9000", DataDir: "/var/lib/d", PublicURL: "https://x.example", LogFormat: "json", RedisURL: "redis://r:6379/0", ShutdownTimeout: 10 * time.Second, BodyTimeout: 20 * time.Second, Retention: 30 * 24 * time.Hour}, ""},
		{"flags win", []string{"-addr", "127.0.0.1:0", "-data", "d"}, env("PORT", "9000"),
			Config{Addr: "127.0.0.1:0", DataDir: "d", LogFormat: "text", ShutdownTimeout: 10 * time.Second, BodyTimeout: 20 * time.Second, Retention: 30 * 24 * time.Hour}, ""},
		{"bad log format", []string{"-log-format", "xml"}, env(), Config{}, "log-format"},
		{"retention in hours", []string{"-retention", "48h"}, env(),
			Config{Addr: ":8080", DataDir: "./data", LogFormat: "text", ShutdownTimeout: 10 * time.Second, BodyTimeout: 20 * time.Second, Retention: 48 * time.Hour}, ""},
		{"retention off", nil, env("RETENTION", "0"),
			Config{Addr: ":8080", DataDir: "./data", LogFormat: "text", ShutdownTimeout: 10 * time.Second, BodyTimeout: 20 * time.Second}, ""},
		{"body timeout", nil, env("BODY_TIMEOUT", "1m"),
			Config{Addr: ":8080", DataDir: "./data", LogFormat: "text", ShutdownTimeout: 10 * time.Second, BodyTimeout: time.Minute, Retention: 30 * 24 * time.Hour}, ""},
		{"bad body timeout", []string{"-body-timeout", "0s"}, env(), Config{}, "body-timeout"},
		{"bad retention", []string{"-retention", "a month"}, env(), Config{}, "retention"},
		{"negative retention", []string{"-retention", "-1d"}, env(), Config{}, "retention"},
		{"public url with a path", []string{"-public-url", "https://x.example/app"}, env(), Config{}, "public-url"},
		{"stray argument", []string{"serve"}, env(), Config{}, "unexpected argument"},
		{"pprof on loopback", []string{"-pprof-addr", "127.0.0.1:6060"}, env(),
			Config{Addr: ":8080", DataDir: "./data", LogFormat: "text", ShutdownTimeout: 10 * time.Second, BodyTimeout: 20 * time.Second, Retention: 30 * 24 * time.Hour, PprofAddr: "127.0.0.1:6060"}, ""},
		{"pprof on every interface", []string{"-pprof-addr", ":6060"}, env(), Config{}, "loopback"},
		{"pprof on a public address", nil, env("PPROF_ADDR", "192.0.2.1:6060"), Config{}, "loopback"},
		{"pprof without a port", []string{"-pprof-addr", "localhost"}, env(), Config{}, "host:port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseConfig(tt.args, tt.env, &bytes.Buffer{})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestRunHelpAndVersion(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"-help"}, func(string) string { return "" }, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"-addr (PORT", "-data (DATA_DIR", "-public-url (PUBLIC_URL", "-log-format (LOG_FORMAT", "-redis-url (REDIS_URL"} {
		if !strings.Contains(errOut.String(), want) {
			t.Fatalf("help lacks %q:\n%s", want, errOut.String())
		}
	}
	out.Reset()
	if err := run(context.Background(), []string{"-version"}, func(string) string { return "" }, &out, &errOut); err != nil || !strings.HasPrefix(out.String(), "designation ") {
		t.Fatalf("version: %v %q", err, out.String())
	}
}

// TestRunServesAndStops runs the whole server in-process on a free port,
// polls /healthz, then cancels it like SIGTERM does.
func TestRunServesAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-data", t.TempDir()}, func(string) string { return "" }, out, &syncBuffer{})
	}()
	deadline := time.Now().Add(10 * time.Second)
	var url string
	for url == "" {
		if s := out.String(); strings.HasPrefix(s, "listening on ") {
			url = strings.TrimSpace(strings.TrimPrefix(s, "listening on "))
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no listening line")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := healthCheck(strings.TrimPrefix(url, "http://")); err != nil {
		t.Fatalf("healthcheck: %v", err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not return after cancel")
	}
}

// TestPprofListener: -pprof-addr serves the runtime profiles on its own
// listener.
func TestPprofListener(t *testing.T) {
	var out bytes.Buffer
	srv, err := servePprof(Config{PprofAddr: "127.0.0.1:0"}, slog.New(slog.NewTextHandler(io.Discard, nil)), &out)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	url := strings.TrimSpace(strings.TrimPrefix(out.String(), "pprof on "))
	resp, err := http.Get(url + "cmdline")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(body) == 0 {
		t.Fatalf("GET %scmdline: %d %q", url, resp.StatusCode, body)
	}
	if none, err := servePprof(Config{}, nil, &out); none != nil || err != nil {
		t.Fatalf("without -pprof-addr: %v %v", none, err)
	}
}
