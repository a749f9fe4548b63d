package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coder/websocket"

	"github.com/boucle/designation/static"
)

// scriptedServer serves the app's modules, a bare test page, and a
// WebSocket endpoint whose every connection is handed to the test, which
// plays the server's side of docs/PROTOCOL.md frame by frame.
type scriptedServer struct {
	*httptest.Server
	conns chan *scriptedConn
}

// scriptedConn is one client connection, driven by the test.
type scriptedConn struct {
	t    *testing.T
	conn *websocket.Conn
	done chan struct{}
}

// testPage loads sync.js and exposes it, with a log of its events.
const testPage = `<!doctype html><meta charset="utf-8"><title>sync</title>
<script type="module">
import { Sync } from '/static/sync.js';
window.events = [];
window.startSync = (opts) => {
  const s = new Sync(opts);
  s.on('status', (st) => events.push('status:' + st))
    .on('refused', (f) => events.push('refused:' + f.code))
    .on('fatal', (f) => events.push('fatal:' + f.code))
    .on('ack', (id) => events.push('ack:' + id));
  window.s = s;
  s.start();
};
window.ready = true;
</script>`

func newScriptedServer(t *testing.T) *scriptedServer {
	t.Helper()
	sub, err := fs.Sub(static.FS(), ".")
	if err != nil {
		t.Fatal(err)
	}
	ss := &scriptedServer{conns: make(chan *scriptedConn, 4)}
	mux := http.NewServeMux()
	mux.Handle("/static/", http.StripPrefix("/static/", http.FileServer(http.FS(sub))))
	mux.HandleFunc("/t.html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, testPage)
	})
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
		if err != nil {
			return
		}
		sc := &scriptedConn{t: t, conn: c, done: make(chan struct{})}
		select {
		case ss.conns <- sc:
		case <-r.Context().Done():
			c.CloseNow()
			return
		}
		// The handler lives as long as the test drives the connection.
		select {
		case <-sc.done:
		case <-r.Context().Done():
		}
	})
	ss.Server = httptest.NewServer(mux)
	t.Cleanup(ss.Close)
	return ss
}

// next is the next connection the client opens.
func (ss *scriptedServer) next(t *testing.T) *scriptedConn {
	t.Helper()
	select {
	case c := <-ss.conns:
		t.Cleanup(func() { c.conn.CloseNow(); c.finish() })
		return c
	case <-time.After(waitTimeout):
		t.Fatal("the client did not connect")
		return nil
	}
}

func (c *scriptedConn) finish() {
	select {
	case <-c.done:
	default:
		close(c.done)
	}
}

// read is the client's next frame, decoded.
func (c *scriptedConn) read() map[string]any {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	_, data, err := c.conn.Read(ctx)
	if err != nil {
		c.t.Fatalf("read a client frame: %v", err)
	}
	var f map[string]any
	if err := json.Unmarshal(data, &f); err != nil {
		c.t.Fatalf("client frame %q: %v", data, err)
	}
	return f
}

func (c *scriptedConn) send(frame string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := c.conn.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
		c.t.Fatalf("send %s: %v", frame, err)
	}
}

func (c *scriptedConn) close(code websocket.StatusCode) {
	c.t.Helper()
	_ = c.conn.Close(code, "")
	c.finish()
}

// hello reads the hello and checks its lastSeq.
func (c *scriptedConn) hello(wantLastSeq int) map[string]any {
	c.t.Helper()
	f := c.read()
	if f["type"] != "hello" || f["meeting"] != "m1" || f["token"] != "tok" {
		c.t.Fatalf("first frame %v, want a hello for m1 with the token", f)
	}
	if got := int(f["lastSeq"].(float64)); got != wantLastSeq {
		c.t.Fatalf("hello lastSeq %d, want %d", got, wantLastSeq)
	}
	if f["batch"] != true {
		c.t.Fatalf("hello %v does not say batch: the server would send one frame per message", f)
	}
	if f["lists"] != true {
		c.t.Fatalf("hello %v does not say lists: the server would send a list edit as its group whole", f)
	}
	return f
}

func (c *scriptedConn) welcome(seq int) {
	c.t.Helper()
	c.send(fmt.Sprintf(`{"type":"welcome","meeting":"m1","role":"participant","memberId":"a","audience":"redacted","seq":%d,"now":%q}`,
		seq, time.Now().UTC().Format(time.RFC3339)))
}

var uuidRe = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// op reads an op frame and returns its id.
func (c *scriptedConn) op(wantType string) string {
	c.t.Helper()
	f := c.read()
	id, _ := f["id"].(string)
	if f["type"] != "op" || f["op"] != wantType || !uuidRe.MatchString(id) {
		c.t.Fatalf("frame %v, want a %s op with a UUID", f, wantType)
	}
	return id
}

// TestSyncClientProtocol plays the server's side of the protocol against
// the browser's sync.js: a plain hello after "bad_hello", resume with
// lastSeq, an op re-sent with the same id after a lost ack and dropped
// from the outbox once acked, changes applied once per seq, "unavailable"
// kept and re-sent (on the next connection, or at once when a status
// frame says saving works again), another refusal dropped and reported,
// the close codes that mean "fresh view" and "unauthorized".
func TestSyncClientProtocol(t *testing.T) {
	ss := newScriptedServer(t)
	browser := newBrowser(t)
	page := newTab(t, browser, "sync", 800, 600, false)
	page.navigate(ss.URL + "/t.html")
	page.waitFor("the module", `window.ready === true`)
	page.do("start the client", evalVoid(`startSync({ meetingId: 'm1', token: 'tok', scope: 'test' })`))

	// A server older than the page (a rolling deploy) refuses the hello's
	// fields it does not know: the client says hello again without them,
	// and once welcomed goes back to the whole hello.
	c0 := ss.next(t)
	c0.hello(0)
	c0.send(`{"type":"error","code":"bad_hello","message":"a hello frame is required"}`)
	c0.close(4000)
	old := ss.next(t)
	if f := old.read(); f["type"] != "hello" || f["lastSeq"] != float64(0) || f["batch"] != nil || f["lists"] != nil {
		t.Fatalf("hello after bad_hello %v, want one without batch and lists", f)
	}
	old.welcome(0)
	old.close(websocket.StatusGoingAway)

	// First connection: snapshot, then an op whose ack is lost.
	c1 := ss.next(t)
	c1.hello(0)
	c1.welcome(1)
	c1.send(`{"type":"snapshot","seq":1,"state":{"id":"m1","seq":1,"audience":"redacted","meeting":{"step":"IV"},"members":{"a":{"id":"a","name":"Ana"}},"merges":{}}}`)
	page.waitFor("the snapshot", `s.status === 'saved' && s.store.meeting.step === 'IV' && s.store.get('member', 'a').name === 'Ana' && s.lastSeq === 1`)
	page.do("send an op", evalVoid(`window.id1 = s.send('quality.add', { groupId: 'g', binome: 'b', quality: { id: 'q1', text: 'x' } })`))
	id1 := c1.op("quality.add")
	if want := js[string](page, `id1`); id1 != want {
		t.Fatalf("op id %s on the wire, %s in the page", id1, want)
	}
	page.waitFor("the op kept on the device", `JSON.parse(localStorage.getItem('outbox:test:m1') || '[]').length === 1`)
	c1.close(websocket.StatusGoingAway)

	// Second connection: resumes from seq 1 and re-sends the same op.
	c2 := ss.next(t)
	c2.hello(1)
	c2.welcome(1)
	if again := c2.op("quality.add"); again != id1 {
		t.Fatalf("re-sent op has id %s, want the same %s", again, id1)
	}
	// The changes and the ack in one message, one frame per line, as the
	// server sends frames that wait together.
	c2.send(`{"type":"changes","seq":2,"opId":"` + id1 + `","opType":"quality.add","changes":[{"kind":"member","id":"a","value":{"id":"a","name":"Bea"}}]}` +
		"\n" + `{"type":"ack","id":"` + id1 + `","seq":2}`)
	page.waitFor("the ack", `s.pending() === 0 && localStorage.getItem('outbox:test:m1') === null && s.status === 'saved' && s.lastSeq === 2 && s.store.get('member', 'a').name === 'Bea'`)
	// A frame of an already applied seq changes nothing.
	c2.send(`{"type":"changes","seq":2,"opId":"x","opType":"quality.add","changes":[{"kind":"member","id":"a","value":{"id":"a","name":"Cid"}}]}`)
	c2.send(`{"type":"changes","seq":3,"opId":"y","opType":"member.update","changes":[{"kind":"member","id":"b","value":{"id":"b","name":"Dan"}}]}`)
	page.waitFor("seq 3 applied", `s.lastSeq === 3 && !!s.store.get('member', 'b')`)
	if name := js[string](page, `s.store.get('member', 'a').name`); name != "Bea" {
		t.Fatalf("a replayed seq was applied again: member a is %q", name)
	}

	// A "list" change replaces one list of a group the client holds whole,
	// and leaves its other lists and fields as they were.
	c2.send(`{"type":"changes","seq":4,"opId":"z","opType":"group.add","changes":[{"kind":"group","id":"g","value":{"id":"g","name":"Groupe 1","pos":1,"lists":{"b":{"qualities":[],"consensus":false,"names":[]},"c":{"qualities":[{"id":"q0","text":"gardée"}],"consensus":false,"names":[]}}}}]}`)
	c2.send(`{"type":"changes","seq":5,"opId":"w","opType":"quality.add","changes":[{"kind":"list","id":"g/b","value":{"qualities":[{"id":"q9","text":"écoute"}],"consensus":false,"names":[]}}]}`)
	page.waitFor("the list change", `s.lastSeq === 5 && s.store.get('group', 'g').lists.b.qualities[0].text === 'écoute' && s.store.get('group', 'g').lists.c.qualities[0].text === 'gardée' && s.store.get('group', 'g').name === 'Groupe 1'`)

	// "unavailable": the op stays and goes again on the next connection
	// (4008: resume at once).
	page.do("send a second op", evalVoid(`window.id2 = s.send('quality.add', { groupId: 'g', binome: 'b', quality: { id: 'q2', text: 'y' } })`))
	id2 := c2.op("quality.add")
	c2.send(`{"type":"refused","id":"` + id2 + `","code":"unavailable","message":"later"}`)
	page.waitFor("the op still waiting", `s.pending() === 1`)
	c2.close(4008)
	c3 := ss.next(t)
	c3.hello(5)
	c3.welcome(5)
	if again := c3.op("quality.add"); again != id2 {
		t.Fatalf("op after unavailable has id %s, want %s", again, id2)
	}
	c3.send(`{"type":"ack","id":"` + id2 + `","seq":6}`)
	page.waitFor("the second ack", `s.pending() === 0`)

	// "status" false: the server cannot save (its op log is down): the page
	// says so and keeps the op; "status" true: the op goes again at once,
	// with its id, on the same connection.
	c3.send(`{"type":"status","available":false}`)
	page.waitFor("saving paused", `s.status === 'unavailable'`)
	page.do("send an op while paused", evalVoid(`window.id4 = s.send('quality.add', { groupId: 'g', binome: 'b', quality: { id: 'q4', text: 'z' } })`))
	id4 := c3.op("quality.add")
	c3.send(`{"type":"refused","id":"` + id4 + `","code":"unavailable","message":"later"}`)
	page.waitFor("the op kept while paused", `s.pending() === 1 && s.status === 'unavailable'`)
	c3.send(`{"type":"status","available":true}`)
	if again := c3.op("quality.add"); again != id4 {
		t.Fatalf("op after status true has id %s, want %s", again, id4)
	}
	c3.send(`{"type":"ack","id":"` + id4 + `","seq":7}`)
	page.waitFor("saved again", `s.pending() === 0 && s.status === 'saved'`)

	// Any other refusal: dropped for good and reported.
	page.do("send a bad op", evalVoid(`s.send('quality.add', { groupId: 'g' })`))
	id3 := c3.op("quality.add")
	c3.send(`{"type":"refused","id":"` + id3 + `","code":"invalid","message":"Nope"}`)
	page.waitFor("the refusal", `s.pending() === 0 && events.includes('refused:invalid')`)

	// 4003: the view changed, start again from nothing.
	c3.close(4003)
	c4 := ss.next(t)
	c4.hello(0)
	// 4001: the token no longer opens the meeting.
	c4.close(4001)
	page.waitFor("the fatal event", `events.includes('fatal:unauthorized') && s.stopped === true`)
}

func evalVoid(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](expr)
}
