package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

// reference is what Decode must agree with: a new Decoder for each input,
// as the meeting and the hub did before.
func reference(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return ErrTrailing
	}
	return nil
}

// target has a field of each kind the meeting's ops, snapshots and the
// hub's frames decode into.
type target struct {
	Type    string           `json:"type"`
	ID      string           `json:"id"`
	N       int              `json:"n"`
	Tags    []string         `json:"tags"`
	Inner   *struct{ A int } `json:"inner"`
	Payload json.RawMessage  `json:"payload"`

	Flag  bool                       `json:"flag"`
	Seq   uint64                     `json:"seq"`
	Step  step                       `json:"step"`
	At    time.Time                  `json:"at"`
	Until *time.Time                 `json:"until"`
	Pair  [2]string                  `json:"pair"`
	Names map[string]string          `json:"names"`
	Group map[string]*member         `json:"group"`
	List  []member                   `json:"list"`
	Raw   map[string]json.RawMessage `json:"raw"`
	Any   any                        `json:"any"`
}

type step string

type member struct {
	ID      string `json:"id"`
	Present bool   `json:"present"`
	Rank    int    `json:"rank,omitempty"`
}

var inputs = []string{
	`{"type":"op","id":"x","payload":{"a":[1,2,{"b":null}]}}`,
	`  {"n":3}  `,
	"\n{\"tags\":[\"a\",\"é\"]}\r\n\t",
	`{"inner":{"A":2}}`,
	`{}`,
	`null`,
	`{"type":"op"}}`,       // trailing brace: More() said there was nothing after it
	`{"type":"op"} ]`,      // likewise
	`{"type":"op"}{"n":1}`, // two values
	`{"type":"op"} x`,      // garbage after
	`{"type":"op","extra":1}`,
	`{"inner":{"A":2,"B":3}}`,
	`{"n":"three"}`, // wrong type
	`{"type":"op"`,  // cut
	``,              // nothing
	`   `,           // white space only
	`[1,2]`,         // not an object
	`{"payload":{"deep":` + strings.Repeat(`[`, 40) + strings.Repeat(`]`, 40) + `}}`,
	`{"id":"` + strings.Repeat("z", 3000) + `"}`,      // longer than a decoder's first buffer
	`{"n":1}` + strings.Repeat(" ", 5000),             // white space past the buffer
	`{"n":1}` + strings.Repeat(" ", 5000) + `x`,       // garbage past the buffer
	`{"n":2}` + strings.Repeat("\n", 700) + `{"n":3}`, // a second value past the buffer
	`{"type":"a\u00e9\"b"}`,
	`{"n":1e2}`,
	`{"n":12`,
	`12`,
	// The other kinds, well formed and not.
	`{"flag":true,"seq":18446744073709551615,"step":"IV"}`,
	`{"seq":18446744073709551616}`, // overflows
	`{"seq":-1}`,
	`{"n":1.5}`,
	`{"n":9223372036854775808}`,
	`{"flag":"true"}`,
	`{"flag":null,"n":null,"tags":null,"inner":null,"until":null}`,
	`{"at":"2026-06-27T18:42:10.123Z","until":"2026-06-27T20:00:00+02:00"}`,
	`{"at":"2026-06-27"}`,
	`{"at":"2026-06-27T18:42:10Z ","until":"not a time"}`,
	`{"at":null}`,
	`{"pair":["a","b"]}`,
	`{"pair":["a"]}`,
	`{"pair":["a","b","c"]}`,
	`{"pair":"ab"}`,
	`{"names":{"a":"x","b":"y"},"group":{"m1":{"id":"m1","present":true},"m2":null}}`,
	`{"group":{"m1":{"id":"m1","absent":true}}}`, // unknown field, nested
	`{"list":[{"id":"a"},{"id":"b","rank":2}]}`,
	`{"list":[{"id":"a","rank":"2"}]}`,
	`{"raw":{"x":{"deep":[1,"two",null]},"y":"z"},"any":{"k":[1,2.5,"s",true,null]}}`,
	`{"any":12345678901234567890}`,
	`{"TYPE":"upper","Id":"mixed"}`, // encoding/json matches names whatever their case
	`{"type":"a","type":"b"}`,       // a repeated name: the last wins
	`{"n":1,"N":2}`,
	`{"inner":{"A":1},"inner":{"a":3}}`,
	`{"tags":["a","b"],"tags":["c"]}`,
	`{"names":{"a":"1"},"names":{"b":"2"}}`,
	`{"group":{"m":{"id":"x"}},"group":{"m":{"present":true}}}`,
	`{"list":[{"id":"a","rank":1}],"list":[{"present":true}]}`,
	`{"pair":["a","b"],"pair":["c"]}`,
	`{"at":"2026-06-27T18:42:10Z","at":null}`,
	`{"until":"2026-06-27T18:42:10Z","until":null}`,
	`{"type":"\u00e9\ud83d\ude00\n\t\"\\\/"}`,
	`{"type":"\ud800"}`, // a lone surrogate
	"{\"type\":\"a\u0000b\"}",
	`{"names":{"":"empty key"}}`,
	`{"tags":["a",1]}`,
	`{"inner":{"A":1,"a":2}}`,
	`{"step":5}`,
	`{"n":-0}`,
	`{"n":1E+2}`,
	`{"id":"x",}`,
	`{,}`,
	`{"id":'x'}`,
	`[]`,
	`"just a string"`,
	`true`,
}

// check decodes in with Decode and reference and fails unless both
// accept it with the same value or both refuse it.
func check(t *testing.T, in string) {
	t.Helper()
	var got, want target
	gerr := Decode([]byte(in), &got)
	werr := reference([]byte(in), &want)
	if (gerr == nil) != (werr == nil) {
		t.Fatalf("%.80q: Decode err %v, a new Decoder's %v", in, gerr, werr)
	}
	if errors.Is(werr, ErrTrailing) != errors.Is(gerr, ErrTrailing) {
		t.Fatalf("%.80q: Decode err %v, a new Decoder's %v", in, gerr, werr)
	}
	if werr == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("%.80q: Decode gave %+v, a new Decoder %+v", in, got, want)
	}
}

func TestDecodeAgreesWithANewDecoder(t *testing.T) {
	for _, in := range inputs {
		check(t, in)
	}
}

// The decoders are reused: every input, after any other, decodes as it
// would alone. Run in one goroutine, each Decode gets back the decoder the
// previous one put in the pool.
func TestDecodeAfterAnyOtherInput(t *testing.T) {
	for _, first := range inputs {
		for _, second := range inputs {
			check(t, first)
			check(t, second)
		}
	}
}

// Random edits of the inputs (bytes cut, doubled, changed), decoded one
// after the other.
func TestDecodeMutatedInputsInSequence(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 2026))
	alphabet := []byte(`{}[]":, \n0123456789abcnulxyz\`)
	for range 20000 {
		in := []byte(inputs[r.IntN(len(inputs))])
		for range 1 + r.IntN(3) {
			if len(in) == 0 {
				break
			}
			i := r.IntN(len(in))
			switch r.IntN(3) {
			case 0:
				in = append(in[:i:i], in[i+1:]...)
			case 1:
				in = append(in[:i+1:i+1], in[i:]...)
			default:
				in[i] = alphabet[r.IntN(len(alphabet))]
			}
		}
		check(t, string(in))
	}
}

func FuzzDecode(f *testing.F) {
	for _, in := range inputs {
		f.Add(in, inputs[0])
	}
	f.Fuzz(func(t *testing.T, first, second string) {
		check(t, first)
		check(t, second)
	})
}

// TestDecodeMakesNoDecoder pins what Decode is for: decoding a small frame
// allocates no Decoder and no buffer (a new Decoder allocates at least
// three times, its buffer at least 512 bytes).
func TestDecodeMakesNoDecoder(t *testing.T) {
	data := []byte(`{"n":3,"inner":{"A":1}}`)
	var v struct {
		N     int             `json:"n"`
		Inner struct{ A int } `json:"inner"`
	}
	allocs := testing.AllocsPerRun(1000, func() {
		if err := Decode(data, &v); err != nil {
			t.Fatal(err)
		}
	})
	ref := testing.AllocsPerRun(1000, func() {
		if err := reference(data, &v); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("Decode: %.1f allocations; a new Decoder: %.0f", allocs, ref)
	if raceEnabled {
		// The pool drops a quarter of its decoders: a new one is made for
		// about one call in four.
		if allocs > ref/2 {
			t.Errorf("Decode allocated %.1f times per call under -race, want at most half a new Decoder's %.0f", allocs, ref)
		}
	} else if allocs > 0 {
		t.Errorf("Decode allocated %.1f times per call, want 0 (a new Decoder: %.0f)", allocs, ref)
	}
}

func BenchmarkDecode(b *testing.B) {
	data := []byte(`{"type":"op","id":"6f1c2a9e-0d4b-4a57-9a55-0b8e6c1f2d3a","op":"quality.add","payload":{"groupId":"g3","binome":"communication","quality":{"id":"q-17","text":"sait écouter et reformuler"}}}`)
	var v struct {
		Type    string          `json:"type"`
		ID      string          `json:"id"`
		Op      string          `json:"op"`
		Payload json.RawMessage `json:"payload"`
	}
	b.Run("pooled", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := Decode(data, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("new-decoder", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := reference(data, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
}
