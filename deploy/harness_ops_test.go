package deploy

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	// startTimeout bounds the wait for the server's "listening on" line.
	startTimeout = 30 * time.Second
	// stopTimeout bounds the wait for the server to exit after SIGTERM.
	stopTimeout = 15 * time.Second
	// waitTimeout bounds every wait on a frame or a condition.
	waitTimeout = 15 * time.Second
	// testVersion is stamped into the binary the way the image's VERSION
	// build argument is.
	testVersion = "ops-test-1.2.3"
)

// imageBuild is what the Dockerfile says about building and running the
// server.
type imageBuild struct {
	// buildEnv are the ENV settings of the build stage (CGO_ENABLED, GOFLAGS).
	buildEnv map[string]string
	// ldflags of the go build line, with ${VERSION} still in it.
	ldflags string
	// pkg is the package built (./server).
	pkg string
	// runEnv are the ENV settings of the final stage (DATA_DIR, PORT).
	runEnv map[string]string
	// stages are the FROM lines' images, in order.
	stages []string
	// user, volumes, expose, healthcheck and entrypoint of the final stage.
	user        string
	volumes     []string
	expose      []string
	healthcheck string
	entrypoint  string
}

// imageBinaryPath is the server built once by TestMain with the
// Dockerfile's flags; read only afterwards.
var imageBinaryPath string

// dockerfile is what TestMain parsed; read only afterwards.
var dockerfile imageBuild

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "designation-image-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "deploy: temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	dockerfile, err = parseDockerfile(filepath.Join("..", "Dockerfile"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "deploy:", err)
		return 1
	}
	imageBinaryPath = filepath.Join(dir, "server")
	if out, err := buildLikeImage(imageBinaryPath); err != nil {
		fmt.Fprintf(os.Stderr, "deploy: build like the image: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// parseDockerfile reads the settings the tests rely on. It fails when the
// Dockerfile no longer has the shape they check, rather than testing
// something else than what the image runs.
func parseDockerfile(path string) (imageBuild, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return imageBuild{}, fmt.Errorf("read Dockerfile: %w", err)
	}
	text := strings.ReplaceAll(string(data), "\\\n", " ")
	b := imageBuild{buildEnv: map[string]string{}, runEnv: map[string]string{}}
	goBuild := regexp.MustCompile(`go build -ldflags="([^"]*)" -o \S+ (\S+)`)
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		instr, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimSpace(rest)
		final := len(b.stages) > 1
		switch strings.ToUpper(instr) {
		case "FROM":
			b.stages = append(b.stages, strings.Fields(rest)[0])
		case "ENV":
			env := b.buildEnv
			if final {
				env = b.runEnv
			}
			for _, kv := range strings.Fields(rest) {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					return imageBuild{}, fmt.Errorf("Dockerfile: ENV %q: use KEY=value", rest)
				}
				env[k] = v
			}
		case "RUN":
			if m := goBuild.FindStringSubmatch(rest); m != nil && !final {
				b.ldflags, b.pkg = m[1], m[2]
			}
		case "USER":
			b.user = rest
		case "VOLUME":
			b.volumes = append(b.volumes, jsonWords(rest)...)
		case "EXPOSE":
			b.expose = append(b.expose, strings.Fields(rest)...)
		case "HEALTHCHECK":
			b.healthcheck = rest
		case "ENTRYPOINT":
			b.entrypoint = rest
		}
	}
	if b.ldflags == "" || b.pkg == "" {
		return imageBuild{}, fmt.Errorf("Dockerfile: no `go build -ldflags=\"...\" -o OUT PKG` line in the build stage")
	}
	return b, nil
}

// jsonWords reads `["a", "b"]` or `a b`.
func jsonWords(s string) []string {
	s = strings.Trim(strings.TrimSpace(s), "[]")
	var out []string
	for _, w := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		out = append(out, strings.Trim(w, `"`))
	}
	return out
}

// buildLikeImage builds the server to out with the Dockerfile's build
// environment and flags, the version set as the image's build argument
// would.
func buildLikeImage(out string) ([]byte, error) {
	root, err := filepath.Abs("..")
	if err != nil {
		return nil, err
	}
	return buildLikeImageIn(root, out)
}

// buildLikeImageIn builds the module in root like the image does.
func buildLikeImageIn(root, out string) ([]byte, error) {
	ldflags := strings.ReplaceAll(dockerfile.ldflags, "${VERSION}", testVersion)
	cmd := exec.Command("go", "build", "-ldflags="+ldflags, "-o", out, dockerfile.pkg)
	cmd.Dir = root
	cmd.Env = os.Environ()
	for k, v := range dockerfile.buildEnv {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	return cmd.CombinedOutput()
}

// lockedBuffer collects a process's output.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// serverProc is one running server binary.
type serverProc struct {
	t   *testing.T
	cmd *exec.Cmd
	url string // from its "listening on" line
	// metricsURL is the separate metrics listener's /metrics, from its
	// "metrics on" line (-metrics-addr), "" without one.
	metricsURL string
	stderr     *lockedBuffer
	exited     chan struct{}
	err        error // Wait's result, once exited is closed
}

// startServer runs the image binary with exactly env (nothing inherited, as
// in the container) in dir, and waits until it says where it listens.
func startServer(t *testing.T, dir string, env []string, args ...string) *serverProc {
	t.Helper()
	cmd := exec.Command(imageBinaryPath, args...)
	cmd.Dir = dir
	cmd.Env = env
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &serverProc{t: t, cmd: cmd, stderr: &lockedBuffer{}, exited: make(chan struct{})}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start server: %v", err)
	}
	urls := make(chan string, 1)
	metricsURLs := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "metrics on "); ok {
				metricsURLs <- u
			}
			if u, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
				select {
				case urls <- u:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("server log:\n%s", p.stderr.String())
		}
	})
	select {
	case p.url = <-urls:
		select { // printed before "listening on", when there is one
		case p.metricsURL = <-metricsURLs:
		default:
		}
	case <-p.exited:
		t.Fatalf("server exited before listening: %v\n%s", p.err, p.stderr.String())
	case <-time.After(startTimeout):
		t.Fatalf("server did not listen within %s\n%s", startTimeout, p.stderr.String())
	}
	return p
}

// stop sends SIGTERM (what `docker stop` sends) and waits for the exit; it
// fails the test on a non-zero exit.
func (p *serverProc) stop() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.t.Fatalf("SIGTERM: %v", err)
	}
	select {
	case <-p.exited:
	case <-time.After(stopTimeout):
		p.t.Fatalf("server still running %s after SIGTERM", stopTimeout)
	}
	if p.err != nil {
		p.t.Fatalf("server exit after SIGTERM: %v\n%s", p.err, p.stderr.String())
	}
}

// freePort returns a TCP port free on loopback right now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// runBinary runs the image binary to completion with env and returns its
// exit code and output.
func runBinary(t *testing.T, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(imageBinaryPath, args...)
	cmd.Env = env
	cmd.Dir = t.TempDir()
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			if _, ok := err.(*exec.ExitError); !ok {
				t.Fatalf("run %v: %v", args, err)
			}
		}
	case <-time.After(waitTimeout):
		_ = cmd.Process.Kill()
		t.Fatalf("%v did not finish within %s", args, waitTimeout)
	}
	return cmd.ProcessState.ExitCode(), out.String(), errOut.String()
}

// netListen listens on loopback at port (a port from freePort).
func netListen(port int) (net.Listener, error) {
	return net.Listen("tcp", net.JoinHostPort("127.0.0.1", fmt.Sprint(port)))
}
