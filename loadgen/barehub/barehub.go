// Package barehub is the reference the load generator compares our server
// with: a minimal relay on github.com/coder/websocket that speaks the same
// frames as docs/PROTOCOL.md (hello → welcome + snapshot; op → changes, then
// ack to the sender) but checks nothing, stores nothing and merges nothing.
// It routes like our hub, so that both do the same work: an op whose payload
// names a group ("groupId", a list edit) goes to that group's participants,
// the projector and the facilitators; any other op goes to the whole meeting.
// A connection says who it is in its hello ("role", "group"; our server
// reads both from its token instead); a hello without a role follows every
// group, like a projector.
//
// What it costs per connection and per frame is the floor set by the
// WebSocket library and Go on this machine; our server cannot do better, and
// the benchmark reports every figure as a ratio to it.
//
// It follows the shape of coder/websocket's chat example (and of our hub):
// one reader and one writer goroutine per connection, a bounded send queue,
// a publish that never blocks (a subscriber that cannot keep up is closed),
// and one encoding of each frame shared by every subscriber.
package barehub

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// Tunables, the same defaults as our hub's Options.
const (
	sendQueue    = 256              // frames waiting per connection before it is closed as too slow
	writeTimeout = 5 * time.Second  // bound of one WebSocket write
	helloTimeout = 10 * time.Second // time a new connection has to say hello
	readLimit    = 64 << 10         // largest frame a client may send
)

// Hub is the relay: rooms by meeting id. Its zero value is not usable; call
// New.
type Hub struct {
	mu    sync.Mutex
	rooms map[string]*room
}

// New returns an empty relay.
func New() *Hub {
	return &Hub{rooms: make(map[string]*room)}
}

// Handler serves /ws (the relay) and /healthz.
func (h *Hub) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
	})
	mux.HandleFunc("GET /ws", h.serveWS)
	return mux
}

// room is one meeting: its sequence and its subscribers, all of them in
// subs, and each participant also in the set of its group. The lock is held
// while a frame is queued, so every subscriber sees the frames of the room
// in sequence order.
type room struct {
	mu       sync.Mutex
	seq      uint64
	subs     map[*subscriber]struct{}            // every connection
	watchers map[*subscriber]struct{}            // projectors and facilitators: every group
	groups   map[string]map[*subscriber]struct{} // participants by group
}

// subscriber is one connection's send side.
type subscriber struct {
	msgs      chan []byte
	closeSlow func()
}

func (h *Hub) room(id string) *room {
	h.mu.Lock()
	defer h.mu.Unlock()
	r, ok := h.rooms[id]
	if !ok {
		r = &room{
			subs:     make(map[*subscriber]struct{}),
			watchers: make(map[*subscriber]struct{}),
			groups:   make(map[string]map[*subscriber]struct{}),
		}
		h.rooms[id] = r
	}
	return r
}

// joinLocked adds s to the room (the room lock held): a participant with a group
// to that group's set, anyone else to the watchers.
func (r *room) joinLocked(s *subscriber, role, group string) {
	r.subs[s] = struct{}{}
	if role != "participant" {
		r.watchers[s] = struct{}{}
		return
	}
	if group == "" {
		return // a participant in no group gets the meeting-wide ops only
	}
	set, ok := r.groups[group]
	if !ok {
		set = make(map[*subscriber]struct{})
		r.groups[group] = set
	}
	set[s] = struct{}{}
}

// leaveLocked removes s from the room (the room lock held).
func (r *room) leaveLocked(s *subscriber, group string) {
	delete(r.subs, s)
	delete(r.watchers, s)
	if set, ok := r.groups[group]; ok {
		delete(set, s)
		if len(set) == 0 {
			delete(r.groups, group)
		}
	}
}

// publishLocked queues frame to the audience of an op without blocking: the
// participants of group and the watchers, or everyone when group is "".
func (r *room) publishLocked(group string, frame []byte) {
	if group == "" {
		queueTo(r.subs, frame)
		return
	}
	queueTo(r.groups[group], frame)
	queueTo(r.watchers, frame)
}

// queueTo queues frame to every subscriber of set; one that cannot keep up
// is closed.
func queueTo(set map[*subscriber]struct{}, frame []byte) {
	for s := range set {
		select {
		case s.msgs <- frame:
		default:
			go s.closeSlow()
		}
	}
}

type clientFrame struct {
	Type    string          `json:"type"`
	Meeting string          `json:"meeting"`
	Token   string          `json:"token"`
	ID      string          `json:"id"`
	Op      string          `json:"op"`
	Payload json.RawMessage `json:"payload"`
	Role    string          `json:"role"`  // hello: participant, projector or facilitator
	Group   string          `json:"group"` // hello: a participant's breakout group id
}

// groupOf is the "groupId" of an op's payload, "" when it has none (the op
// is meeting-wide).
type groupOf struct {
	GroupID string `json:"groupId"`
}

func (h *Hub) serveWS(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		InsecureSkipVerify: true, // loopback benchmark only: no browser, no Origin to check
		CompressionMode:    websocket.CompressionDisabled,
	})
	if err != nil {
		return
	}
	defer c.CloseNow()
	c.SetReadLimit(readLimit)
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()

	helloCtx, helloCancel := context.WithTimeout(ctx, helloTimeout)
	_, data, err := c.Read(helloCtx)
	helloCancel()
	if err != nil {
		return
	}
	var hello clientFrame
	if json.Unmarshal(data, &hello) != nil || hello.Type != "hello" || hello.Meeting == "" {
		c.Close(websocket.StatusPolicyViolation, "bad hello")
		return
	}
	role := hello.Role
	if role == "" {
		role = "projector" // follows every group
	}
	rm := h.room(hello.Meeting)
	sub := &subscriber{
		msgs:      make(chan []byte, sendQueue),
		closeSlow: func() { c.Close(websocket.StatusPolicyViolation, "too slow") },
	}
	rm.mu.Lock()
	seq := rm.seq
	rm.joinLocked(sub, role, hello.Group)
	// Queued under the room lock: nothing published after seq can come first.
	sub.msgs <- []byte(`{"type":"welcome","meeting":` + strconv.Quote(hello.Meeting) +
		`,"role":` + strconv.Quote(role) + `,"audience":"redacted","seq":` + strconv.FormatUint(seq, 10) + `}`)
	sub.msgs <- []byte(`{"type":"snapshot","seq":` + strconv.FormatUint(seq, 10) + `,"state":{}}`)
	rm.mu.Unlock()
	defer func() {
		rm.mu.Lock()
		rm.leaveLocked(sub, hello.Group)
		rm.mu.Unlock()
	}()

	go func() {
		defer cancel()
		for {
			select {
			case <-ctx.Done():
				return
			case m := <-sub.msgs:
				wctx, wcancel := context.WithTimeout(ctx, writeTimeout)
				err := c.Write(wctx, websocket.MessageText, m)
				wcancel()
				if err != nil {
					return
				}
			}
		}
	}()

	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			return
		}
		var f clientFrame
		if json.Unmarshal(data, &f) != nil || f.Type != "op" || f.ID == "" {
			continue
		}
		payload := f.Payload
		if len(payload) == 0 {
			payload = json.RawMessage("null")
		}
		var to groupOf
		_ = json.Unmarshal(payload, &to) // not an object, or no group: meeting-wide
		rm.mu.Lock()
		rm.seq++
		seq := strconv.FormatUint(rm.seq, 10)
		rm.publishLocked(to.GroupID, []byte(`{"type":"changes","seq":`+seq+`,"opId":`+strconv.Quote(f.ID)+
			`,"opType":`+strconv.Quote(f.Op)+`,"changes":[{"kind":"op","id":`+strconv.Quote(f.ID)+
			`,"value":`+string(payload)+`}]}`))
		select {
		case sub.msgs <- []byte(`{"type":"ack","id":` + strconv.Quote(f.ID) + `,"seq":` + seq + `}`):
		default:
			go sub.closeSlow()
		}
		rm.mu.Unlock()
		if errors.Is(ctx.Err(), context.Canceled) {
			return
		}
	}
}
