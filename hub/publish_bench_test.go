package hub

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/boucle/designation/meeting"
)

// BenchmarkApplyAndPublish is one list edit as a meeting's goroutine runs
// it once the store has saved it: the domain's Apply, the frames encoded
// for each audience and lens, and their fan-out to the 103 connections of
// a meeting of 100 at step IV (ten breakout groups, a projector, two
// facilitators). The edits are the load generator's: qualities added,
// edited and removed by the participants, in turn.
func BenchmarkApplyAndPublish(b *testing.B) {
	room := roomOnDisk(b, "BENCHA", Options{SnapshotEvery: 1 << 30})
	ctx := context.Background()
	must := func(actor meeting.Actor, typ string, p any) {
		b.Helper()
		res, err := room.Submit(ctx, &meeting.Op{ID: uuid.NewString(), Type: typ, Actor: actor, Payload: payload(p)})
		if err != nil || res.Err != nil {
			b.Fatalf("%s: %v %v", typ, err, res.Err)
		}
	}
	const people = 100
	must(facilitator, meeting.OpActionGroupUpsert, meeting.ActionGroupUpsert{ActionGroup: meeting.ActionGroup{ID: "ag", Name: "GA Bordeaux", CertifiedOn: "2026-01-10"}})
	for i := range people {
		id := fmt.Sprintf("p%03d", i)
		must(facilitator, meeting.OpMemberAdd, meeting.MemberAdd{Member: meeting.Member{ID: id, Name: "Personne " + id, ActionGroupID: "ag", Email: id + "@example.org", Phone: "06 00 00 00 00"}})
		must(facilitator, meeting.OpMemberCheckIn, meeting.MemberCheckIn{MemberID: id})
	}
	must(facilitator, meeting.OpStepSet, meeting.StepSet{Step: meeting.StepIV})
	must(facilitator, meeting.OpGroupsSplit, meeting.GroupsSplit{})

	// The meeting's connections, their queues emptied as writers would;
	// they read list changes, as our pages do.
	var groupOf map[string]string
	var binomes []string
	if err := room.Read(ctx, func(s *meeting.State) {
		groupOf = map[string]string{}
		for id, m := range s.Members {
			groupOf[id] = m.GroupID
		}
		for _, bn := range s.Template.Binomes {
			binomes = append(binomes, bn.Key)
		}
	}); err != nil {
		b.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	subscribe := func(actor meeting.Actor) {
		s := &subscriber{send: make(chan []byte, 1<<12), inflight: make(chan struct{}, 32), kick: func(StatusCode, string) {}, lists: true}
		ok := false
		if err := room.call(ctx, func() {
			s.actor, s.lens = actor, room.state.LensOf(actor)
			room.subs[s] = struct{}{}
			ok = true
		}); err != nil || !ok {
			b.Fatal("subscribe", err)
		}
		go func() {
			for {
				select {
				case <-s.send:
				case <-stop:
					return
				}
			}
		}()
	}
	for i := range people {
		subscribe(meeting.Actor{Role: meeting.RoleParticipant, MemberID: fmt.Sprintf("p%03d", i)})
	}
	subscribe(meeting.Actor{Role: meeting.RoleProjector})
	subscribe(facilitator)
	subscribe(facilitator)

	// Each participant adds a quality, edits it, then removes it: three
	// ops per participant, each at the next seq, with a new id.
	const perRound = 3 * people
	ops := make([]*meeting.Op, perRound)
	for i := range ops {
		who := fmt.Sprintf("p%03d", i/3)
		q := meeting.QualityOp{GroupID: groupOf[who], Binome: binomes[i/3%len(binomes)],
			Quality: meeting.Quality{ID: "q-" + who, Text: "connaît bien les syndicats du département"}}
		typ := []string{meeting.OpQualityAdd, meeting.OpQualityEdit, meeting.OpQualityRemove}[i%3]
		if typ == meeting.OpQualityEdit {
			q.Quality.Text = "connaît les syndicats et les associations de quartier"
		}
		ops[i] = &meeting.Op{Type: typ, Actor: meeting.Actor{Role: meeting.RoleParticipant, MemberID: who}, Payload: payload(q)}
	}
	b.ReportAllocs()
	b.ResetTimer()
	if err := room.call(ctx, func() {
		at := time.Date(2026, 6, 27, 19, 0, 0, 0, time.UTC)
		for i := range b.N {
			op := *ops[i%perRound]
			op.ID = uuid.NewString()
			op.Seq = room.state.Seq + 1
			op.At = at
			if !room.applyAndPublish(&op) {
				b.Fatalf("%s refused by the room", op.Type)
			}
			if o := room.ids[op.ID]; o.err != nil {
				b.Fatalf("%s: %v", op.Type, o.err)
			}
		}
	}); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	subs := 0
	if err := room.call(ctx, func() { subs = len(room.subs) }); err != nil {
		b.Fatal(err)
	}
	if subs != people+3 {
		b.Fatalf("%d connections left, want %d (one fell behind and was dropped)", subs, people+3)
	}
}
