// Command server runs the live designation meeting app: the HTTP API, the
// WebSocket hub and the browser app, with the op log in one bbolt file.
//
//	go run ./server -help
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/boucle/designation/hub"
	"github.com/boucle/designation/metrics"
	"github.com/boucle/designation/static"
	"github.com/boucle/designation/store"
	"github.com/boucle/designation/store/bolt"
	"github.com/boucle/designation/store/redis"

	_ "time/tzdata" // attendance times in Europe/Paris even on a base image without zoneinfo
)

// The metrics package implements the hub's Observer.
var _ hub.Observer = (*metrics.Metrics)(nil)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "designation:", err)
		os.Exit(1)
	}
}

// run starts the server and blocks until ctx is cancelled (SIGINT/SIGTERM),
// then shuts down gracefully: stop accepting, close the WebSockets with
// "going away", finish the ops in flight, close the store.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if errors.Is(err, errVersion) {
		fmt.Fprintln(stdout, "designation", version)
		return nil
	}
	if err != nil {
		return err
	}
	if cfg.HealthCheck {
		return healthCheck(cfg.Addr)
	}
	logger := newLogger(cfg.LogFormat, stderr)

	rawLog, where, err := openLog(ctx, cfg, logger)
	if err != nil {
		return err
	}
	stats := metrics.New()
	backend := "bolt"
	if cfg.RedisURL != "" {
		backend = "redis"
	}
	oplog := stats.InstrumentLog(rawLog, backend)
	logClosed := false
	defer func() {
		if !logClosed {
			oplog.Close()
		}
	}()

	hopts := hub.Options{Logger: logger, Observer: stats}
	if s, ok := rawLog.(hub.Scrubber); ok { // hidden by the metrics wrapper
		hopts.Scrubber = s
	}
	h, err := hub.New(ctx, oplog, hopts)
	if err != nil {
		return err
	}
	stats.CountMeetingsWith(h.Meetings)
	var metricsHandler http.Handler // /metrics on the public listener
	if cfg.MetricsToken != "" && cfg.MetricsAddr == "" {
		metricsHandler = metrics.RequireBearer(cfg.MetricsToken, stats.Handler())
	}
	defer h.Close()
	// Expired meetings go before anyone can open them, then every hour.
	expireMeetings(ctx, h, cfg.Retention, logger)
	go func() {
		t := time.NewTicker(time.Hour)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				expireMeetings(ctx, h, cfg.Retention, logger)
			}
		}
	}()

	metricsSrv, err := serveMetrics(cfg, stats, logger, stdout)
	if err != nil {
		return err
	}
	if metricsSrv != nil {
		defer metricsSrv.Close() // on an early return; after Shutdown it does nothing
	}
	pprofSrv, err := servePprof(cfg, logger, stdout)
	if err != nil {
		return err
	}
	if pprofSrv != nil {
		defer pprofSrv.Close()
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	localURL := "http://" + displayHost(ln.Addr().(*net.TCPAddr))
	if cfg.PublicURL == "" {
		cfg.PublicURL = localURL
	}
	srv := &http.Server{
		Handler:           NewServer(cfg, h, oplog, pages(), logger, metricsHandler),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	logger.Info("server started", "addr", ln.Addr().String(), "store", where, "meetings", h.Meetings(), "version", version)
	fmt.Fprintf(stdout, "listening on %s\n", localURL)

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	shutdownErr := make(chan error, 1)
	go func() { shutdownErr <- srv.Shutdown(sctx) }() // stops accepting; waits for plain requests
	h.Close()                                         // WebSockets: going away; rooms finish their batch
	if err := <-shutdownErr; err != nil {
		logger.Warn("shutdown incomplete", "err", err)
	}
	if metricsSrv != nil {
		_ = metricsSrv.Shutdown(sctx)
	}
	logClosed = true
	if err := oplog.Close(); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	logger.Info("stopped")
	return nil
}

// serveMetrics starts the listener of -metrics-addr serving only /metrics
// (behind the token when one is set), or returns nil when none is set. A
// failure of that listener once started is logged: it does not stop the
// meetings.
func serveMetrics(cfg Config, stats *metrics.Metrics, logger *slog.Logger, stdout io.Writer) (*http.Server, error) {
	if cfg.MetricsAddr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", cfg.MetricsAddr)
	if err != nil {
		return nil, fmt.Errorf("listen for metrics: %w", err)
	}
	handler := stats.Handler()
	if cfg.MetricsToken != "" {
		handler = metrics.RequireBearer(cfg.MetricsToken, handler)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", handler)
	srv := serveSide(ln, mux, "metrics", logger)
	url := "http://" + displayHost(ln.Addr().(*net.TCPAddr)) + "/metrics"
	logger.Info("metrics listening", "addr", ln.Addr().String(), "bearer_required", cfg.MetricsToken != "")
	fmt.Fprintf(stdout, "metrics on %s\n", url)
	return srv, nil
}

// serveSide serves handler on a side listener (metrics, pprof) until it
// is shut down; a failure once started is logged ("<name> listener
// stopped"): it does not stop the meetings.
func serveSide(ln net.Listener, handler http.Handler, name string, logger *slog.Logger) *http.Server {
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error(name+" listener stopped", "err", err)
		}
	}()
	return srv
}

// servePprof starts the listener of -pprof-addr serving Go's runtime
// profiles, or returns nil when none is set. Its handlers are registered on
// a mux of its own: nothing else serves them.
func servePprof(cfg Config, logger *slog.Logger, stdout io.Writer) (*http.Server, error) {
	if cfg.PprofAddr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", cfg.PprofAddr)
	if err != nil {
		return nil, fmt.Errorf("listen for pprof: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := serveSide(ln, mux, "pprof", logger)
	url := "http://" + displayHost(ln.Addr().(*net.TCPAddr)) + "/debug/pprof/"
	logger.Info("pprof listening", "addr", ln.Addr().String())
	fmt.Fprintf(stdout, "pprof on %s\n", url)
	return srv, nil
}

// expireMeetings deletes, with their logs, the meetings whose retention
// period is over (none when retention is 0).
func expireMeetings(ctx context.Context, h *hub.Hub, retention time.Duration, logger *slog.Logger) {
	n, err := h.Expire(ctx, time.Now(), retention)
	if err != nil {
		logger.Error("expiry incomplete", "err", err)
	}
	if n > 0 {
		logger.Info("meetings expired", "count", n)
	}
}

// displayHost is the host:port to print for a listener: "localhost" for an
// unspecified address.
func displayHost(a *net.TCPAddr) string {
	if a.IP == nil || a.IP.IsUnspecified() {
		return fmt.Sprintf("localhost:%d", a.Port)
	}
	return net.JoinHostPort(a.IP.String(), fmt.Sprint(a.Port))
}

func newLogger(format string, w io.Writer) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

// pages is the browser app, embedded in the binary.
func pages() fs.FS { return static.FS() }

// openLog opens the op log: the bbolt file in the data folder, or Redis
// when a URL is configured. where describes it for the log (no password).
func openLog(ctx context.Context, cfg Config, logger *slog.Logger) (_ store.Log, where string, _ error) {
	if cfg.RedisURL != "" {
		l, err := redis.Open(ctx, cfg.RedisURL, redis.Options{})
		if err != nil {
			return nil, "", fmt.Errorf("open redis: %w", err)
		}
		if err := checkRedisPersistence(ctx, l, cfg.RedisAllowNoAOF, logger); err != nil {
			l.Close()
			return nil, "", err
		}
		return l, "redis", nil
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, "", fmt.Errorf("data folder: %w", err)
	}
	path := filepath.Join(cfg.DataDir, "designation.db")
	l, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		return nil, "", fmt.Errorf("open %s: %w", path, err)
	}
	return l, path, nil
}

// healthCheck asks the server listening on addr for /healthz.
func healthCheck(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("healthcheck: address %q: %w", addr, err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	client := &http.Client{Timeout: 3 * time.Second}
	resp, err := client.Get("http://" + net.JoinHostPort(host, port) + "/healthz")
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: status %d", resp.StatusCode)
	}
	return nil
}
