//go:build !linux

package faults

import "os/exec"

// dieWithParent does nothing where the kernel cannot tie the child's life
// to ours; the test's cleanups stop the server.
func dieWithParent(cmd *exec.Cmd) {}
