package main

import (
	"context"
	"io"
	"net"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// stampConn is a TCP connection whose reads also keep the kernel's receive
// time of the data they return (SO_TIMESTAMPNS: the time the last segment
// read reached the socket's host, not the time this process got to read it).
// On loopback that is when the target's write(2) put it on the wire.
type stampConn struct {
	*net.TCPConn
	raw  syscall.RawConn
	last atomic.Int64 // Unix nanoseconds of the newest data read; 0: unknown
	oob  []byte       // only the reader uses it
}

// dialStamped dials a TCP connection whose reads are time-stamped by the
// kernel. Where the socket option is refused, the connection works without
// stamps (lastRx answers 0).
func dialStamped(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	tcp, ok := conn.(*net.TCPConn)
	if !ok {
		return conn, nil
	}
	raw, err := tcp.SyscallConn()
	if err != nil {
		return conn, nil
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1)
	}); err != nil || serr != nil {
		return conn, nil
	}
	return &stampConn{TCPConn: tcp, raw: raw, oob: make([]byte, syscall.CmsgSpace(int(unsafe.Sizeof(syscall.Timespec{}))))}, nil
}

// Read is recvmsg(2) with the receive time of what it read kept aside. It
// honours the connection's deadlines (the runtime's poller waits for it).
func (c *stampConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var n, oobn int
	var rerr error
	err := c.raw.Read(func(fd uintptr) bool {
		for {
			n, oobn, _, _, rerr = syscall.Recvmsg(int(fd), p, c.oob, 0)
			if rerr != syscall.EINTR {
				return rerr != syscall.EAGAIN
			}
		}
	})
	if err == nil {
		err = rerr
	}
	if err != nil {
		if n < 0 {
			n = 0
		}
		return n, &net.OpError{Op: "read", Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
	}
	if n == 0 {
		return 0, io.EOF
	}
	// Data with no stamp (the kernel turns stamping on a moment after the
	// first socket asks) is of unknown time: never the previous stamp's.
	ts, _ := rxTime(c.oob[:oobn])
	c.last.Store(ts)
	return n, nil
}

// lastRx is the kernel's receive time (Unix nanoseconds) of the newest
// data the last read returned, 0 if it gave none.
func (c *stampConn) lastRx() int64 { return c.last.Load() }

// rxTime reads the SCM_TIMESTAMPNS control message of a recvmsg.
func rxTime(oob []byte) (int64, bool) {
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return 0, false
	}
	for _, m := range msgs {
		if m.Header.Level == syscall.SOL_SOCKET && m.Header.Type == syscall.SCM_TIMESTAMPNS &&
			len(m.Data) >= int(unsafe.Sizeof(syscall.Timespec{})) {
			return (*syscall.Timespec)(unsafe.Pointer(&m.Data[0])).Nano(), true
		}
	}
	return 0, false
}
