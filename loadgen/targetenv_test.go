package main

import (
	"slices"
	"testing"
)

// TestParseTargetEnv: -target-env is space-separated KEY=VALUE; anything
// else is refused rather than passed on.
func TestParseTargetEnv(t *testing.T) {
	env, err := parseTargetEnv("  GOGC=400   GOMEMLIMIT=520MiB GODEBUG=gctrace=1 EMPTY= ")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"GOGC=400", "GOMEMLIMIT=520MiB", "GODEBUG=gctrace=1", "EMPTY="}; !slices.Equal(env, want) {
		t.Fatalf("%q, want %q", env, want)
	}
	for _, bad := range []string{"GOGC", "=400", "GOGC=400 oops"} {
		if _, err := parseTargetEnv(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
