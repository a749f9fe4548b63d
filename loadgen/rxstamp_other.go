//go:build !linux

package main

import (
	"context"
	"net"
)

// dialStamped dials without receive times where the kernel gives none
// this way: the "at the socket" figures are then the generator's own.
func dialStamped(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}
