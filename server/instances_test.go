package main

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/boucle/designation/hub"
	"github.com/boucle/designation/internal/testredis"
	"github.com/boucle/designation/store/redis"
)

// TestTwoInstancesConverge runs two servers on one Redis log, as behind a
// load balancer without sticky sessions: a meeting created on one is joined
// through the other, edits made on either reach the phones of both, and
// both instances end with the same state.
func TestTwoInstancesConverge(t *testing.T) {
	url, _ := testredis.Start(t)
	open := func() *testApp {
		l, err := redis.Open(context.Background(), url, redis.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return newTestAppWithLog(t, l, hub.Options{SnapshotEvery: 5})
	}
	a, b := open(), open()

	m := a.createMeeting()
	// Through b: the code and the meeting were made on a.
	var info joinInfoResponse
	if st := b.do("GET", "/api/join/"+m.JoinCode, "", "", nil, &info); st != http.StatusOK || info.MeetingID != m.ID {
		t.Fatalf("join info through the other instance: %d %+v", st, info)
	}
	members := b.importMembers(m, memberCSV(6, 2))
	tokens := a.joinAll(m, members[:3])
	for k, v := range b.joinAll(m, members[3:]) {
		tokens[k] = v
	}
	facA := dial(t, a, map[string]any{"meeting": m.ID, "token": m.FacSecret, "lastSeq": uint64(0)}, nil)
	facB := dial(t, b, map[string]any{"meeting": m.ID, "token": m.FacSecret, "lastSeq": uint64(0)}, nil)
	facA.waitFor("snapshot", func() bool { return len(facA.view["members"]) == 6 })
	facB.waitFor("snapshot", func() bool { return len(facB.view["members"]) == 6 })

	// Interleaved edits from both instances, pipelined.
	var last uint64
	for i := range 12 {
		fac := facA
		if i%2 == 1 {
			fac = facB
		}
		last = max(last, fac.mustAck("bilan.set", map[string]any{"binome": "communication", "text": fmt.Sprintf("bilan %d", i)}))
	}
	last = max(last, facB.mustAck("step.set", map[string]any{"step": "IV"}))
	last = max(last, facA.mustAck("groups.split", map[string]any{}))

	phoneA := dial(t, a, map[string]any{"meeting": m.ID, "token": tokens[members[0].ID], "lastSeq": uint64(0)}, nil)
	phoneB := dial(t, b, map[string]any{"meeting": m.ID, "token": tokens[members[4].ID], "lastSeq": uint64(0)}, nil)
	phoneA.waitSeq(last)
	phoneB.waitSeq(last)
	facA.waitSeq(last)
	facB.waitSeq(last)
	sameView(t, "facilitator views of the two instances", facA.normalized(), facB.normalized())
	sameView(t, "phone views of the two instances", phoneA.normalized(), phoneB.normalized())
	var bilan string
	facB.valueOf("bilans", "communication", &bilan)
	if bilan != "bilan 11" {
		t.Fatalf("bilan %q", bilan)
	}
}
