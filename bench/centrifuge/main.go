// Command centrifuge is the peer our server is benchmarked against: a
// minimal room relay built on github.com/centrifugal/centrifuge (the most
// complete Go real-time engine), with history and recovery on and the
// in-memory broker, doing the same work as our hub minus the domain, and
// routing the same way with centrifuge's own means, channels: each meeting
// has a channel "m:<meeting>" for meeting-wide ops (step changes) and one
// channel "m:<meeting>:g:<group>" per breakout group for that group's list
// edits. A phone subscribes to its meeting's channel and its group's; the
// projector and the facilitators to the meeting's and every group's (one
// connection, several subscriptions, recovery on each). A participant's edit
// is a client publish into its group's channel (kept in that channel's
// history stream, the publish reply is the ack), pushed to the group's
// phones, the projector and the facilitators; a step change is published
// into the meeting's channel and pushed to everyone. As in the bare hub,
// nothing is checked: who subscribes to what is the client's choice.
//
// It lives in its own Go module so that centrifuge's dependencies stay out
// of the application's go.mod. Our load generator (../../loadgen) starts it
// as a subprocess and speaks centrifuge's own JSON client protocol to it
// (connect, subscribe with recover, publish, pushes): centrifuge cannot speak
// our frames, so the generator maps the same workload onto its protocol.
//
//	go run . -addr 127.0.0.1:0
//
// prints "listening on http://HOST:PORT" once it accepts connections, like
// our server, and stops on SIGINT or SIGTERM. With -pprof-addr (or
// PPROF_ADDR, which the generator's -target-env can set) it serves Go's
// runtime profiles at /debug/pprof/ on a loopback listener of its own, as
// our server does, so that the two can be profiled under the same load.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	_ "net/http/pprof" // registers /debug/pprof/ on http.DefaultServeMux, which only servePprof serves
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/centrifugal/centrifuge"
)

// Tunables of the relay, chosen to match our hub's defaults.
const (
	historySize = 1024             // publications kept per channel for recovery (our hub: HistorySize 1024)
	historyTTL  = 30 * time.Minute // a meeting's stream expires after this long without a publish
	queueBytes  = 1 << 20          // per-connection send queue before it is closed as slow (centrifuge default)
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "centrifuge peer:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("centrifuge", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:0", "listen address (loopback)")
	pprofAddr := fs.String("pprof-addr", os.Getenv("PPROF_ADDR"), "loopback address serving Go's runtime profiles at /debug/pprof/ (empty: none)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *pprofAddr != "" {
		if err := servePprof(*pprofAddr, stdout); err != nil {
			return err
		}
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	node, err := newNode()
	if err != nil {
		return err
	}
	if err := node.Run(); err != nil {
		return fmt.Errorf("run node: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/connection/websocket", centrifuge.NewWebsocketHandler(node, centrifuge.WebsocketConfig{
		// Loopback benchmark: the generator is no browser.
		CheckOrigin: func(*http.Request) bool { return true },
	}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "listening on http://%s\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = node.Shutdown(shutdownCtx)
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// servePprof serves net/http/pprof's handlers (on http.DefaultServeMux:
// the relay's own routes are on a mux of their own) on a loopback listener
// of their own until the process ends.
func servePprof(addr string, stdout io.Writer) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("-pprof-addr: %w", err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("-pprof-addr: %q is not a loopback address", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("pprof listen: %w", err)
	}
	fmt.Fprintf(stdout, "pprof on http://%s/debug/pprof/\n", ln.Addr())
	go func() { _ = http.Serve(ln, nil) }()
	return nil
}

// newNode is a centrifuge node with the in-memory broker (the default) in
// which anyone may connect, subscribe to any meeting or group channel
// ("m:…") with recovery, and publish into it with history.
func newNode() (*centrifuge.Node, error) {
	node, err := centrifuge.New(centrifuge.Config{
		LogLevel:           centrifuge.LogLevelError,
		LogHandler:         func(e centrifuge.LogEntry) { fmt.Fprintln(os.Stderr, "centrifuge:", e.Message) },
		ClientQueueMaxSize: queueBytes,
	})
	if err != nil {
		return nil, fmt.Errorf("new node: %w", err)
	}
	node.OnConnecting(func(_ context.Context, e centrifuge.ConnectEvent) (centrifuge.ConnectReply, error) {
		// The connect token is the connection's name in the workload
		// (e.g. "m3/p17"): no authentication, like the bare hub.
		return centrifuge.ConnectReply{Credentials: &centrifuge.Credentials{UserID: e.Token}}, nil
	})
	node.OnConnect(func(client *centrifuge.Client) {
		client.OnSubscribe(func(e centrifuge.SubscribeEvent, cb centrifuge.SubscribeCallback) {
			if !strings.HasPrefix(e.Channel, "m:") {
				cb(centrifuge.SubscribeReply{}, centrifuge.ErrorPermissionDenied)
				return
			}
			cb(centrifuge.SubscribeReply{Options: centrifuge.SubscribeOptions{
				EnableRecovery: true,
			}}, nil)
		})
		client.OnPublish(func(e centrifuge.PublishEvent, cb centrifuge.PublishCallback) {
			cb(centrifuge.PublishReply{Options: centrifuge.PublishOptions{
				HistorySize: historySize,
				HistoryTTL:  historyTTL,
			}}, nil)
		})
	})
	return node, nil
}
