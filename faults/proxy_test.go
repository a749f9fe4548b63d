package faults

import (
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// chaosProxy forwards TCP connections from a loopback port to the current
// server (which moves to a new port on each restart). While chaos is on it
// delays every chunk it forwards and cuts connections at random.
type chaosProxy struct {
	ln      net.Listener
	backend atomic.Value // string: host:port of the server
	chaos   atomic.Bool
	cuts    atomic.Int64

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func newChaosProxy(backend string) (*chaosProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &chaosProxy{ln: ln, conns: map[net.Conn]struct{}{}}
	p.backend.Store(backend)
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

func (p *chaosProxy) addr() string { return p.ln.Addr().String() }

// setBackend points new connections at a restarted server.
func (p *chaosProxy) setBackend(addr string) { p.backend.Store(addr) }

func (p *chaosProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go p.serve(c)
	}
}

// track registers a connection so close can cut it; false when closing.
func (p *chaosProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns == nil {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *chaosProxy) untrack(c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.conns, c)
}

func (p *chaosProxy) serve(client net.Conn) {
	defer p.wg.Done()
	server, err := net.DialTimeout("tcp", p.backend.Load().(string), 2*time.Second)
	if err != nil {
		client.Close()
		return
	}
	if !p.track(client) || !p.track(server) {
		client.Close()
		server.Close()
		return
	}
	defer p.untrack(client)
	defer p.untrack(server)
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		defer func() { done <- struct{}{} }()
		buf := make([]byte, 16<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				if p.chaos.Load() {
					time.Sleep(time.Duration(rand.IntN(30)) * time.Millisecond)
				}
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				if err != io.EOF {
					return
				}
				return
			}
		}
	}
	go pipe(server, client)
	go pipe(client, server)
	// The cut: a random lifetime while chaos is on.
	life := time.Duration(300+rand.IntN(2500)) * time.Millisecond
	timer := time.NewTimer(life)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		if p.chaos.Load() {
			p.cuts.Add(1)
		} else {
			<-done // no chaos any more: live until one side closes
		}
	}
	client.Close()
	server.Close()
	<-done
}

// close stops accepting and cuts every connection.
func (p *chaosProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	for c := range p.conns {
		c.Close()
	}
	p.conns = nil
	p.mu.Unlock()
	p.wg.Wait()
}
