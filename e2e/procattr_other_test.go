//go:build !linux

package e2e

import "os/exec"

// dieWithParent is Linux-only (Pdeathsig); elsewhere cleanups stop the server.
func dieWithParent(*exec.Cmd) {}
