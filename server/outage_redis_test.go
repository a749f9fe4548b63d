package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/boucle/designation/hub"
	"github.com/boucle/designation/internal/testredis"
	"github.com/boucle/designation/store/redis"
)

// openRedisApp serves the app over a Redis log (a second instance when
// called twice with the same url).
func openRedisApp(t *testing.T, url string, opts hub.Options) *testApp {
	t.Helper()
	l, err := redis.Open(context.Background(), url, redis.Options{OpTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return newTestAppWithLog(t, l, opts)
}

// storeStatus is the last "status" frame the client got: seen is false when
// it got none.
func storeStatus(c *wsClient) (available, seen bool) {
	for _, raw := range c.raw {
		var f struct {
			Type      string `json:"type"`
			Available bool   `json:"available"`
		}
		if json.Unmarshal(raw, &f) == nil && f.Type == "status" {
			available, seen = f.Available, true
		}
	}
	return available, seen
}

// addMember sends a member.add op with a fresh id and returns the op id.
func addMember(c *wsClient, memberID string) string {
	id := uuid.NewString()
	c.sendOp(id, "member.add", map[string]any{"member": map[string]any{"id": memberID, "name": "Durable " + memberID}})
	return id
}

// readyStatus is the status code of /readyz.
func readyStatus(t *testing.T, a *testApp) int {
	t.Helper()
	resp, err := http.Get(a.url + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// waitReady polls /readyz until it answers want.
func waitReady(t *testing.T, a *testApp, want int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		got := readyStatus(t, a)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz answers %d, want %d", got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRedisOutageMidMeeting: two instances serve one meeting on one Redis
// (AOF on), which is killed mid-meeting and started again. While it is
// down, ops are refused "unavailable" (never acked), /readyz fails on both
// instances, and the connected clients stay connected with their state and
// are told (status frame). Once it is back, without restarting the
// instances: /readyz passes, the clients are told, the refused op sent
// again is applied once, edits made on either instance reach the clients of
// both, and every acked op is in the state of both instances and of a
// fresh client.
func TestRedisOutageMidMeeting(t *testing.T) {
	url, srv := testredis.Start(t)
	opts := hub.Options{SnapshotEvery: 7, StoreCheckInterval: 100 * time.Millisecond}
	a, b := openRedisApp(t, url, opts), openRedisApp(t, url, opts)
	m := a.createMeeting()
	facA := dial(t, a, map[string]any{"meeting": m.ID, "token": m.FacSecret, "lastSeq": uint64(0)}, nil)
	facB := dial(t, b, map[string]any{"meeting": m.ID, "token": m.FacSecret, "lastSeq": uint64(0)}, nil)
	facA.waitFor("snapshot", func() bool { return facA.lastSeq > 0 })
	facB.waitFor("snapshot", func() bool { return facB.lastSeq > 0 })

	acked := map[string]bool{} // member ids whose member.add was acked
	for i := range 10 {
		fac := facA
		if i%2 == 1 {
			fac = facB
		}
		mid := fmt.Sprintf("before-%d", i)
		fac.mustAck("member.add", map[string]any{"member": map[string]any{"id": mid, "name": "Durable " + mid}})
		acked[mid] = true
	}
	last := max(facA.seq(), facB.seq())
	facA.waitSeq(last)
	facB.waitSeq(last)
	before := facB.normalized()

	srv.Kill()
	for _, c := range []*wsClient{facA, facB} {
		c.waitFor("a status frame: store unavailable", func() bool {
			ok, seen := storeStatus(c)
			return seen && !ok
		})
	}
	waitReady(t, a, http.StatusServiceUnavailable)
	waitReady(t, b, http.StatusServiceUnavailable)
	refusedA, refusedB := addMember(facA, "during-a"), addMember(facB, "during-b")
	for _, tc := range []struct {
		c  *wsClient
		id string
	}{{facA, refusedA}, {facB, refusedB}} {
		tc.c.waitFor("the refusal of an op sent while Redis is down", func() bool {
			if seq, ok := tc.c.acks[tc.id]; ok {
				t.Fatalf("op acked at seq %d while Redis is down", seq)
			}
			return tc.c.refusals[tc.id] == "unavailable"
		})
	}
	// A client that connects meanwhile gets the state it can (the instance's
	// memory) and is told at once.
	late := dial(t, b, map[string]any{"meeting": m.ID, "token": m.FacSecret, "lastSeq": uint64(0)}, nil)
	late.waitFor("snapshot and status", func() bool {
		ok, seen := storeStatus(late)
		return late.lastSeq == last && seen && !ok
	})
	sameView(t, "a client connected during the outage", late.normalized(), before)
	sameView(t, "a connected client during the outage", facB.normalized(), before)
	for _, c := range []*wsClient{facA, facB} {
		c.mu.Lock()
		closed := c.closed
		c.mu.Unlock()
		if closed != nil {
			t.Fatalf("a client was disconnected by the outage: %v", closed)
		}
	}

	srv.Restart()
	waitReady(t, a, http.StatusOK)
	waitReady(t, b, http.StatusOK)
	for _, c := range []*wsClient{facA, facB, late} {
		c.waitFor("a status frame: store available", func() bool {
			ok, seen := storeStatus(c)
			return seen && ok
		})
	}
	// The refused ops, sent again with the same ids, are applied now.
	facA.sendOp(refusedA, "member.add", map[string]any{"member": map[string]any{"id": "during-a", "name": "Durable during-a"}})
	facB.sendOp(refusedB, "member.add", map[string]any{"member": map[string]any{"id": "during-b", "name": "Durable during-b"}})
	facA.waitFor("the ack of the op sent again", func() bool { return facA.acks[refusedA] > 0 })
	facB.waitFor("the ack of the op sent again", func() bool { return facB.acks[refusedB] > 0 })
	acked["during-a"], acked["during-b"] = true, true
	for i := range 6 {
		fac := facA
		if i%2 == 1 {
			fac = facB
		}
		mid := fmt.Sprintf("after-%d", i)
		fac.mustAck("member.add", map[string]any{"member": map[string]any{"id": mid, "name": "Durable " + mid}})
		acked[mid] = true
	}
	last = max(facA.seq(), facB.seq())
	for _, c := range []*wsClient{facA, facB, late} {
		c.waitSeq(last)
	}
	fresh := dial(t, a, map[string]any{"meeting": m.ID, "token": m.FacSecret, "lastSeq": uint64(0)}, nil)
	fresh.waitSeq(last)
	want := fresh.normalized()
	for mid := range acked {
		if _, ok := want["members"][mid]; !ok {
			t.Errorf("acked member %s is not in the state after the outage", mid)
		}
	}
	sameView(t, "instance b's client and a fresh client", facB.normalized(), want)
	sameView(t, "instance a's client and a fresh client", facA.normalized(), want)
	sameView(t, "the client connected during the outage and a fresh client", late.normalized(), want)
	if got := len(want["members"]); got != len(acked) {
		t.Errorf("%d members in the state, %d acked (an op applied twice or one never acked)", got, len(acked))
	}
}
