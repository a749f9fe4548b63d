package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/boucle/designation/internal/testredis"
	"github.com/boucle/designation/store"
	"github.com/boucle/designation/store/redis"
)

// TestInstanceKilledMidEdit runs two server binaries on one Redis (AOF
// on), each behind its own forwarding port as a load balancer would give
// them, with phones of one meeting spread over both and editing. One
// instance is killed with kill -9 in the middle of the edits and its port
// is pointed at the other (the balancer drops the dead backend): its phones
// reconnect to the survivor with their lastSeq and send again what was not
// answered. At the end: no phone saw a gap, a duplicate or a refusal other
// than "unavailable"; every op a phone saw acked is in the Redis log at
// that seq; every phone's view equals what a fresh client gets from the
// survivor and from a third instance started on the same Redis afterwards.
func TestInstanceKilledMidEdit(t *testing.T) {
	const phones = 12
	url, _ := testredis.Start(t)
	out := &output{}
	srvA := startServer(t, t.TempDir(), out, "-redis-url", url)
	srvB := startServer(t, t.TempDir(), out, "-redis-url", url)
	f := newFixture(t, srvA.url, phones)

	fac := connect(t, hostOf(srvB.url), f.ID, f.FacSecret)
	fac.mustAck("step.set", map[string]any{"step": "IV"})
	fac.mustAck("groups.split", map[string]any{})
	fac.close()
	setup := connect(t, hostOf(srvA.url), f.ID, f.FacSecret)
	setup.close()
	var mv struct {
		Template struct {
			Binomes []struct{ Key string } `json:"binomes"`
		} `json:"template"`
	}
	b, _ := json.Marshal(setup.view["meeting"][""])
	_ = json.Unmarshal(b, &mv)
	if len(mv.Template.Binomes) == 0 {
		t.Fatal("no binomes in the template")
	}

	toA, err := newChaosProxy(hostOf(srvA.url))
	if err != nil {
		t.Fatal(err)
	}
	toB, err := newChaosProxy(hostOf(srvB.url))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	clients := make([]*phone, 0, phones)
	onA := map[*phone]bool{}
	for i, m := range f.Members {
		mem, _ := setup.view["members"][m.ID].(map[string]any)
		group, _ := mem["groupId"].(string)
		if group == "" {
			t.Fatalf("member %d is in no group", i)
		}
		via := toB
		if i%2 == 0 {
			via = toA
		}
		p := newPhone(via.addr(), f.ID, m.Token, group, mv.Template.Binomes[i%len(mv.Template.Binomes)].Key, fmt.Sprintf("P%02d", i))
		onA[p] = via == toA
		p.editing.Store(true)
		clients = append(clients, p)
		wg.Add(1)
		go func() { defer wg.Done(); p.run(ctx) }()
	}
	stopAll := func() {
		cancel()
		toA.close()
		toB.close()
		wg.Wait()
	}
	defer stopAll()

	ackedOnA := func() int {
		n := 0
		for _, p := range clients {
			if onA[p] {
				p.mu.Lock()
				n += len(p.acked)
				p.mu.Unlock()
			}
		}
		return n
	}
	waitUntil(t, 20*time.Second, "edits acked through instance A", func() string {
		if n := ackedOnA(); n < 30 {
			return fmt.Sprintf("%d acked", n)
		}
		return ""
	})
	srvA.kill()
	toA.setBackend(hostOf(srvB.url))
	killedAt := ackedOnA()
	waitUntil(t, 20*time.Second, "A's phones editing through B", func() string {
		if n := ackedOnA(); n < killedAt+20 {
			return fmt.Sprintf("%d acked since the kill", n-killedAt)
		}
		return ""
	})

	for _, p := range clients {
		p.editing.Store(false)
	}
	waitUntil(t, 20*time.Second, "every op answered", func() string {
		for _, p := range clients {
			if _, _, pending := p.state(); pending > 0 {
				return fmt.Sprintf("%s has %d ops unanswered", p.name, pending)
			}
		}
		return ""
	})
	final := connect(t, hostOf(srvB.url), f.ID, f.FacSecret)
	final.close()
	// Each phone's seq stops at the last op it was sent (not other groups'
	// list edits): caught up is having the view a new connection gets.
	want := freshViews(t, hostOf(srvB.url), f.ID, f.Members)
	waitUntil(t, 15*time.Second, "every phone caught up", func() string { return differsFrom(clients, want) })
	stopAll()

	// The log in Redis: every acked op at its acked seq.
	l, err := redis.Open(context.Background(), url, redis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	inLog := map[string]uint64{}
	if err := l.Read(context.Background(), f.ID, 0, func(r store.Record) error {
		inLog[r.ID] = r.Seq
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	acked := 0
	for _, p := range clients {
		p.mu.Lock()
		for _, msg := range p.problems {
			t.Errorf("%s: %s", p.name, msg)
		}
		for id, code := range p.refused {
			t.Errorf("%s: op %s refused %s", p.name, id, code)
		}
		for id, seq := range p.acked {
			acked++
			if got, ok := inLog[id]; !ok || got != seq {
				t.Errorf("%s: op %s acked at seq %d, in the log at %d (present %v)", p.name, id, seq, got, ok)
			}
		}
		p.mu.Unlock()
	}

	// What a fresh client gets from the survivor and from a new instance.
	srvC := startServer(t, t.TempDir(), out, "-redis-url", url)
	for _, host := range []string{hostOf(srvB.url), hostOf(srvC.url)} {
		fresh := connect(t, host, f.ID, f.FacSecret)
		fresh.close()
		if fresh.seq != final.seq {
			t.Errorf("%s: meeting at seq %d, it was at %d", host, fresh.seq, final.seq)
		}
		if d := differsFrom(clients, freshViews(t, host, f.ID, f.Members)); d != "" {
			t.Fatalf("on %s: %s from a fresh client's", host, d)
		}
		count := map[string]int{}
		for _, g := range fresh.view["groups"] {
			gb, _ := json.Marshal(g)
			var gv struct {
				Lists map[string]struct {
					Qualities []struct{ ID string } `json:"qualities"`
				} `json:"lists"`
			}
			_ = json.Unmarshal(gb, &gv)
			for _, l := range gv.Lists {
				for _, q := range l.Qualities {
					count[q.ID]++
				}
			}
		}
		for _, p := range clients {
			for _, qid := range p.live {
				if count[qid] != 1 {
					t.Errorf("%s: %s: quality %s is %d times in the state", host, p.name, qid, count[qid])
				}
			}
		}
	}
	srvB.stop()
	srvC.stop()
	t.Logf("%d phones, %d ops acked (%d through A before the kill), final seq %d", phones, acked, killedAt, final.seq)
}
