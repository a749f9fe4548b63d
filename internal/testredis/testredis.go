// Package testredis runs a real redis-server process for tests: on a free
// loopback port, in the test's temporary directory, stopped at cleanup. It
// has what fault tests need: Stop, Kill (kill -9) and Restart on the same
// port and directory.
//
// When redis-server is not on PATH the test is skipped, unless CI=true
// (scripts/test.sh sets it and installs Redis): then it fails, because a
// skipped test proves nothing.
package testredis

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	// readyTimeout bounds the wait for a started server to answer PING
	// (it may be loading its AOF).
	readyTimeout = 15 * time.Second
	// stopTimeout bounds the wait for a stopped server to exit.
	stopTimeout = 10 * time.Second
)

// Server is one redis-server process (restartable).
type Server struct {
	t    testing.TB
	bin  string
	dir  string // data directory (AOF files), fixed across restarts
	log  string // the server's output, shown when it fails to start
	port int
	aof  bool

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has exited
}

// Start starts a redis-server with AOF on and fsynced at every write
// (--appendonly yes --appendfsync always) and no RDB snapshots (--save ""),
// the durability the store relies on. It returns the redis:// URL.
func Start(t testing.TB) (url string, srv *Server) {
	t.Helper()
	srv = start(t, true)
	return srv.URL(), srv
}

// StartWithoutAOF starts a redis-server as Debian configures it by default
// (AOF off), to test that the store refuses to rely on it.
func StartWithoutAOF(t testing.TB) (url string, srv *Server) {
	t.Helper()
	srv = start(t, false)
	return srv.URL(), srv
}

func start(t testing.TB, aof bool) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("redis-server not on PATH (CI=true: Redis tests must run; scripts/test.sh installs it): %v", err)
		}
		t.Skip("redis-server not on PATH: run ./scripts/test.sh, which installs it, or apt-get install redis-server")
	}
	s := &Server{
		t:   t,
		bin: bin,
		dir: t.TempDir(),
		log: filepath.Join(t.TempDir(), "redis.log"),
		aof: aof,
	}
	t.Cleanup(s.Kill)
	// Another process may take the free port between our probe and
	// redis-server's bind: try a few ports.
	var lastErr error
	for range 3 {
		s.port, err = freePort()
		if err != nil {
			t.Fatalf("testredis: find a free port: %v", err)
		}
		if lastErr = s.launch(); lastErr == nil {
			return s
		}
	}
	t.Fatalf("testredis: %v", lastErr)
	return nil
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// launch starts the process and waits until it answers PING.
func (s *Server) launch() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return fmt.Errorf("redis-server on port %d already running", s.port)
	}
	appendonly := "no"
	if s.aof {
		appendonly = "yes"
	}
	logFile, err := os.OpenFile(s.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := exec.Command(s.bin,
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--dir", s.dir,
		"--appendonly", appendonly,
		"--appendfsync", "always",
		"--save", "",
		"--daemonize", "no",
		"--protected-mode", "yes",
		"--logfile", "",
	)
	cmd.Dir = s.dir
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	deadline := time.Now().Add(readyTimeout)
	for {
		if pingErr := ping(s.Addr()); pingErr == nil {
			s.cmd, s.exited = cmd, exited
			return nil
		} else if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-exited
			return fmt.Errorf("redis-server on %s not ready after %v: %v\n%s", s.Addr(), readyTimeout, pingErr, s.logTail())
		}
		select {
		case <-exited:
			return fmt.Errorf("redis-server on %s exited at start:\n%s", s.Addr(), s.logTail())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// ping sends one RESP PING and expects +PONG (not -LOADING).
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(line) != "+PONG" {
		return fmt.Errorf("PING answered %q", strings.TrimSpace(line))
	}
	return nil
}

func (s *Server) logTail() string {
	b, _ := os.ReadFile(s.log)
	if i := len(b) - 2000; i > 0 {
		b = b[i:]
	}
	return string(bytes.TrimSpace(b))
}

// URL is the redis:// URL of the server.
func (s *Server) URL() string { return "redis://" + s.Addr() }

// Addr is the server's host:port on loopback.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// Dir is the server's data directory (AOF files under appendonlydir/).
func (s *Server) Dir() string { return s.dir }

// Stop stops the server as an operator would (SIGTERM: it flushes the AOF
// and exits) and waits for it to exit. It does nothing when not running.
func (s *Server) Stop() { s.signal(syscall.SIGTERM) }

// Kill kills the server with SIGKILL (kill -9: no flush, no goodbye) and
// waits for it to exit. It does nothing when not running.
func (s *Server) Kill() { s.signal(syscall.SIGKILL) }

func (s *Server) signal(sig syscall.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Signal(sig)
	s.cmd.Process.Signal(syscall.SIGCONT) // a paused server must see it
	select {
	case <-s.exited:
	case <-time.After(stopTimeout):
		s.cmd.Process.Kill()
		<-s.exited
		s.t.Errorf("testredis: redis-server on %s ignored %v for %v; killed", s.Addr(), sig, stopTimeout)
	}
	s.cmd, s.exited = nil, nil
}

// Pause freezes the server (SIGSTOP): it keeps its connections open but
// answers nothing, like a hung or overloaded Redis. Resume undoes it.
func (s *Server) Pause() { s.sendOnly(syscall.SIGSTOP) }

// Resume lets a paused server go on (SIGCONT).
func (s *Server) Resume() { s.sendOnly(syscall.SIGCONT) }

func (s *Server) sendOnly(sig syscall.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		s.cmd.Process.Signal(sig)
	}
}

// Restart starts the server again after Stop or Kill, on the same port and
// directory (so it reloads its AOF), and waits until it answers PING. A
// running server is stopped first.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	if err := s.launch(); err != nil {
		s.t.Fatalf("testredis: restart: %v", err)
	}
}

// Running says whether the process is up.
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmd != nil
}
