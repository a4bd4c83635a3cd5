package sync

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/opencom-go/opencom/server/fn"
)

// clientMessage is the union of every message the client sends.
type clientMessage struct {
	Type string `json:"type"`

	// Connect
	SessionID            string  `json:"sessionId"`
	ConnectionCount      int     `json:"connectionCount"`
	LastCloseReason      *string `json:"lastCloseReason"`
	MaxObservedTimestamp string  `json:"maxObservedTimestamp"`
	ClientTs             float64 `json:"clientTs"`
	// Authenticate
	TokenType   string `json:"tokenType"`
	Value       string `json:"value"`
	BaseVersion *int   `json:"baseVersion"`
	// ModifyQuerySet
	NewVersion    int            `json:"newVersion"`
	Modifications []modification `json:"modifications"`
	// Mutation / Action
	RequestID *int64            `json:"requestId"`
	UdfPath   string            `json:"udfPath"`
	Args      []json.RawMessage `json:"args"`
	// Event
	EventType string `json:"eventType"`

	// readErr is set by the reader for a frame that is not a message.
	readErr error
}

type modification struct {
	Type    string            `json:"type"`
	QueryID *int              `json:"queryId"`
	UdfPath string            `json:"udfPath"`
	Args    []json.RawMessage `json:"args"`
	Journal *string           `json:"journal"`
}

// decodeArgs turns the protocol's one-element args array into the args map.
func decodeArgs(raw []json.RawMessage) (map[string]any, error) {
	if len(raw) == 0 {
		return map[string]any{}, nil
	}
	if len(raw) != 1 {
		return nil, fmt.Errorf("args must be a one-element array")
	}
	var v any
	if err := json.Unmarshal(raw[0], &v); err != nil {
		return nil, fmt.Errorf("args: %w", err)
	}
	dv, err := fn.DecodeValue(v)
	if err != nil {
		return nil, err
	}
	if dv == nil {
		return map[string]any{}, nil
	}
	m, ok := dv.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("args must be an object")
	}
	return m, nil
}

type stateVersion struct {
	QuerySet int    `json:"querySet"`
	Identity int    `json:"identity"`
	TS       string `json:"ts"`
}

type version struct {
	querySet, identity int
	ts                 int64
}

func (v version) wire() stateVersion {
	return stateVersion{QuerySet: v.querySet, Identity: v.identity, TS: fn.EncodeTS(v.ts)}
}

type queryModification struct {
	Type         string          `json:"type"`
	QueryID      int             `json:"queryId"`
	Value        json.RawMessage `json:"value,omitempty"`
	ErrorMessage string          `json:"errorMessage,omitempty"`
	ErrorData    any             `json:"errorData,omitempty"`
	LogLines     []string        `json:"logLines,omitempty"`
	Journal      *string         `json:"journal,omitempty"`
}

// MarshalJSON writes exactly the fields each modification type needs
// (logLines and journal are required on updates and failures, even empty).
func (m queryModification) MarshalJSON() ([]byte, error) {
	switch m.Type {
	case "QueryUpdated":
		return json.Marshal(struct {
			Type     string          `json:"type"`
			QueryID  int             `json:"queryId"`
			Value    json.RawMessage `json:"value"`
			LogLines []string        `json:"logLines"`
			Journal  *string         `json:"journal"`
		}{m.Type, m.QueryID, orNull(m.Value), nonNil(m.LogLines), m.Journal})
	case "QueryFailed":
		return json.Marshal(struct {
			Type         string   `json:"type"`
			QueryID      int      `json:"queryId"`
			ErrorMessage string   `json:"errorMessage"`
			ErrorData    any      `json:"errorData,omitempty"`
			LogLines     []string `json:"logLines"`
			Journal      *string  `json:"journal"`
		}{m.Type, m.QueryID, m.ErrorMessage, m.ErrorData, nonNil(m.LogLines), m.Journal})
	}
	return json.Marshal(struct {
		Type    string `json:"type"`
		QueryID int    `json:"queryId"`
	}{m.Type, m.QueryID})
}

func orNull(b json.RawMessage) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage("null")
	}
	return b
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// appendTransition appends the Transition from start to end to b. It
// writes what json.Marshal(transition{...}) would, without reflection and
// without re-validating query values, which come from our own encoder:
// with thousands of sockets watching one query this runs once per socket
// per commit.
func appendTransition(b []byte, start, end version, mods []queryModification) ([]byte, error) {
	b = append(b, `{"type":"Transition","startVersion":`...)
	b = appendVersion(b, start)
	b = append(b, `,"endVersion":`...)
	b = appendVersion(b, end)
	b = append(b, `,"modifications":[`...)
	for i, m := range mods {
		if i > 0 {
			b = append(b, ',')
		}
		if m.Type != "QueryUpdated" || len(m.LogLines) > 0 {
			mb, err := m.MarshalJSON()
			if err != nil {
				return nil, err
			}
			b = append(b, mb...)
			continue
		}
		b = append(b, `{"type":"QueryUpdated","queryId":`...)
		b = strconv.AppendInt(b, int64(m.QueryID), 10)
		b = append(b, `,"value":`...)
		b = append(b, orNull(m.Value)...)
		b = append(b, `,"logLines":[],"journal":`...)
		if m.Journal == nil {
			b = append(b, "null"...)
		} else {
			jb, err := json.Marshal(*m.Journal)
			if err != nil {
				return nil, err
			}
			b = append(b, jb...)
		}
		b = append(b, '}')
	}
	return append(b, "]}"...), nil
}

func appendVersion(b []byte, v version) []byte {
	b = append(b, `{"querySet":`...)
	b = strconv.AppendInt(b, int64(v.querySet), 10)
	b = append(b, `,"identity":`...)
	b = strconv.AppendInt(b, int64(v.identity), 10)
	b = append(b, `,"ts":"`...)
	b = fn.AppendTS(b, v.ts) // base64: no escaping needed
	return append(b, `"}`...)
}

type transition struct {
	Type          string              `json:"type"`
	StartVersion  stateVersion        `json:"startVersion"`
	EndVersion    stateVersion        `json:"endVersion"`
	Modifications []queryModification `json:"modifications"`
}

type mutationResponse struct {
	Type      string          `json:"type"`
	RequestID int64           `json:"requestId"`
	Success   bool            `json:"success"`
	Result    json.RawMessage `json:"result"`
	TS        *string         `json:"ts"`
	LogLines  []string        `json:"logLines"`
	ErrorData any             `json:"errorData,omitempty"`
}

type actionResponse struct {
	Type      string          `json:"type"`
	RequestID int64           `json:"requestId"`
	Success   bool            `json:"success"`
	Result    json.RawMessage `json:"result"`
	LogLines  []string        `json:"logLines"`
	ErrorData any             `json:"errorData,omitempty"`
}

type authError struct {
	Type                string `json:"type"`
	Error               string `json:"error"`
	BaseVersion         int    `json:"baseVersion"`
	AuthUpdateAttempted bool   `json:"authUpdateAttempted"`
}

type fatalError struct {
	Type  string `json:"type"`
	Error string `json:"error"`
}

type transitionChunk struct {
	Type         string `json:"type"`
	Chunk        string `json:"chunk"`
	PartNumber   int    `json:"partNumber"`
	TotalParts   int    `json:"totalParts"`
	TransitionID string `json:"transitionId"`
}

// splitUTF8 cuts s into parts of at most n bytes without splitting a rune.
func splitUTF8(s string, n int) []string {
	var parts []string
	for len(s) > n {
		cut := n
		for cut > 0 && !isRuneStart(s[cut]) {
			cut--
		}
		if cut == 0 {
			cut = n
		}
		parts = append(parts, s[:cut])
		s = s[cut:]
	}
	return append(parts, s)
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// chunksSupported reports whether the client version (from the URL) knows
// TransitionChunk (npm convex >= 1.28.0); unknown versions are assumed new.
func chunksSupported(clientVersion string) bool {
	parts := strings.Split(clientVersion, ".")
	if len(parts) < 2 {
		return true
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return true
	}
	return major > 1 || (major == 1 && minor >= 28)
}

func resultMessage(r fn.Result) (json.RawMessage, any) {
	if r.Err != nil {
		b, _ := json.Marshal(r.Err.Message)
		return b, r.Err.Data()
	}
	return orNull(r.Value), nil
}
