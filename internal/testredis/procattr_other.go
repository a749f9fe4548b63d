//go:build !linux

package testredis

import "os/exec"

// dieWithParent is Linux-only (Pdeathsig); elsewhere cleanups stop the server.
func dieWithParent(*exec.Cmd) {}
