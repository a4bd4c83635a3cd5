package fn

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"

	"github.com/opencom-go/opencom/sqlstore"
)

// EncodeTS renders a commit timestamp as the protocol does: u64 little
// endian, standard base64 with padding.
func EncodeTS(ts int64) string {
	return base64.StdEncoding.EncodeToString(binary.LittleEndian.AppendUint64(nil, uint64(ts)))
}

// AppendTS appends EncodeTS(ts) to b.
func AppendTS(b []byte, ts int64) []byte {
	var raw [8]byte
	binary.LittleEndian.PutUint64(raw[:], uint64(ts))
	return base64.StdEncoding.AppendEncode(b, raw[:])
}

// DecodeTS parses EncodeTS's output.
func DecodeTS(s string) (int64, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != 8 {
		return 0, fmt.Errorf("invalid timestamp %q", s)
	}
	return int64(binary.LittleEndian.Uint64(b)), nil
}

// DecodeValue turns Convex JSON (already parsed by encoding/json) into Go
// values: {"$integer"} -> int64, {"$float"} -> float64, {"$bytes"} -> []byte.
func DecodeValue(v any) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 1 {
			for k, inner := range x {
				s, _ := inner.(string)
				switch k {
				case "$integer":
					b, err := base64.StdEncoding.DecodeString(s)
					if err != nil || len(b) != 8 {
						return nil, fmt.Errorf("malformed $integer")
					}
					return int64(binary.LittleEndian.Uint64(b)), nil
				case "$float":
					b, err := base64.StdEncoding.DecodeString(s)
					if err != nil || len(b) != 8 {
						return nil, fmt.Errorf("malformed $float")
					}
					return math.Float64frombits(binary.LittleEndian.Uint64(b)), nil
				case "$bytes":
					b, err := base64.StdEncoding.DecodeString(s)
					if err != nil {
						return nil, fmt.Errorf("malformed $bytes")
					}
					return b, nil
				}
			}
		}
		out := make(map[string]any, len(x))
		for k, inner := range x {
			if len(k) > 0 && k[0] == '$' {
				return nil, fmt.Errorf("field name %q may not start with '$'", k)
			}
			dv, err := DecodeValue(inner)
			if err != nil {
				return nil, err
			}
			out[k] = dv
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, inner := range x {
			dv, err := DecodeValue(inner)
			if err != nil {
				return nil, err
			}
			out[i] = dv
		}
		return out, nil
	}
	return v, nil
}

// EncodeValue serialises a function result as Convex JSON. Numbers are
// plain JSON numbers (Opencom's fields are v.number()); int64 values too,
// since JS clients expect numbers. NaN and infinities, which JSON cannot
// carry, become {"$float"}.
func EncodeValue(v any) (json.RawMessage, error) {
	b, err := json.Marshal(v)
	if err == nil {
		return b, nil
	}
	// Slow path: only reached for NaN/Inf inside the value.
	norm, nerr := normalize(v)
	if nerr != nil {
		return nil, err
	}
	return json.Marshal(norm)
}

type floatSpecial float64

func (f floatSpecial) MarshalJSON() ([]byte, error) {
	b := binary.LittleEndian.AppendUint64(nil, math.Float64bits(float64(f)))
	return json.Marshal(map[string]string{"$float": base64.StdEncoding.EncodeToString(b)})
}

func normalize(v any) (any, error) {
	// Round-trip through a tolerant encoder: replace non-finite floats.
	switch x := v.(type) {
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return floatSpecial(x), nil
		}
		return x, nil
	case sqlstore.Doc:
		return normalize(map[string]any(x))
	case []sqlstore.Doc:
		out := make([]any, len(x))
		for i, d := range x {
			out[i] = map[string]any(d)
		}
		return normalize(out)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, inner := range x {
			n, err := normalize(inner)
			if err != nil {
				return nil, err
			}
			out[k] = n
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, inner := range x {
			n, err := normalize(inner)
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	}
	// Structs and typed maps: go through JSON with NaN allowed nowhere;
	// give up and let the caller report the original error.
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		return nil, err
	}
	var g any
	if err := json.Unmarshal(buf.Bytes(), &g); err != nil {
		return nil, err
	}
	return g, nil
}
