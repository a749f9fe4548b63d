package meeting

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"unicode/utf8"
)

// FuzzParseTemplate feeds arbitrary bytes to the template decoder and, as
// the payload of template.load, to a meeting still before step I: nothing
// panics; an accepted template is clean (valid UTF-8, 1 to maxBinomes
// unique keys, pairs of 2) and parses again to itself; a refused one is a
// CodeInvalid *Error with a message and leaves the meeting as it was.
func FuzzParseTemplate(f *testing.F) {
	def, err := json.Marshal(Default2026())
	if err != nil {
		f.Fatal(err)
	}
	m := newMeeting(f)
	snap := m.s.Encode()
	for _, s := range [][]byte{
		def,
		[]byte(`{"id":"t","title":"T","certifiedBefore":"2026-01-01","groupSizeMax":10,"namesMaxNoConsen":4,"binomes":[{"key":"a","title":"A"}]}`),
		[]byte(`{"id":"t","title":"T","certifiedBefore":"2026-01-01","groupSizeMax":10,"namesMaxNoConsen":4,"binomes":[{"key":"a","title":"A"},{"key":"a","title":"B"}]}`),
		[]byte(`{"id":"t","title":"T\u0007","certifiedBefore":"2026-02-30","groupSizeMax":-1,"binomes":[]}`),
		[]byte("{\"id\":\"t\",\"title\":\"\xff\",\"binomes\":[{\"key\":\"a\"}]}"),
		[]byte(`{"id":"t","unknown":1}`),
		[]byte(`{"id":"t","groupSizeMax":1e400}`),
		[]byte(`null`),
		[]byte(`{"id":"t"} {}`),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tpl, err := ParseTemplate(data)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeInvalid || e.MessageFor("fr") == "" || e.MessageFor("en") == "" {
				t.Fatalf("ParseTemplate error %v is not an invalid *Error with messages", err)
			}
		} else {
			if len(tpl.Binomes) == 0 || len(tpl.Binomes) > maxBinomes || tpl.PairSize != 2 {
				t.Fatalf("accepted template out of bounds: %d binomes, pairs of %d", len(tpl.Binomes), tpl.PairSize)
			}
			keys := map[string]bool{}
			for _, b := range tpl.Binomes {
				if keys[b.Key] || !utf8.ValidString(b.Title) || !utf8.ValidString(b.Mission) {
					t.Fatalf("accepted binome %+v", b)
				}
				keys[b.Key] = true
			}
			again, err := json.Marshal(tpl)
			if err != nil {
				t.Fatal(err)
			}
			tpl2, err := ParseTemplate(again)
			if err != nil || !reflect.DeepEqual(tpl, tpl2) {
				t.Fatalf("an accepted template does not parse again to itself: %v", err)
			}
		}

		// The same bytes loaded into a meeting.
		s, err := Decode(snap)
		if err != nil {
			t.Fatal(err)
		}
		payload, _ := json.Marshal(map[string]json.RawMessage{"template": json.RawMessage("null")})
		if json.Valid(data) {
			payload, _ = json.Marshal(map[string]json.RawMessage{"template": data})
		}
		op := &Op{ID: "fz", Seq: s.Seq + 1, Type: OpTemplateLoad, Actor: fac, Payload: payload}
		_, applyErr := Apply(s, op)
		if applyErr == nil {
			if err != nil {
				// The op decoder and ParseTemplate must agree on what is a template.
				t.Fatalf("template.load accepted what ParseTemplate refused (%v)", err)
			}
			return
		}
		prev, _ := Decode(snap)
		prev.Seq = op.Seq
		if !bytes.Equal(prev.Encode(), s.Encode()) {
			t.Fatal("a refused template.load changed the meeting")
		}
	})
}
