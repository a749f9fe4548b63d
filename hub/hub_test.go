package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/boucle/designation/meeting"
	"github.com/boucle/designation/store"
	"github.com/boucle/designation/store/bolt"
)

// faultyLog is a real bbolt log whose appends can be made to fail, before
// writing (a full disk) or after writing (the fsync returned an error but
// the bytes made it).
type faultyLog struct {
	store.Log
	failBefore atomic.Bool
	failAfter  atomic.Bool
}

func (l *faultyLog) Append(ctx context.Context, m string, entries []store.Entry) ([]store.Appended, error) {
	if l.failBefore.Load() {
		return nil, fmt.Errorf("test: disk full: %w", store.ErrUnavailable)
	}
	res, err := l.Log.Append(ctx, m, entries)
	if err == nil && l.failAfter.Load() {
		return nil, fmt.Errorf("test: fsync error: %w", store.ErrUnavailable)
	}
	return res, err
}

var _ store.Log = (*faultyLog)(nil)

func openLog(t testing.TB, path string) *faultyLog {
	t.Helper()
	l, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return &faultyLog{Log: l}
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newHub(t testing.TB, log store.Log, opts Options) *Hub {
	t.Helper()
	opts.Logger = quietLogger()
	h, err := New(context.Background(), log, opts)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func payload(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

var facilitator = meeting.Actor{Role: meeting.RoleFacilitator}

// roomOnDisk is meeting m1, with join code code, of a hub with opts over a
// bbolt log in a temporary folder; both are closed when the test ends.
func roomOnDisk(tb testing.TB, code string, opts Options) *Room {
	tb.Helper()
	log := openLog(tb, filepath.Join(tb.TempDir(), "d.db"))
	tb.Cleanup(func() { log.Close() })
	h := newHub(tb, log, opts)
	tb.Cleanup(h.Close)
	return createMeeting(tb, h, "m1", code)
}

// createMeeting creates meeting id with join code code.
func createMeeting(t testing.TB, h *Hub, id, code string) *Room {
	t.Helper()
	op := &meeting.Op{ID: uuid.NewString(), Type: meeting.OpMeetingCreate, Actor: meeting.Actor{Role: meeting.RoleSystem},
		Payload: payload(meeting.MeetingCreate{
			Info:     meeting.Info{Title: "Test " + id, Department: "Gironde (33)", Lang: "fr"},
			JoinCode: code, FacilitatorToken: TokenHash("fac-" + id), ProjectorToken: TokenHash("scr-" + id),
		})}
	room, res, err := h.Create(context.Background(), id, op)
	if err != nil || res.Err != nil {
		t.Fatalf("create %s: %v %v", id, err, res.Err)
	}
	return room
}

func bilanOp(i int) *meeting.Op {
	return &meeting.Op{ID: uuid.NewString(), Type: meeting.OpBilanSet, Actor: facilitator,
		Payload: payload(meeting.BilanSet{Binome: "communication", Text: fmt.Sprintf("bilan %d", i)})}
}

func bilanOf(t testing.TB, room *Room) string {
	t.Helper()
	var text string
	if err := room.Read(context.Background(), func(s *meeting.State) { text = s.Bilans["communication"] }); err != nil {
		t.Fatal(err)
	}
	return text
}

// TestStoreFailureIsNeverAcked: when the store cannot write, the op is
// refused as unavailable (never acked); once it can, the same op is applied
// once. When the write did land but the store reported an error, the
// re-sent op is recognised as a duplicate with its original seq.
func TestStoreFailureIsNeverAcked(t *testing.T) {
	log := openLog(t, filepath.Join(t.TempDir(), "d.db"))
	defer log.Close()
	h := newHub(t, log, Options{})
	defer h.Close()
	room := createMeeting(t, h, "m1", "ABCDEF")
	ctx := context.Background()

	log.failBefore.Store(true)
	op := bilanOp(1)
	res, err := room.Submit(ctx, op)
	if err != nil || res.Err == nil || res.Err.Code != CodeUnavailable {
		t.Fatalf("append failing: %v %+v", err, res)
	}
	if got := bilanOf(t, room); got != "" {
		t.Fatalf("a refused op changed the state: %q", got)
	}
	log.failBefore.Store(false)
	retry := *op
	res, err = room.Submit(ctx, &retry)
	if err != nil || res.Err != nil || res.Dup {
		t.Fatalf("retry: %v %+v", err, res)
	}
	first := res.Seq

	// Written but reported as failed.
	log.failAfter.Store(true)
	op2 := bilanOp(2)
	res, err = room.Submit(ctx, op2)
	if err != nil || res.Err == nil || res.Err.Code != CodeUnavailable {
		t.Fatalf("fsync failing: %v %+v", err, res)
	}
	log.failAfter.Store(false)
	retry2 := *op2
	res, err = room.Submit(ctx, &retry2)
	if err != nil || res.Err != nil || !res.Dup || res.Seq != first+1 {
		t.Fatalf("retry after a write that landed: %v %+v (want dup of seq %d)", err, res, first+1)
	}
	if got := bilanOf(t, room); got != "bilan 2" {
		t.Fatalf("bilan %q", got)
	}
	var seq uint64
	_ = room.Read(ctx, func(s *meeting.State) { seq = s.Seq })
	if seq != first+1 {
		t.Fatalf("state at seq %d, want %d (applied twice or not at all)", seq, first+1)
	}
}

// TestConcurrentSubmitsAcrossMeetings: many writers on many meetings; every
// acked op is in the state after a restart, each exactly once, in the order
// of the seqs the hub returned.
func TestConcurrentSubmitsAcrossMeetings(t *testing.T) {
	path := filepath.Join(t.TempDir(), "d.db")
	log := openLog(t, path)
	h := newHub(t, log, Options{SnapshotEvery: 7})
	const meetings, writers, perWriter = 5, 4, 15
	var wg sync.WaitGroup
	seqs := make([][]uint64, meetings)
	var mu sync.Mutex
	for m := range meetings {
		room := createMeeting(t, h, fmt.Sprintf("m%d", m), fmt.Sprintf("CODE%c%c", 'A'+m, 'A'))
		for range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range perWriter {
					op := bilanOp(i)
					res, err := room.Submit(context.Background(), op)
					if err != nil || res.Err != nil {
						t.Errorf("submit: %v %+v", err, res.Err)
						return
					}
					mu.Lock()
					seqs[m] = append(seqs[m], res.Seq)
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	h.Close()
	log.Close()

	log = openLog(t, path)
	defer log.Close()
	h = newHub(t, log, Options{})
	defer h.Close()
	if h.Meetings() != meetings {
		t.Fatalf("%d meetings after restart", h.Meetings())
	}
	for m := range meetings {
		room, ok := h.Room(fmt.Sprintf("m%d", m))
		if !ok {
			t.Fatalf("meeting m%d lost", m)
		}
		var seq uint64
		_ = room.Read(context.Background(), func(s *meeting.State) { seq = s.Seq })
		// 1 create + every acked op, with distinct seqs.
		seen := map[uint64]bool{}
		for _, s := range seqs[m] {
			if seen[s] {
				t.Fatalf("seq %d acked twice", s)
			}
			seen[s] = true
		}
		if want := uint64(1 + writers*perWriter); seq != want {
			t.Fatalf("m%d at seq %d after restart, want %d", m, seq, want)
		}
		if id, ok := h.Lookup(fmt.Sprintf("CODE%c%c", 'A'+m, 'A')); !ok || id != fmt.Sprintf("m%d", m) {
			t.Fatalf("join code of m%d not indexed after restart", m)
		}
	}
}

// TestCreateRefusesTakenCodes: join codes are unique among loaded meetings.
func TestCreateRefusesTakenCodes(t *testing.T) {
	log := openLog(t, filepath.Join(t.TempDir(), "d.db"))
	defer log.Close()
	h := newHub(t, log, Options{})
	defer h.Close()
	createMeeting(t, h, "m1", "ABCDEF")
	op := &meeting.Op{ID: uuid.NewString(), Type: meeting.OpMeetingCreate, Actor: meeting.Actor{Role: meeting.RoleSystem},
		Payload: payload(meeting.MeetingCreate{JoinCode: "ABCDEF", FacilitatorToken: TokenHash("a"), ProjectorToken: TokenHash("b")})}
	if _, _, err := h.Create(context.Background(), "m2", op); !errors.Is(err, ErrCodeTaken) {
		t.Fatalf("taken code: %v", err)
	}
	if _, ok := h.Room("m2"); ok {
		t.Fatal("a refused create left a room")
	}
}

// TestCloseDoesNotHang: after Close, every method returns at once.
func TestCloseDoesNotHang(t *testing.T) {
	log := openLog(t, filepath.Join(t.TempDir(), "d.db"))
	defer log.Close()
	h := newHub(t, log, Options{})
	room := createMeeting(t, h, "m1", "ABCDEF")
	h.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := room.Submit(context.Background(), bilanOp(1)); err == nil {
			t.Error("submit after close succeeded")
		}
		if err := room.Read(context.Background(), func(*meeting.State) {}); err == nil {
			t.Error("read after close succeeded")
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a call hung after Close")
	}
}

// TestApplyPanicRebuildsTheRoom: an op whose apply panics does not take the
// process or the other meetings down; its meeting is rebuilt from the log
// without it, the ops around it stay, it is refused for good when re-sent,
// and a restart replays the log the same way.
func TestApplyPanicRebuildsTheRoom(t *testing.T) {
	path := filepath.Join(t.TempDir(), "d.db")
	log := openLog(t, path)
	boom := func(s *meeting.State, op *meeting.Op) (meeting.Changes, error) {
		var p meeting.BilanSet
		if op.Type == meeting.OpBilanSet && json.Unmarshal(op.Payload, &p) == nil && p.Text == "boom" {
			s.Bilans["communication"] = "half-applied" // a partial change the rebuild must discard
			panic("domain bug")
		}
		return meeting.Apply(s, op)
	}
	opts := Options{Logger: quietLogger(), apply: boom}
	h, err := New(context.Background(), log, opts)
	if err != nil {
		t.Fatal(err)
	}
	r1 := createMeeting(t, h, "m1", "AAAAAA")
	r2 := createMeeting(t, h, "m2", "BBBBBB")
	ctx := context.Background()
	if res, err := r1.Submit(ctx, bilanOp(1)); err != nil || res.Err != nil {
		t.Fatalf("before: %v %+v", err, res)
	}
	bad := &meeting.Op{ID: uuid.NewString(), Type: meeting.OpBilanSet, Actor: facilitator,
		Payload: payload(meeting.BilanSet{Binome: "communication", Text: "boom"})}
	res, err := r1.Submit(ctx, bad)
	if err != nil || res.Err == nil || res.Err.Code != CodeUnavailable {
		t.Fatalf("panicking op: %v %+v", err, res)
	}
	if got := bilanOf(t, r1); got != "bilan 1" {
		t.Fatalf("after the rebuild the bilan is %q, want the last good one", got)
	}
	if res, err := r2.Submit(ctx, bilanOp(7)); err != nil || res.Err != nil {
		t.Fatalf("the other meeting: %v %+v", err, res)
	}
	if res, err := r1.Submit(ctx, bilanOp(3)); err != nil || res.Err != nil {
		t.Fatalf("after: %v %+v", err, res)
	}
	again := *bad
	if res, err := r1.Submit(ctx, &again); err != nil || res.Err == nil || res.Err.Code != meeting.CodeInvalid {
		t.Fatalf("re-sent panicking op: %v %+v", err, res)
	}
	var live []byte
	_ = r1.Read(ctx, func(s *meeting.State) { live = s.Encode() })
	h.Close()
	log.Close()

	log = openLog(t, path)
	defer log.Close()
	h, err = New(context.Background(), log, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	r1, _ = h.Room("m1")
	var restarted []byte
	_ = r1.Read(ctx, func(s *meeting.State) { restarted = s.Encode() })
	if string(live) != string(restarted) {
		t.Fatalf("the restarted state differs from the live one:\n%s\n%s", live, restarted)
	}
}
