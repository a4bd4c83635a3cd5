package fn

import (
	"fmt"
	"sort"
	"strings"

	"github.com/opencom-go/opencom/sqlstore"
)

// Validator checks (and normalises) one argument value. path names the
// value in error messages ("args.paginationOpts.numItems").
type Validator interface {
	Check(path string, v any) (any, error)
	// Optional reports whether the field may be absent.
	Optional() bool
}

type vfunc struct {
	check    func(path string, v any) (any, error)
	optional bool
}

func (f vfunc) Check(p string, v any) (any, error) { return f.check(p, v) }
func (f vfunc) Optional() bool                     { return f.optional }

func invalid(path, want string, v any) error {
	return ErrInvalid("Invalid argument `%s`: expected %s, got %s", strings.TrimPrefix(path, "args."), want, describe(v))
}

func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		if len(x) > 40 {
			x = x[:40] + "…"
		}
		return fmt.Sprintf("string %q", x)
	case float64, int64, int:
		return fmt.Sprintf("number %v", x)
	case bool:
		return fmt.Sprintf("boolean %v", x)
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// V is the validator namespace, mirroring Convex's v.
var V validators

type validators struct{}

func (validators) String() Validator {
	return vfunc{check: func(p string, v any) (any, error) {
		if s, ok := v.(string); ok {
			return s, nil
		}
		return nil, invalid(p, "a string", v)
	}}
}

func (validators) Number() Validator {
	return vfunc{check: func(p string, v any) (any, error) {
		switch x := v.(type) {
		case float64:
			return x, nil
		case int64:
			return float64(x), nil
		case int:
			return float64(x), nil
		}
		return nil, invalid(p, "a number", v)
	}}
}

func (validators) Int64() Validator {
	return vfunc{check: func(p string, v any) (any, error) {
		switch x := v.(type) {
		case int64:
			return x, nil
		case float64:
			if x == float64(int64(x)) {
				return int64(x), nil
			}
		}
		return nil, invalid(p, "an int64", v)
	}}
}

func (validators) Boolean() Validator {
	return vfunc{check: func(p string, v any) (any, error) {
		if b, ok := v.(bool); ok {
			return b, nil
		}
		return nil, invalid(p, "a boolean", v)
	}}
}

func (validators) Null() Validator {
	return vfunc{check: func(p string, v any) (any, error) {
		if v == nil {
			return nil, nil
		}
		return nil, invalid(p, "null", v)
	}}
}

func (validators) Any() Validator {
	return vfunc{check: func(p string, v any) (any, error) { return v, nil }}
}

// ID accepts a document id of the given table (checked by shape: ids are
// random, so the table is not encoded in them).
func (validators) ID(table string) Validator {
	return vfunc{check: func(p string, v any) (any, error) {
		if s, ok := v.(string); ok && sqlstore.IsID(s) {
			return s, nil
		}
		return nil, invalid(p, "an id of table "+table, v)
	}}
}

// Literal accepts exactly one of the given strings.
func (validators) Literal(options ...string) Validator {
	return vfunc{check: func(p string, v any) (any, error) {
		if s, ok := v.(string); ok {
			for _, o := range options {
				if s == o {
					return s, nil
				}
			}
		}
		return nil, invalid(p, "one of "+quoteAll(options), v)
	}}
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = `"` + s + `"`
	}
	return strings.Join(q, ", ")
}

// Optional marks a field that may be absent (or null/undefined).
func (validators) Optional(inner Validator) Validator {
	return vfunc{optional: true, check: func(p string, v any) (any, error) {
		if v == nil {
			return nil, nil
		}
		return inner.Check(p, v)
	}}
}

// Union accepts a value any of the validators accepts.
func (validators) Union(options ...Validator) Validator {
	return vfunc{check: func(p string, v any) (any, error) {
		var first error
		for _, o := range options {
			out, err := o.Check(p, v)
			if err == nil {
				return out, nil
			}
			if first == nil {
				first = err
			}
		}
		return nil, first
	}}
}

// Array accepts an array whose items pass item.
func (validators) Array(item Validator) Validator {
	return vfunc{check: func(p string, v any) (any, error) {
		arr, ok := v.([]any)
		if !ok {
			return nil, invalid(p, "an array", v)
		}
		out := make([]any, len(arr))
		for i, x := range arr {
			c, err := item.Check(fmt.Sprintf("%s[%d]", p, i), x)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	}}
}

// Record accepts an object with arbitrary string keys whose values pass value.
func (validators) Record(value Validator) Validator {
	return vfunc{check: func(p string, v any) (any, error) {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, invalid(p, "an object", v)
		}
		out := make(map[string]any, len(m))
		for k, x := range m {
			c, err := value.Check(p+"."+k, x)
			if err != nil {
				return nil, err
			}
			out[k] = c
		}
		return out, nil
	}}
}

// Fields declares an object's fields.
type Fields map[string]Validator

// Object accepts an object with exactly the declared fields (unknown fields
// are refused, as Convex does).
func (validators) Object(fields Fields) Validator { return objectValidator(fields, false) }

// LooseObject is Object that ignores undeclared fields.
func (validators) LooseObject(fields Fields) Validator { return objectValidator(fields, true) }

func objectValidator(fields Fields, loose bool) Validator {
	return vfunc{check: func(p string, v any) (any, error) {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, invalid(p, "an object", v)
		}
		out := make(map[string]any, len(fields))
		for name, fv := range fields {
			x, present := m[name]
			if !present || x == nil {
				if fv.Optional() {
					continue
				}
				if !present {
					return nil, ErrInvalid("Missing required argument `%s`", strings.TrimPrefix(p+"."+name, "args."))
				}
			}
			c, err := fv.Check(p+"."+name, x)
			if err != nil {
				return nil, err
			}
			if c != nil {
				out[name] = c
			}
		}
		if !loose {
			var extra []string
			for k := range m {
				if _, ok := fields[k]; !ok {
					extra = append(extra, k)
				}
			}
			if len(extra) > 0 {
				sort.Strings(extra)
				return nil, ErrInvalid("Unexpected argument `%s`", strings.TrimPrefix(p+"."+extra[0], "args."))
			}
		}
		return out, nil
	}}
}

// PaginationOpts validates Convex's paginationOpts, accepting the extra
// fields the client adds (id, endCursor, maximumRowsRead, maximumBytesRead).
func (validators) PaginationOpts() Validator {
	return V.Object(Fields{
		"numItems":         V.Number(),
		"cursor":           V.Optional(V.String()),
		"endCursor":        V.Optional(V.String()),
		"id":               V.Optional(V.Number()),
		"maximumRowsRead":  V.Optional(V.Number()),
		"maximumBytesRead": V.Optional(V.Number()),
	})
}
