package sync

import (
	"encoding/json"
	"reflect"
	"testing"
)

// appendTransition must say exactly what json.Marshal of the transition
// struct says (the encoding the client was tested against).
func TestAppendTransitionMatchesJSON(t *testing.T) {
	j := "journal \"quoted\" <x>"
	start := version{querySet: 1, identity: 0, ts: 0}
	end := version{querySet: 2, identity: 1, ts: 1764690000123456789}
	cases := []struct {
		name string
		mods []queryModification
	}{
		{"empty", []queryModification{}},
		{"updated", []queryModification{{Type: "QueryUpdated", QueryID: 3, Value: json.RawMessage(`{"a":[1,2,"<b>"],"s":"é\u2028"}`)}}},
		{"null value", []queryModification{{Type: "QueryUpdated", QueryID: 0}}},
		{"journal", []queryModification{{Type: "QueryUpdated", QueryID: 1, Value: json.RawMessage(`7`), Journal: &j}}},
		{"log lines", []queryModification{{Type: "QueryUpdated", QueryID: 1, Value: json.RawMessage(`true`), LogLines: []string{"[LOG] hi"}}}},
		{"failed and removed", []queryModification{
			{Type: "QueryRemoved", QueryID: 9},
			{Type: "QueryFailed", QueryID: 2, ErrorMessage: "nope", ErrorData: map[string]any{"code": "NOT_FOUND"}},
			{Type: "QueryUpdated", QueryID: 4, Value: json.RawMessage(`"x"`)},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want, err := json.Marshal(transition{Type: "Transition", StartVersion: start.wire(), EndVersion: end.wire(), Modifications: tc.mods})
			if err != nil {
				t.Fatal(err)
			}
			got, err := appendTransition([]byte("garbage"), start, end, tc.mods)
			if err != nil {
				t.Fatal(err)
			}
			got = got[len("garbage"):]
			var a, b any
			if err := json.Unmarshal(got, &a); err != nil {
				t.Fatalf("not JSON: %v\n%s", err, got)
			}
			if err := json.Unmarshal(want, &b); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("got  %s\nwant %s", got, want)
			}
		})
	}
}
