package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// version is the server's version, printed by -version; release builds set
// it with -ldflags "-X main.version=...".
var version = "dev"

// Config is the whole configuration of the server. Every field has a flag
// and an environment variable; the flag wins over the environment, which
// wins over the default.
type Config struct {
	// Addr is the address to listen on (-addr, or PORT as ":PORT").
	// Default ":8080"; "127.0.0.1:0" picks a free port.
	Addr string
	// DataDir is the folder of the bbolt file designation.db (-data,
	// DATA_DIR). Default "./data". Created when missing.
	DataDir string
	// PublicURL is the URL people open, e.g. "https://designation.example.org"
	// (-public-url, PUBLIC_URL). It builds the links and QR codes and is the
	// only Origin accepted on the WebSocket. Default: derived from the
	// listener ("http://localhost:8080").
	PublicURL string
	// LogFormat is "text" or "json" (-log-format, LOG_FORMAT). Default "text".
	LogFormat string
	// ShutdownTimeout bounds a graceful shutdown (-shutdown-timeout,
	// SHUTDOWN_TIMEOUT). Default 10s.
	ShutdownTimeout time.Duration
	// BodyTimeout is how long a request's body may send nothing before
	// the request is refused 408 (-body-timeout, BODY_TIMEOUT); a body
	// may take 15 times as long in all. Default 20s: a phone on a poor
	// network that keeps sending is not cut off, a client that holds a
	// request open without sending is.
	BodyTimeout time.Duration
	// Retention is how long a meeting and its data are kept after its day
	// (after its creation when it has no date): then it is deleted with its
	// log (-retention, RETENTION, a duration such as "720h" or days such as
	// "30d"; 0 keeps meetings for ever). Default 30 days.
	Retention time.Duration
	// RedisURL, when set, keeps the op log in Redis instead of the bbolt
	// file, so several instances can serve the same meetings (-redis-url,
	// REDIS_URL, e.g. "redis://localhost:6379/0"). Default: empty (bbolt).
	RedisURL string
	// RedisAllowNoAOF lets the server run on a Redis that keeps no
	// append-only file, or will not say (-redis-allow-no-aof,
	// REDIS_ALLOW_NO_AOF=true). Default false: such a Redis is refused at
	// start, since a crash of it would lose acked ops.
	RedisAllowNoAOF bool
	// MetricsToken, when set, serves the Prometheus metrics at /metrics to
	// requests with "Authorization: Bearer <token>" (-metrics-token,
	// METRICS_TOKEN): on the public listener, or on MetricsAddr when set.
	// Default: empty.
	MetricsToken string
	// MetricsAddr, when set, serves /metrics on a listener of its own (e.g.
	// "127.0.0.1:9090", reachable by Prometheus only) and never on the
	// public one (-metrics-addr, METRICS_ADDR). Default: empty. With neither
	// MetricsAddr nor MetricsToken there is no /metrics.
	MetricsAddr string
	// PprofAddr, when set, serves Go's runtime profiles (CPU, heap,
	// goroutines, blocking: net/http/pprof) at /debug/pprof/ on a listener
	// of its own, for measuring the server under load (-pprof-addr,
	// PPROF_ADDR). Loopback addresses only: a profile shows the program's
	// internals (never the meetings' data). Default: empty (none).
	PprofAddr string
	// TrustedProxies lists the reverse proxies (IPs or CIDRs) whose
	// X-Forwarded-For gives the client's IP (-trusted-proxies,
	// TRUSTED_PROXIES, comma-separated). The rate limits count per client
	// IP: behind a proxy that is not listed, every client shares the
	// proxy's bucket. Default: empty (the TCP peer is the client).
	TrustedProxies string
	// HealthCheck makes the binary check the /healthz of a server running
	// on Addr and exit (-healthcheck; for container health checks).
	HealthCheck bool
}

// trustedProxies is TrustedProxies as a list (nil when empty).
func (c Config) trustedProxies() []string {
	var out []string
	for _, p := range strings.Split(c.TrustedProxies, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// flagSpec documents one setting for -help.
type flagSpec struct {
	name, env, def, usage string
}

// flagSpecs lists the settings in the order -help shows them.
func flagSpecs() []flagSpec {
	return []flagSpec{
		{"addr", "PORT", ":8080", "address to listen on; PORT=8080 means :8080; 127.0.0.1:0 picks a free port"},
		{"data", "DATA_DIR", "./data", "folder of the data file designation.db (created when missing)"},
		{"public-url", "PUBLIC_URL", "", "public URL of the app (links, QR codes, allowed WebSocket Origin); default derived from the listener"},
		{"log-format", "LOG_FORMAT", "text", "log format: text or json"},
		{"shutdown-timeout", "SHUTDOWN_TIMEOUT", "10s", "how long a graceful shutdown may take"},
		{"body-timeout", "BODY_TIMEOUT", defaultBodyTimeout.String(), "how long a request body may send nothing before it is refused (408); 15 times that in all"},
		{"retention", "RETENTION", "30d", "how long a meeting and its data are kept after its date (e.g. 30d or 720h; 0: for ever)"},
		{"redis-url", "REDIS_URL", "", "Redis URL of a shared op log for several instances; empty keeps the log in the bbolt file"},
		{"metrics-token", "METRICS_TOKEN", "", "serve Prometheus metrics at /metrics to requests bearing this token (on -metrics-addr when set, else on the public listener)"},
		{"redis-allow-no-aof", "REDIS_ALLOW_NO_AOF", "false", "run on a Redis without AOF (appendonly no) or that refuses CONFIG GET, accepting that a crash of Redis loses acked ops; default: refuse to start"},
		{"trusted-proxies", "TRUSTED_PROXIES", "", "comma-separated IPs or CIDRs of reverse proxies whose X-Forwarded-For names the client (rate limits are per client IP); empty: the TCP peer is the client"},
		{"metrics-addr", "METRICS_ADDR", "", "address of a separate listener serving only /metrics (e.g. 127.0.0.1:9090); empty: /metrics on the public listener if -metrics-token is set, else nowhere"},
		{"pprof-addr", "PPROF_ADDR", "", "loopback address of a listener serving Go's runtime profiles at /debug/pprof/ (e.g. 127.0.0.1:6060), for measuring; empty: none"},
	}
}

// parseConfig reads the flags and the environment. It returns flag.ErrHelp
// after printing the help, and errVersion for -version.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	fs := flag.NewFlagSet("designation", flag.ContinueOnError)
	fs.SetOutput(stderr)
	values := map[string]*string{}
	for _, f := range flagSpecs() {
		def := f.def
		if v := getenv(f.env); v != "" {
			def = v
			if f.env == "PORT" && !strings.Contains(v, ":") {
				def = ":" + v
			}
		}
		if f.def == "false" {
			v := boolValue(def)
			fs.Var(&v, f.name, f.usage)
			values[f.name] = (*string)(&v)
			continue
		}
		values[f.name] = fs.String(f.name, def, f.usage)
	}
	showVersion := fs.Bool("version", false, "print the version and exit")
	healthCheck := fs.Bool("healthcheck", false, "check the /healthz of the server listening on -addr and exit 0 when it answers")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: designation [flags]\n\nRuns the live designation meeting app.\n\nFlags (environment variable, default):\n")
		for _, f := range flagSpecs() {
			def := f.def
			if def == "" && f.name == "public-url" {
				def = "derived"
			} else if def == "" {
				def = "empty"
			}
			fmt.Fprintf(stderr, "  -%s (%s, default %s)\n      %s\n", f.name, f.env, def, f.usage)
		}
		fmt.Fprintf(stderr, "  -version\n      print the version and exit\n")
		fmt.Fprintf(stderr, "  -healthcheck\n      check the /healthz of the server listening on -addr and exit 0 when it answers\n")
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *showVersion {
		return Config{}, errVersion
	}
	cfg := Config{
		Addr:         *values["addr"],
		DataDir:      *values["data"],
		PublicURL:    strings.TrimRight(*values["public-url"], "/"),
		LogFormat:    *values["log-format"],
		RedisURL:     *values["redis-url"],
		MetricsToken: *values["metrics-token"],
		MetricsAddr:  *values["metrics-addr"],
		PprofAddr:    *values["pprof-addr"],
		HealthCheck:  *healthCheck,
	}
	allow, err := strconv.ParseBool(*values["redis-allow-no-aof"])
	if err != nil {
		return Config{}, fmt.Errorf("-redis-allow-no-aof: %q is not true or false", *values["redis-allow-no-aof"])
	}
	cfg.RedisAllowNoAOF = allow
	d, err := time.ParseDuration(*values["shutdown-timeout"])
	if err != nil || d <= 0 {
		return Config{}, fmt.Errorf("-shutdown-timeout: %q is not a positive duration", *values["shutdown-timeout"])
	}
	cfg.ShutdownTimeout = d
	d, err = time.ParseDuration(*values["body-timeout"])
	if err != nil || d <= 0 {
		return Config{}, fmt.Errorf("-body-timeout: %q is not a positive duration", *values["body-timeout"])
	}
	cfg.BodyTimeout = d
	r, err := parseRetention(*values["retention"])
	if err != nil {
		return Config{}, fmt.Errorf("-retention: %w", err)
	}
	cfg.Retention = r
	if cfg.LogFormat != "text" && cfg.LogFormat != "json" {
		return Config{}, fmt.Errorf("-log-format: %q is not text or json", cfg.LogFormat)
	}
	if cfg.DataDir == "" {
		return Config{}, errors.New("-data: must not be empty")
	}
	if cfg.PublicURL != "" {
		u, err := url.Parse(cfg.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return Config{}, fmt.Errorf("-public-url: %q must be http(s)://host[:port] without a path", cfg.PublicURL)
		}
	}
	cfg.TrustedProxies = *values["trusted-proxies"]
	for _, p := range cfg.trustedProxies() {
		if net.ParseIP(p) == nil {
			if _, _, err := net.ParseCIDR(p); err != nil {
				return Config{}, fmt.Errorf("-trusted-proxies: %q is not an IP or a CIDR", p)
			}
		}
	}
	if cfg.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(cfg.MetricsAddr); err != nil {
			return Config{}, fmt.Errorf("-metrics-addr: %q is not host:port", cfg.MetricsAddr)
		}
	}
	if cfg.PprofAddr != "" {
		host, _, err := net.SplitHostPort(cfg.PprofAddr)
		if err != nil {
			return Config{}, fmt.Errorf("-pprof-addr: %q is not host:port", cfg.PprofAddr)
		}
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return Config{}, fmt.Errorf("-pprof-addr: %q is not a loopback address (127.0.0.1, ::1 or localhost)", cfg.PprofAddr)
		}
	}
	return cfg, nil
}

// boolValue is a setting whose default is "false": -name alone means true,
// like a flag.Bool, and the value is parsed after the flags.
type boolValue string

func (b *boolValue) String() string {
	if b == nil {
		return ""
	}
	return string(*b)
}

func (b *boolValue) Set(s string) error { *b = boolValue(s); return nil }

// IsBoolFlag lets the flag be given without a value.
func (b *boolValue) IsBoolFlag() bool { return true }

// parseRetention reads a retention period: a Go duration ("720h") or a
// number of days ("30d"); "0" keeps meetings for ever.
func parseRetention(v string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 3650 {
			return 0, fmt.Errorf("%q is not a number of days from 0 to 3650", v)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a duration (720h) nor days (30d)", v)
	}
	return d, nil
}

// errVersion tells run that -version was asked for.
var errVersion = errors.New("version requested")
