package main

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// Workload is what the generator does, independent of the target: M
// meetings of N participants (in groups of GroupSize) plus a projector and
// two facilitators each; participants edit their group's lists at Rate ops
// per second in total (Poisson arrivals, random participant) for Duration;
// every StepEvery, the facilitators of every meeting change the step at the
// same moment. Everything random comes from Seed, so two runs with the same
// Workload send the same ops in the same order at the same offsets.
type Workload struct {
	Meetings     int
	Participants int // per meeting
	GroupSize    int
	Rate         float64 // participant ops per second, all meetings together
	Duration     time.Duration
	StepEvery    time.Duration // 0: no step change
	Seed         uint64
	// OwnMax is how many qualities a participant keeps at most (it then
	// edits or removes its own): it bounds the lists, hence the frame sizes.
	OwnMax int
}

// Edit kinds a participant sends.
const (
	editAdd uint8 = iota
	editEdit
	editRemove
)

// binomeCount is how many binomes (lists per group) the 2026 template has.
const binomeCount = 6

// Intent is one participant edit of the plan.
type Intent struct {
	At          time.Duration // offset from the start of the measured phase
	Meeting     int32
	Participant int32
	Kind        uint8  // editAdd, editEdit, editRemove
	Binome      uint8  // index into the template's binomes
	Serial      uint32 // the participant's quality this edit is about (its n-th added)
	Text        string // new text (add and edit)
}

// Validate says whether the workload can run.
func (w Workload) Validate() error {
	switch {
	case w.Meetings < 1:
		return fmt.Errorf("meetings must be at least 1")
	case w.Participants < 1:
		return fmt.Errorf("participants must be at least 1")
	case w.GroupSize < 2:
		return fmt.Errorf("group size must be at least 2")
	case w.Rate <= 0:
		return fmt.Errorf("rate must be positive")
	case w.Duration <= 0:
		return fmt.Errorf("duration must be positive")
	case w.OwnMax < 1:
		return fmt.Errorf("own-max must be at least 1")
	case w.Rate*w.Duration.Seconds() > 50_000_000:
		return fmt.Errorf("rate × duration is over 50 million ops: lower one")
	}
	return nil
}

// Connections is how many WebSockets the workload holds.
func (w Workload) Connections() int { return w.Meetings * (w.Participants + 3) }

// Waves is the offsets of the step changes.
func (w Workload) Waves() []time.Duration {
	var out []time.Duration
	if w.StepEvery <= 0 {
		return out
	}
	for t := w.StepEvery; t < w.Duration; t += w.StepEvery {
		out = append(out, t)
	}
	return out
}

// ownQuality is one quality a participant added and still has.
type ownQuality struct {
	serial uint32
	binome uint8
}

// Plan is the ordered list of participant edits. It simulates each
// participant's own qualities so that an edit or a removal always names a
// quality that participant added (and that was not removed), as a real
// phone would.
func (w Workload) Plan() []Intent {
	rng := rand.New(rand.NewPCG(w.Seed, w.Seed^0x9e3779b97f4a7c15))
	n := int(w.Rate*w.Duration.Seconds()) + 16
	plan := make([]Intent, 0, n)
	total := w.Meetings * w.Participants
	own := make([][]ownQuality, total)
	serials := make([]uint32, total)
	mean := float64(time.Second) / w.Rate
	at := time.Duration(0)
	for {
		at += time.Duration(rng.ExpFloat64() * mean)
		if at >= w.Duration {
			break
		}
		who := rng.IntN(total)
		in := Intent{At: at, Meeting: int32(who / w.Participants), Participant: int32(who % w.Participants)}
		mine := own[who]
		r := rng.IntN(100)
		switch {
		case len(mine) == 0 || (len(mine) < w.OwnMax && r < 50):
			in.Kind = editAdd
			in.Binome = uint8(rng.IntN(binomeCount))
			serials[who]++
			in.Serial = serials[who]
			own[who] = append(mine, ownQuality{serial: in.Serial, binome: in.Binome})
		case r < 80:
			q := mine[rng.IntN(len(mine))]
			in.Kind, in.Binome, in.Serial = editEdit, q.binome, q.serial
		default:
			k := rng.IntN(len(mine))
			q := mine[k]
			in.Kind, in.Binome, in.Serial = editRemove, q.binome, q.serial
			own[who] = append(mine[:k], mine[k+1:]...)
		}
		if in.Kind != editRemove {
			in.Text = qualityText(rng)
		}
		plan = append(plan, in)
	}
	return plan
}

// qualityText is a quality of realistic length (20 to 90 bytes, accented).
func qualityText(rng *rand.Rand) string {
	qualityWords := [...]string{
		"écoute", "disponibilité", "rigueur", "expérience", "militante", "locale",
		"animation", "de", "réunions", "sens", "du", "collectif", "organisation",
		"communication", "réseaux", "sociaux", "terrain", "formation", "patience",
		"bienveillance", "connaissance", "du", "département", "logistique",
	}
	n := 3 + rng.IntN(6)
	b := make([]byte, 0, 80)
	for i := 0; i < n; i++ {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, qualityWords[rng.IntN(len(qualityWords))]...)
	}
	return string(b)
}
