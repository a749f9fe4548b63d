// Package strictjson decodes one JSON value strictly: a field the target
// does not have is refused, and so is anything but white space after the
// value. The meeting's ops and the hub's frames are decoded this way.
//
// encoding/json does this only through a Decoder, and a new Decoder costs
// two allocations and a buffer at least 512 bytes long: at saturation a
// quarter of the bytes the server allocated were those, three per op (the
// frame, then the payload twice). Decode keeps its decoders in a pool and
// feeds each a stream of inputs one at a time, as a Decoder reads a stream
// of values; a decoder goes back to the pool only after a value decoded
// cleanly, so a refused input never leaves state behind for the next.
//
// An input is first decoded by github.com/go-json-experiment/json (the
// prototype of encoding/json/v2, by encoding/json's maintainers) with the
// options that give encoding/json's semantics, unknown members refused:
// about 2.5 times as fast on an op frame, with no allocation. Only an input
// it refuses goes to encoding/json, whose answer stands: whatever
// encoding/json accepted is accepted with the same value (the logged ops
// replay as they were decoded), and a refusal gives encoding/json's error
// (its *json.UnmarshalTypeError names the refused field). The tests hold
// Decode to encoding/json on every input, fuzzed.
package strictjson

import (
	"encoding/json"
	"errors"
	"io"
	"sync"

	jsonv2 "github.com/go-json-experiment/json"
	jsonv1 "github.com/go-json-experiment/json/v1"
)

// fast is encoding/json's semantics on the v2 engine, unknown members
// refused as json.Decoder.DisallowUnknownFields does.
var fast = jsonv2.JoinOptions(jsonv1.DefaultOptionsV1(), jsonv2.RejectUnknownMembers(true))

// ErrTrailing is the error of an input with more than white space after
// its value.
var ErrTrailing = errors.New("trailing data after the JSON value")

// Decode decodes the one JSON value of data into v, as json.Unmarshal
// does, but refuses unknown object fields (as
// json.Decoder.DisallowUnknownFields) and trailing data (ErrTrailing). An
// input with no value at all gives io.EOF or io.ErrUnexpectedEOF, as a
// Decoder does. Safe for concurrent use; data is not kept.
func Decode(data []byte, v any) error {
	if jsonv2.Unmarshal(data, v, fast) == nil {
		return nil
	}
	// What the v2 engine refused, encoding/json decides. It decodes over
	// what the refused attempt wrote, which only ever set members present
	// in data: those encoding/json sets again.
	return decodeV1(data, v)
}

// decodeV1 is Decode on encoding/json alone, through a pooled Decoder.
func decodeV1(data []byte, v any) error {
	d := pool.Get().(*decoder)
	start := d.src.reset(data)
	err := d.dec.Decode(v)
	d.src.reset(nil) // data is not kept
	if err != nil {
		return err // d is dropped: after an error its state is not known
	}
	// InputOffset counts from the decoder's first input: the value ends
	// end bytes into this one.
	end := d.dec.InputOffset() - start
	if end < 0 || end > int64(len(data)) || !space(data[end:]) {
		return ErrTrailing // dropped too: what it buffered is not white space
	}
	// Whatever of data the decoder buffered past the value is white space:
	// it skips it before the next input's value.
	pool.Put(d)
	return nil
}

var pool = sync.Pool{New: func() any {
	d := &decoder{}
	d.dec = json.NewDecoder(&d.src)
	d.dec.DisallowUnknownFields()
	return d
}}

type decoder struct {
	src source
	dec *json.Decoder
}

// source is the reader under a pooled decoder: the current input, and how
// many bytes it has handed the decoder since the decoder was made.
type source struct {
	data  []byte
	given int64
}

// reset makes data the rest of the stream (dropping what was not read of
// the previous input) and returns the stream offset it starts at.
func (s *source) reset(data []byte) int64 {
	s.data = data
	return s.given
}

func (s *source) Read(p []byte) (int, error) {
	if len(s.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p, s.data)
	s.data = s.data[n:]
	s.given += int64(n)
	return n, nil
}

// space tells whether b is only JSON white space.
func space(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}
