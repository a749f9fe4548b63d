package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/boucle/designation/hub"
	"github.com/boucle/designation/meeting"
	"github.com/boucle/designation/store/bolt"
)

// slowBodyApp serves the app with a short body timeout.
func slowBodyApp(t *testing.T, idle time.Duration) *testApp {
	t.Helper()
	oplog, err := bolt.Open(filepath.Join(t.TempDir(), "designation.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return newTestAppWithConfig(t, oplog, hub.Options{}, Config{BodyTimeout: idle})
}

// rawRequest opens a TCP connection to app and writes a request's headers
// announcing a body of size bytes; the caller writes the body.
func rawRequest(t *testing.T, app *testApp, method, path, contentType, bearer string, size int) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(app.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	auth := ""
	if bearer != "" {
		auth = "Authorization: Bearer " + bearer + "\r\n"
	}
	fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\n%sContent-Length: %d\r\n\r\n", method, path, contentType, auth, size)
	return conn
}

// readAnswer reads the response on conn (waiting at most 10 s), then
// checks that the server closes the connection.
func readAnswer(t *testing.T, conn net.Conn) (int, string) {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(conn)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, string(body)
}

// TestSlowBodiesAreRefused: a request whose body stops coming, or comes a
// byte now and then, is answered 408 and changes nothing, instead of
// holding its connection for as long as the client likes. A body that
// keeps coming, slowly, is read.
func TestSlowBodiesAreRefused(t *testing.T) {
	const idle = 150 * time.Millisecond
	app := slowBodyApp(t, idle)
	before := app.hub.Meetings()
	create := `{"title":"Lente","department":"Gironde (33)","date":"2026-06-27","facilitators":["Alice"]}`

	t.Run("stalls", func(t *testing.T) {
		conn := rawRequest(t, app, "POST", "/api/meetings", "application/json", "", len(create))
		start := time.Now()
		io.WriteString(conn, create[:10])
		st, body := readAnswer(t, conn)
		if st != http.StatusRequestTimeout || !strings.Contains(body, `"timeout"`) {
			t.Fatalf("stalled body: %d %s, want 408 timeout", st, body)
		}
		if waited := time.Since(start); waited < idle {
			t.Fatalf("refused after %v, before the %v a body may wait", waited, idle)
		}
	})

	t.Run("trickles", func(t *testing.T) {
		// One byte every idle/3: never idle, but 15×idle in all is the
		// most a body may take.
		padded := create + strings.Repeat(" ", 1000)
		conn := rawRequest(t, app, "POST", "/api/meetings", "application/json", "", len(padded))
		start := time.Now()
		stop := make(chan struct{})
		go func() {
			t := time.NewTicker(idle / 3)
			defer t.Stop()
			for i := 0; i < len(padded); i++ {
				if _, err := conn.Write([]byte{padded[i]}); err != nil {
					return
				}
				select {
				case <-stop:
					return
				case <-t.C:
				}
			}
		}()
		st, body := readAnswer(t, conn)
		close(stop)
		if st != http.StatusRequestTimeout {
			t.Fatalf("trickled body: %d %s, want 408", st, body)
		}
		if waited := time.Since(start); waited < bodyTimeoutFactor*idle {
			t.Fatalf("refused after %v, before the %v a whole body may take", waited, bodyTimeoutFactor*idle)
		}
	})

	t.Run("csv upload stalls", func(t *testing.T) {
		m := app.createMeeting()
		csv := memberCSV(20, 2)
		conn := rawRequest(t, app, "POST", "/api/meetings/"+m.ID+"/members/import", "text/csv", m.FacSecret, len(csv))
		io.WriteString(conn, csv[:len(csv)/2])
		st, body := readAnswer(t, conn)
		if st != http.StatusRequestTimeout {
			t.Fatalf("stalled CSV upload: %d %s, want 408", st, body)
		}
		room, ok := app.hub.Room(m.ID)
		if !ok {
			t.Fatal("the meeting is gone")
		}
		members := -1
		if err := room.Read(context.Background(), func(s *meeting.State) { members = len(s.Members) }); err != nil || members != 0 {
			t.Fatalf("members after a stalled import: %d (%v), want none", members, err)
		}
		before++ // this subtest's own meeting
	})

	if after := app.hub.Meetings(); after != before {
		t.Fatalf("%d meetings after the refused bodies, want %d", after, before)
	}

	t.Run("slow but steady", func(t *testing.T) {
		conn := rawRequest(t, app, "POST", "/api/meetings", "application/json", "", len(create))
		third := len(create) / 3
		for _, part := range []string{create[:third], create[third : 2*third], create[2*third:]} {
			io.WriteString(conn, part)
			time.Sleep(idle / 2) // paces the client: less than idle between parts
		}
		if st, body := readAnswer(t, conn); st != http.StatusCreated {
			t.Fatalf("a body sent in three parts, %v apart: %d %s, want 201", idle/2, st, body)
		}
	})
}
