package main

import "testing"

func TestTopField(t *testing.T) {
	changes := []byte(`{"type":"changes","seq":12,"opId":"abc","opType":"quality.add","changes":[{"kind":"group","id":"g1","value":{"type":"nested","opId":"no","s":"a \"quoted\" } ]"}}]}`)
	tests := []struct {
		frame []byte
		key   string
		want  string
	}{
		{changes, "type", `"changes"`},
		{changes, "seq", `12`},
		{changes, "opId", `"abc"`},
		{changes, "changes", `[{"kind":"group","id":"g1","value":{"type":"nested","opId":"no","s":"a \"quoted\" } ]"}}]`},
		{changes, "kind", ``}, // nested keys are not top-level
		{[]byte(` { "a" : [1,2,{"b":"}"}] , "id" : "x\\" } `), "id", `"x\\"`},
		{[]byte(`{"push":{"channel":"m:1","pub":{"data":{"opId":"z"},"offset":3}}}`), "push", `{"channel":"m:1","pub":{"data":{"opId":"z"},"offset":3}}`},
		{[]byte(`{"a":true,"b":null,"c":-1.5e3}`), "c", `-1.5e3`},
		{[]byte(`{"a":true,"b":null}`), "b", `null`},
		{[]byte(`[1,2]`), "a", ``},
		{[]byte(`{"a":"unclosed`), "a", ``},
		{[]byte(`{"a":{"b":1}`), "z", ``},
		{[]byte(``), "a", ``},
	}
	for _, tt := range tests {
		if got := string(topField(tt.frame, tt.key)); got != tt.want {
			t.Errorf("topField(%s, %q) = %q, want %q", tt.frame, tt.key, got, tt.want)
		}
	}
	if got := string(topString(changes, "opId")); got != "abc" {
		t.Errorf("topString opId = %q", got)
	}
	if got := topString([]byte(`{"id":"a\"b"}`), "id"); got != nil {
		t.Errorf("escaped string must not be read as an id: %q", got)
	}
	if n, ok := topUint(changes, "seq"); !ok || n != 12 {
		t.Errorf("topUint seq = %d %v", n, ok)
	}
	if _, ok := topUint(changes, "type"); ok {
		t.Error("a string is not a uint")
	}
}

func TestOpIDRoundTrip(t *testing.T) {
	cfg := &config{wl: testWorkload()}
	r := newRunner(cfg, &target{kind: targetBare}, nil)
	for _, i := range []int{0, 1, len(r.ops) / 2, len(r.ops) - 1} {
		id := r.opID(i)
		if len(id) != 36 {
			t.Fatalf("op id %q is not UUID-shaped", id)
		}
		if got := r.opIndex([]byte(id)); got != i {
			t.Errorf("opIndex(opID(%d)) = %d", i, got)
		}
	}
	for _, bad := range []string{"", "x", r.opID(0)[:35] + "g", "00000000-0000-4000-8000-000000000000", r.prefix + "ffffffffffff"} {
		if got := r.opIndex([]byte(bad)); got != -1 {
			t.Errorf("opIndex(%q) = %d, want -1", bad, got)
		}
	}
	if q := r.qualityID(2, 17, 3); len(q) != 36 || q == r.qualityID(2, 17, 4) || q == r.qualityID(2, 18, 3) {
		t.Errorf("quality ids not unique UUIDs: %q", q)
	}
}
