package meeting

import (
	"strings"
	"testing"
)

func TestDecodeOp(t *testing.T) {
	good := `{"id":"0b7c6a9e-1f2d-4c3b-8a9e-123456789abc","type":"quality.add","at":"2026-06-27T18:00:00Z","actor":{"role":"participant","memberId":"a1"},"payload":{"groupId":"g1"}}`
	op, err := DecodeOp([]byte(good))
	if err != nil || op.Type != OpQualityAdd || op.Actor.MemberID != "a1" || string(op.Payload) != `{"groupId":"g1"}` {
		t.Fatalf("%+v %v", op, err)
	}
	bad := map[string]string{
		"unknown field":  `{"id":"a","type":"x","extra":1}`,
		"trailing value": `{"id":"a","type":"x"} {"id":"b"}`,
		"trailing junk":  `{"id":"a","type":"x"} x`,
		"not json":       `{"id":`,
		"array":          `[1]`,
		"no id":          `{"type":"x"}`,
		"bad id":         `{"id":"a b","type":"x"}`,
		"long id":        `{"id":"` + strings.Repeat("a", 65) + `","type":"x"}`,
		"no type":        `{"id":"a"}`,
		"bad time":       `{"id":"a","type":"x","at":"yesterday"}`,
		"invalid utf8":   "{\"id\":\"a\",\"type\":\"x\xff\"}",
		"too large":      `{"id":"a","type":"x","payload":"` + strings.Repeat("x", maxOpBytes) + `"}`,
	}
	for name, raw := range bad {
		op, err := DecodeOp([]byte(raw))
		if err == nil {
			t.Errorf("%s: accepted %+v", name, op)
			continue
		}
		if e, ok := err.(*Error); !ok || e.Code != CodeInvalid {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestFieldValidators(t *testing.T) {
	type check struct {
		in string
		ok bool
	}
	run := func(name string, f func(v *string) *Error, cases []check) {
		for _, c := range cases {
			v := c.in
			if err := f(&v); (err == nil) != c.ok {
				t.Errorf("%s(%q): %v", name, c.in, err)
			}
		}
	}
	run("name", func(v *string) *Error { return cleanName("f", v, true) }, []check{
		{"Léa", true}, {" Léa ", true}, {"", false}, {"a\u200bb", false}, {"a\u202eb", false}, {"👩\u200d💻", true}, {"a\u2028b", false}, {"\u0085", false},
	})
	run("email", func(v *string) *Error { return cleanEmail("f", v) }, []check{
		{"", true}, {"a@b.fr", true}, {"a.b+c@d-e.org", true}, {"@b.fr", false}, {"a@", false}, {"a@b", false}, {"a@b.fr>", false},
		{strings.Repeat("a", 250) + "@b.fr", false},
	})
	run("phone", func(v *string) *Error { return cleanPhone("f", v) }, []check{
		{"", true}, {"06 12 34 56 78", true}, {"+33 (0)6.12.34.56.78", true}, {"06-12", true}, {"123", false}, {"06 12 34 ab", false},
	})
	run("url", func(v *string) *Error { return cleanURL("f", v) }, []check{
		{"", true}, {"https://meet.jit.si/boucle33", true}, {"https://", false}, {"http://x.fr", false}, {"https://x.fr/\"", false},
		{"https://x.fr/" + strings.Repeat("a", 500), false}, {"HTTPS://x.fr", false},
	})
	run("date", func(v *string) *Error { return cleanDate("f", v, true) }, []check{
		{"2026-04-12", true}, {"2026-4-12", false}, {"2026-02-29", false}, {"2028-02-29", true}, {"", false},
	})
	run("text", func(v *string) *Error { return cleanText("f", v, false) }, []check{
		{"a\nb", true}, {"a\r\nb", true}, {"a\tb", false}, {"a\x1bb", false}, {"", true},
	})
	run("id", func(v *string) *Error { return cleanID("f", v, false) }, []check{
		{"", true}, {"abc_DEF-09", true}, {"a.b", false}, {"é", false},
	})
	if validClock("7:00") || !validClock("07:00") || validClock("24:00") {
		t.Fatal("clock")
	}
	if validJoinCode("ABCDE") || validJoinCode("ABCDEf") || !validJoinCode("ABCDEF") {
		t.Fatal("join code")
	}
	if validHash(strings.Repeat("g", 64)) {
		t.Fatal("hash")
	}
	if truncate("abcdef", 3) != "abc" || truncate("ab", 3) != "ab" {
		t.Fatal("truncate")
	}
	// The text cleaner turns CRLF into LF.
	v := "a\r\nb"
	cleanText("f", &v, false)
	if v != "a\nb" {
		t.Fatalf("%q", v)
	}
	// Invalid UTF-8 inside a Go string (not from JSON) is refused too.
	bad := "a\xffb"
	if cleanName("f", &bad, true) == nil || cleanText("f", &bad, true) == nil {
		t.Fatal("invalid UTF-8 accepted")
	}
}

func TestPayloadDecoding(t *testing.T) {
	m := basic(t)
	// A null or absent payload is an empty one.
	for _, raw := range []string{"", "null", " {} "} {
		m.ok(OpGroupAdd, fac, []byte(raw))
	}
	// A payload over the bound is refused by Check; one just under it is
	// accepted, and its op (envelope included) decodes again from a log.
	big := func(n int) string {
		return `{"binome":"caisse","text":"` + strings.Repeat(" ", n) + `x"}`
	}
	m.no(CodeInvalid, OpBilanSet, fac, big(maxPayloadBytes))
	op := m.op(OpBilanSet, fac, big(maxPayloadBytes-40))
	if _, err := m.run(op); err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeOp(m.log[len(m.log)-1]); err != nil {
		t.Fatalf("a checked op does not decode from the log: %v", err)
	}
	// Errors name the field.
	_, err := m.do(OpGroupAdd, fac, `{"remote":"yes"}`)
	if err == nil || err.Field != "payload.remote" {
		t.Fatalf("field of a type error: %v", err)
	}
	_, err = m.do(OpGroupAdd, fac, `{"nope":1}`)
	if err == nil || err.Field != "payload" {
		t.Fatalf("field of an unknown field: %v", err)
	}
}
