package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestGeneratorNice runs the generator as a command with -generator-nice
// against the bare hub it starts: every thread of the generator must be at
// that nice value, the target's at 0, and the report must say both.
func TestGeneratorNice(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the generator")
	}
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI runs as root: -generator-nice must be tested there")
		}
		t.Skip("-generator-nice starts the targets below the generator's niceness: root only")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "loadgen")
	if err := goBuild(ctx, root, "./loadgen", bin, smokeOutput()); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "run.json")
	cmd := exec.CommandContext(ctx, bin, "-target", "bare", "-generator-nice", "7",
		"-meetings", "2", "-participants", "10", "-rate", "20", "-duration", "1s", "-step-every", "0", "-json", out)
	cmd.Env = append(os.Environ(), "TMPDIR="+dir)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, msg)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var results []Result // -json writes a list, one result per target and round
	if err := json.Unmarshal(data, &results); err != nil {
		t.Fatalf("report: %v", err)
	}
	if len(results) != 1 {
		t.Fatalf("%d results, want 1", len(results))
	}
	if r := results[0]; r.GeneratorNice != 7 || r.TargetNice != 0 || r.OpsAcked == 0 {
		t.Errorf("generator at nice %d, target at %d, %d ops acked: want 7, 0 and every op", r.GeneratorNice, r.TargetNice, r.OpsAcked)
	}
}
