package main

import (
	"encoding/json"
	"reflect"
	"testing"
)

// fastTransition must agree with encoding/json on what it accepts, and
// leave everything else to it.
func TestFastTransition(t *testing.T) {
	cases := []struct {
		name, frame string
		fast        bool
	}{
		{"count", `{"type":"Transition","startVersion":{"querySet":1,"identity":0,"ts":"AAAAAAAAAAA="},"endVersion":{"querySet":1,"identity":0,"ts":"AQAAAAAAAAA="},"modifications":[{"type":"QueryUpdated","queryId":7,"value":42,"logLines":[],"journal":null}]}`, true},
		{"negative float", `{"type":"Transition","startVersion":{},"endVersion":{},"modifications":[{"type":"QueryUpdated","queryId":0,"value":-1.5,"logLines":[],"journal":null}]}`, true},
		{"string value", `{"type":"Transition","startVersion":{},"endVersion":{},"modifications":[{"type":"QueryUpdated","queryId":0,"value":"a,b","logLines":[],"journal":null}]}`, false},
		{"two updates", `{"type":"Transition","startVersion":{},"endVersion":{},"modifications":[{"type":"QueryUpdated","queryId":0,"value":1,"logLines":[],"journal":null},{"type":"QueryUpdated","queryId":1,"value":2,"logLines":[],"journal":null}]}`, false},
		{"failed", `{"type":"Transition","startVersion":{},"endVersion":{},"modifications":[{"type":"QueryFailed","queryId":0,"errorMessage":"x","logLines":[],"journal":null}]}`, false},
		{"empty", `{"type":"Transition","startVersion":{},"endVersion":{},"modifications":[]}`, true},
		{"removed", `{"type":"Transition","startVersion":{},"endVersion":{},"modifications":[{"type":"QueryRemoved","queryId":3}]}`, false},
		{"response", `{"type":"MutationResponse","requestId":1,"success":true,"result":null,"ts":"AQAAAAAAAAA=","logLines":[]}`, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, ok := fastTransition([]byte(tc.frame))
			if ok != tc.fast {
				t.Fatalf("fast path taken = %v, want %v", ok, tc.fast)
			}
			if !ok {
				return
			}
			var want msg
			if err := json.Unmarshal([]byte(tc.frame), &want); err != nil {
				t.Fatal(err)
			}
			if len(want.Modifications) > 0 {
				want.Modifications[0].Value = json.RawMessage(string(want.Modifications[0].Value))
			} else {
				want.Modifications = nil
			}
			if !reflect.DeepEqual(*m, want) {
				t.Fatalf("fast %+v, json %+v", *m, want)
			}
		})
	}
}

func TestFastMutationResponse(t *testing.T) {
	cases := []struct {
		name, frame string
		fast        bool
	}{
		{"success", `{"type":"MutationResponse","requestId":12,"success":true,"result":"abc","ts":"AQAAAAAAAAA=","logLines":[]}`, true},
		{"failure", `{"type":"MutationResponse","requestId":12,"success":false,"result":"nope","ts":null,"logLines":[],"errorData":{"code":"NOT_FOUND"}}`, false},
		{"transition", `{"type":"Transition","startVersion":{},"endVersion":{},"modifications":[]}`, false},
		{"bad id", `{"type":"MutationResponse","requestId":"x","success":true,"result":null}`, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, ok := fastMutationResponse([]byte(tc.frame))
			if ok != tc.fast {
				t.Fatalf("fast path taken = %v, want %v", ok, tc.fast)
			}
			if !ok {
				return
			}
			var want msg
			if err := json.Unmarshal([]byte(tc.frame), &want); err != nil {
				t.Fatal(err)
			}
			if m.Type != want.Type || m.RequestID != want.RequestID || m.Success != want.Success {
				t.Fatalf("fast %+v, json %+v", *m, want)
			}
		})
	}
}
