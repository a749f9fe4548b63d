package deploy

import (
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestDockerfileShape checks by reading what cannot be run here (no Docker
// engine): a build stage with the Go toolchain, a minimal non-root final
// stage, a static reproducible build, /data as the volume DATA_DIR points
// to, the port exposed, a health check that uses the binary itself.
func TestDockerfileShape(t *testing.T) {
	d := dockerfile
	if len(d.stages) != 2 || !strings.HasPrefix(d.stages[0], "golang:") {
		t.Errorf("stages %v: want a golang: build stage and a final stage", d.stages)
	}
	if len(d.stages) == 2 && !strings.Contains(d.stages[1], "distroless/static") {
		t.Errorf("final stage %q: want a distroless static base (no shell, no libc)", d.stages[1])
	}
	if d.buildEnv["CGO_ENABLED"] != "0" {
		t.Errorf("build ENV CGO_ENABLED=%q, want 0 (static binary)", d.buildEnv["CGO_ENABLED"])
	}
	if !strings.Contains(d.buildEnv["GOFLAGS"], "-trimpath") {
		t.Errorf("build ENV GOFLAGS=%q lacks -trimpath", d.buildEnv["GOFLAGS"])
	}
	for _, f := range []string{"-s", "-w", "-buildid=", "-X main.version=${VERSION}"} {
		if !strings.Contains(d.ldflags, f) {
			t.Errorf("ldflags %q lack %q", d.ldflags, f)
		}
	}
	if d.pkg != "./server" {
		t.Errorf("builds %q, want ./server", d.pkg)
	}
	uid, _, _ := strings.Cut(d.user, ":")
	if n, err := strconv.Atoi(uid); d.user == "" || uid == "root" || (err == nil && n == 0) {
		t.Errorf("USER %q: the server must not run as root", d.user)
	}
	if d.runEnv["DATA_DIR"] == "" || !slices.Contains(d.volumes, d.runEnv["DATA_DIR"]) {
		t.Errorf("DATA_DIR=%q is not a VOLUME (%v)", d.runEnv["DATA_DIR"], d.volumes)
	}
	if d.runEnv["PORT"] == "" || !slices.Contains(d.expose, d.runEnv["PORT"]) {
		t.Errorf("PORT=%q is not EXPOSEd (%v)", d.runEnv["PORT"], d.expose)
	}
	if !strings.Contains(d.healthcheck, `"-healthcheck"`) {
		t.Errorf("HEALTHCHECK %q does not run the binary's -healthcheck", d.healthcheck)
	}
	if !strings.Contains(d.entrypoint, `"/server"`) {
		t.Errorf("ENTRYPOINT %q is not the server", d.entrypoint)
	}
}

// TestImageBinaryIsStaticAndReproducible: the binary has no dynamic loader
// nor shared library (it runs on a base without libc), carries neither the
// build machine's paths nor a build id, and the same source built in two
// different folders gives the same bytes.
func TestImageBinaryIsStaticAndReproducible(t *testing.T) {
	f, err := elf.Open(imageBinaryPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("binary has an ELF interpreter: it is dynamically linked")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("binary needs shared libraries %v", libs)
	}
	if f.Section(".symtab") != nil {
		t.Error("binary has a symbol table: -s was not applied")
	}

	data, err := os.ReadFile(imageBinaryPath)
	if err != nil {
		t.Fatal(err)
	}
	root, _ := filepath.Abs("..")
	for _, path := range []string{root, runtime.GOROOT()} {
		if path != "" && bytes.Contains(data, []byte(path+"/")) {
			t.Errorf("binary contains the build path %s: -trimpath was not applied", path)
		}
	}

	// Two copies of one snapshot of the source (the tree may change while
	// the test runs), in folders of different names and depths.
	tmp := t.TempDir()
	first := filepath.Join(tmp, "a")
	second := filepath.Join(tmp, "elsewhere", "b")
	if err := copySource(root, first); err != nil {
		t.Fatal(err)
	}
	if err := copySource(first, second); err != nil {
		t.Fatal(err)
	}
	var sums [][32]byte
	for _, dir := range []string{first, second} {
		out := filepath.Join(tmp, filepath.Base(dir)+".bin")
		if msg, err := buildLikeImageIn(dir, out); err != nil {
			t.Fatalf("build in %s: %v\n%s", dir, err, msg)
		}
		sums = append(sums, fileSum(t, out))
	}
	if sums[0] != sums[1] {
		t.Errorf("the same source built in two folders differs (%x vs %x): the image build is not reproducible", sums[0], sums[1])
	}
}

// copySource copies the module at src to dst, without .git and the e2e
// screenshots.
func copySource(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if d.IsDir() && (rel == ".git" || rel == filepath.Join("e2e", "artifacts")) {
			return filepath.SkipDir
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
}

func fileSum(t *testing.T, path string) [32]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum
}

// TestVersionFlag: -version prints the version the build stamped.
func TestVersionFlag(t *testing.T) {
	code, stdout, _ := runBinary(t, nil, "-version")
	if code != 0 {
		t.Fatalf("-version exit %d", code)
	}
	if strings.TrimSpace(stdout) != "designation "+testVersion {
		t.Errorf("-version printed %q, want %q", stdout, "designation "+testVersion)
	}
}

// imageEnv is the final stage's environment with DATA_DIR and PORT set for
// a test (nothing else: the container has no other settings by default).
func imageEnv(dataDir string, port int, extra ...string) []string {
	env := []string{}
	for k, v := range dockerfile.runEnv {
		switch k {
		case "DATA_DIR":
			v = dataDir
		case "PORT":
			v = strconv.Itoa(port)
		}
		env = append(env, k+"="+v)
	}
	return append(env, extra...)
}

// TestRunsLikeTheImage runs the binary the way the container does
// (DATA_DIR and PORT from the environment, SIGTERM to stop), checks
// /healthz and the -healthcheck exit codes of the HEALTHCHECK, and that the
// server writes nothing outside DATA_DIR: not in its working directory, HOME
// or TMPDIR.
func TestRunsLikeTheImage(t *testing.T) {
	root := t.TempDir()
	dataDir := filepath.Join(root, "data") // missing: the server creates it
	cwd := filepath.Join(root, "cwd")
	home := filepath.Join(root, "home")
	tmp := filepath.Join(root, "tmp")
	for _, d := range []string{cwd, home, tmp} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	port := freePort(t)
	env := imageEnv(dataDir, port, "HOME="+home, "TMPDIR="+tmp)
	srv := startServer(t, cwd, env)

	resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != "ok" {
		t.Errorf("/healthz: %d %q", resp.StatusCode, body)
	}
	if code, _, stderr := runBinary(t, env, "-healthcheck"); code != 0 {
		t.Errorf("-healthcheck on a healthy server: exit %d (%s)", code, stderr)
	}

	srv.stop()
	if code, _, _ := runBinary(t, env, "-healthcheck"); code == 0 {
		t.Error("-healthcheck with the server stopped: exit 0")
	}

	var outside []string
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		switch {
		case rel == "." || rel == "cwd" || rel == "home" || rel == "tmp":
		case rel == "data" || strings.HasPrefix(rel, "data"+string(filepath.Separator)):
		default:
			outside = append(outside, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(outside) > 0 {
		t.Errorf("server wrote outside DATA_DIR: %v", outside)
	}
	st, err := os.Stat(dataDir)
	if err != nil {
		t.Fatalf("DATA_DIR not created: %v", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		t.Errorf("DATA_DIR mode %v: others can read the meetings", st.Mode().Perm())
	}
	db, err := os.Stat(filepath.Join(dataDir, "designation.db"))
	if err != nil {
		t.Fatalf("no designation.db in DATA_DIR: %v", err)
	}
	if db.Mode().Perm()&0o077 != 0 {
		t.Errorf("designation.db mode %v: others can read it", db.Mode().Perm())
	}
}

// TestHealthcheckExitCodes: the HEALTHCHECK fails (non-zero) on anything
// but a 200 from /healthz, and succeeds on a 200.
func TestHealthcheckExitCodes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int // 0: nothing listens
		ok     bool
	}{
		{"healthy", http.StatusOK, true},
		{"unhealthy", http.StatusServiceUnavailable, false},
		{"not the app", http.StatusNotFound, false},
		{"nothing listening", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			port := freePort(t)
			if tc.status != 0 {
				srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.URL.Path != "/healthz" {
						http.NotFound(w, r)
						return
					}
					w.WriteHeader(tc.status)
				}))
				ln, err := netListen(port)
				if err != nil {
					t.Fatal(err)
				}
				srv.Listener = ln
				srv.Start()
				defer srv.Close()
			}
			code, _, stderr := runBinary(t, imageEnv(t.TempDir(), port), "-healthcheck")
			if (code == 0) != tc.ok {
				t.Errorf("exit %d (stderr %q), want success %v", code, stderr, tc.ok)
			}
		})
	}
}

// TestComposeAndProxyShape checks by reading the Compose example and its
// nginx configuration: two instances on one Redis with AOF fsynced at every
// write, a proxy that passes WebSockets without sticky sessions and with
// timeouts above the ping interval, /metrics not reachable through it, and
// a build context that leaves out the local data and the history.
func TestComposeAndProxyShape(t *testing.T) {
	read := func(path string) string {
		t.Helper()
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	compose := read("compose.yaml")
	for _, want := range []string{
		`"--appendonly", "yes"`, `"--appendfsync", "always"`,
		"app1: &app", "app2:\n    <<: *app", "REDIS_URL: redis://redis:6379/0",
		"dockerfile: Dockerfile", `ports: ["8080:80"]`, `METRICS_ADDR: ":9090"`,
	} {
		if !strings.Contains(compose, want) {
			t.Errorf("compose.yaml lacks %q", want)
		}
	}
	if strings.Count(compose, "ports:") != 1 {
		t.Error("compose.yaml publishes more than the proxy's port (metrics must stay internal)")
	}

	nginx := read("nginx.conf")
	for _, want := range []string{
		"server app1:8080", "server app2:8080", "proxy_http_version 1.1;",
		"proxy_set_header Upgrade $http_upgrade;", "proxy_set_header Connection $connection_upgrade;",
		"location = /metrics", "access_log off;",
	} {
		if !strings.Contains(nginx, want) {
			t.Errorf("nginx.conf lacks %q", want)
		}
	}
	var directives []string // without the comments
	for _, l := range strings.Split(nginx, "\n") {
		if l = strings.TrimSpace(l); !strings.HasPrefix(l, "#") {
			directives = append(directives, l)
		}
	}
	for _, sticky := range []string{"ip_hash", "sticky", "hash $"} {
		if strings.Contains(strings.Join(directives, "\n"), sticky) {
			t.Errorf("nginx.conf uses %q: no sticky sessions are needed", sticky)
		}
	}
	// The app pings every 20 s: the proxy must not cut a quiet WebSocket
	// before that.
	timeout := regexp.MustCompile(`proxy_read_timeout (\d+)s;`).FindStringSubmatch(nginx)
	if timeout == nil {
		t.Error("nginx.conf sets no proxy_read_timeout (default 60 s)")
	} else if n, _ := strconv.Atoi(timeout[1]); n <= 40 {
		t.Errorf("proxy_read_timeout %ss: at most two pings apart would drop phones", timeout[1])
	}

	ignore := strings.Fields(read(filepath.Join("..", ".dockerignore")))
	for _, want := range []string{".git", "data", "**/*.db"} {
		if !slices.Contains(ignore, want) {
			t.Errorf(".dockerignore does not leave out %q", want)
		}
	}
}
