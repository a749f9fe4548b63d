package testredis

import (
	"os"
	"path/filepath"
	"testing"
)

func TestStartStopRestart(t *testing.T) {
	t.Parallel()
	url, srv := Start(t)
	if url != srv.URL() || url == "" {
		t.Fatalf("URL = %q / %q", url, srv.URL())
	}
	if err := ping(srv.Addr()); err != nil {
		t.Fatalf("PING a started server: %v", err)
	}
	if _, err := os.Stat(filepath.Join(srv.Dir(), "appendonlydir")); err != nil {
		t.Fatalf("AOF directory missing: %v", err)
	}
	srv.Kill()
	if srv.Running() || ping(srv.Addr()) == nil {
		t.Fatal("server still answers after Kill")
	}
	srv.Restart()
	if err := ping(srv.Addr()); err != nil {
		t.Fatalf("PING after Restart: %v", err)
	}
	srv.Stop()
	if ping(srv.Addr()) == nil {
		t.Fatal("server still answers after Stop")
	}
	srv.Stop() // idempotent
}

func TestWithoutAOF(t *testing.T) {
	t.Parallel()
	_, srv := StartWithoutAOF(t)
	if err := ping(srv.Addr()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(srv.Dir(), "appendonlydir")); err == nil {
		t.Fatal("AOF directory created with AOF off")
	}
}
