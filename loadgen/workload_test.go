package main

import (
	"reflect"
	"testing"
	"time"
)

func testWorkload() Workload {
	return Workload{Meetings: 3, Participants: 25, GroupSize: 10, Rate: 200, Duration: 10 * time.Second,
		StepEvery: 3 * time.Second, Seed: 42, OwnMax: 3}
}

func TestPlanIsDeterministicFromSeed(t *testing.T) {
	w := testWorkload()
	a, b := w.Plan(), w.Plan()
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two plans from the same seed differ")
	}
	w.Seed = 43
	if reflect.DeepEqual(a, w.Plan()) {
		t.Fatal("another seed gave the same plan")
	}
}

func TestPlanRespectsRateAndBounds(t *testing.T) {
	w := testWorkload()
	plan := w.Plan()
	want := w.Rate * w.Duration.Seconds()
	if n := float64(len(plan)); n < want*0.9 || n > want*1.1 {
		t.Fatalf("%d ops for %v at %v/s, want about %.0f", len(plan), w.Duration, w.Rate, want)
	}
	var last time.Duration
	seenMeeting := map[int32]bool{}
	for i, in := range plan {
		if in.At < last || in.At >= w.Duration {
			t.Fatalf("op %d at %v out of order or past the end", i, in.At)
		}
		last = in.At
		if in.Meeting < 0 || int(in.Meeting) >= w.Meetings || in.Participant < 0 || int(in.Participant) >= w.Participants {
			t.Fatalf("op %d names meeting %d participant %d", i, in.Meeting, in.Participant)
		}
		if int(in.Binome) >= binomeCount {
			t.Fatalf("op %d binome %d", i, in.Binome)
		}
		seenMeeting[in.Meeting] = true
	}
	if len(seenMeeting) != w.Meetings {
		t.Errorf("only %d of %d meetings got edits", len(seenMeeting), w.Meetings)
	}
}

// TestPlanEditsOnlyOwnLiveQualities replays the plan: every edit or removal
// names a quality its participant added and has not removed, on the same
// binome, and nobody keeps more than OwnMax.
func TestPlanEditsOnlyOwnLiveQualities(t *testing.T) {
	w := testWorkload()
	type key struct {
		m, p int32
		s    uint32
	}
	live := map[key]uint8{}
	count := map[[2]int32]int{}
	kinds := map[uint8]int{}
	for i, in := range w.Plan() {
		k := key{in.Meeting, in.Participant, in.Serial}
		who := [2]int32{in.Meeting, in.Participant}
		kinds[in.Kind]++
		switch in.Kind {
		case editAdd:
			if _, dup := live[k]; dup {
				t.Fatalf("op %d adds quality %v twice", i, k)
			}
			live[k] = in.Binome
			count[who]++
			if count[who] > w.OwnMax {
				t.Fatalf("op %d: participant %v keeps %d qualities", i, who, count[who])
			}
		case editEdit, editRemove:
			b, ok := live[k]
			if !ok || b != in.Binome {
				t.Fatalf("op %d edits quality %v that is not live on binome %d", i, k, in.Binome)
			}
			if in.Kind == editRemove {
				delete(live, k)
				count[who]--
			}
		}
		if in.Kind != editRemove && (len(in.Text) < 10 || len(in.Text) > 120) {
			t.Fatalf("op %d text %q", i, in.Text)
		}
	}
	for _, k := range []uint8{editAdd, editEdit, editRemove} {
		if kinds[k] == 0 {
			t.Errorf("no op of kind %d in the plan", k)
		}
	}
}

func TestWavesAndValidate(t *testing.T) {
	w := testWorkload()
	if got := w.Waves(); !reflect.DeepEqual(got, []time.Duration{3 * time.Second, 6 * time.Second, 9 * time.Second}) {
		t.Errorf("waves %v", got)
	}
	w.StepEvery = 0
	if len(w.Waves()) != 0 {
		t.Error("no step change wanted")
	}
	if got := w.Connections(); got != 3*28 {
		t.Errorf("connections %d", got)
	}
	bad := []func(*Workload){
		func(w *Workload) { w.Meetings = 0 },
		func(w *Workload) { w.Participants = 0 },
		func(w *Workload) { w.GroupSize = 1 },
		func(w *Workload) { w.Rate = 0 },
		func(w *Workload) { w.Duration = 0 },
		func(w *Workload) { w.OwnMax = 0 },
		func(w *Workload) { w.Rate, w.Duration = 1e6, time.Hour },
	}
	for i, f := range bad {
		w := testWorkload()
		f(&w)
		if w.Validate() == nil {
			t.Errorf("bad workload %d accepted", i)
		}
	}
	if err := testWorkload().Validate(); err != nil {
		t.Errorf("good workload refused: %v", err)
	}
}
