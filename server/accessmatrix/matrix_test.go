package accessmatrix

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func newWorld(t *testing.T) *World {
	t.Helper()
	w, err := NewWorld(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	return w
}

func matrixFunc(name string) bool {
	return !strings.HasPrefix(name, "_test:") && !strings.HasPrefix(name, "_system:")
}

// TestAccessMatrix calls every public function as every caller kind.
func TestAccessMatrix(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	var missing []string
	for _, f := range w.Registry().All() {
		if f.Internal || !matrixFunc(f.Name) {
			continue
		}
		if _, ok := entries[f.Name]; !ok {
			missing = append(missing, f.Name)
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d public functions have no access-matrix entry (add them to entries_<module>.go):\n  %s", len(missing), strings.Join(missing, "\n  "))
	}
	for _, e := range Entries() {
		f := w.Registry().Lookup(e.Func)
		if f == nil || f.Internal {
			t.Errorf("entry %s names no registered public function", e.Func)
			continue
		}
		if f.Access == "" {
			t.Errorf("%s declares no access string", e.Func)
		}
		t.Run(e.Func, func(t *testing.T) {
			for _, who := range AllCallers {
				out, err := w.Call(ctx, e.Func, who, e.Args(w.FX, who))
				if err != nil {
					t.Fatalf("%s: %v", who, err)
				}
				if why := e.Judge(who, out); why != "" {
					t.Errorf("%s as %s: %s", e.Func, who, why)
				}
			}
		})
	}
}

// TestJudge checks the verdicts themselves, so a harness bug cannot make
// every cell pass.
func TestJudge(t *testing.T) {
	e := Entry{Allow: []Caller{Owner}}
	soft := Entry{Allow: []Caller{Owner}, SoftDeny: true}
	deny := Outcome{Err: fnError{"PERMISSION_DENIED"}.e()}
	cases := []struct {
		name string
		e    Entry
		who  Caller
		o    Outcome
		ok   bool
	}{
		{"allowed ok", e, Owner, Outcome{Value: "x"}, true},
		{"allowed but denied", e, Owner, deny, false},
		{"allowed but internal error", e, Owner, Outcome{Err: fnError{"INTERNAL_ERROR"}.e()}, false},
		{"denied with code", e, Viewer, deny, true},
		{"denied but succeeded", e, Viewer, Outcome{Value: "x"}, false},
		{"denied with null, not soft", e, Viewer, Outcome{}, false},
		{"denied with wrong code", e, Viewer, Outcome{Err: fnError{"NOT_FOUND"}.e()}, false},
		{"soft denied with []", soft, Viewer, Outcome{Value: []any{}}, true},
		{"soft denied with data", soft, Viewer, Outcome{Value: []any{1.0}}, false},
		{"soft allowed empty", soft, Owner, Outcome{Value: []any{}}, false},
		{"soft allowed data", soft, Owner, Outcome{Value: map[string]any{"page": []any{1.0}}}, true},
	}
	for _, c := range cases {
		if got := c.e.Judge(c.who, c.o) == ""; got != c.ok {
			t.Errorf("%s: Judge ok=%v, want %v", c.name, got, c.ok)
		}
	}
}

// TestHarnessLoadsEveryModule: every package the main package appends to
// server.Modules must be in Modules here, or its functions would escape
// the matrix.
func TestHarnessLoadsEveryModule(t *testing.T) {
	_, here, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(here), "..", "..")
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join(root, "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no main package files under %s: %v", root, err)
	}
	var have []string
	for _, m := range Modules {
		have = append(have, m.Pkg)
	}
	found := 0
	for _, path := range files {
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		imports := map[string]string{}
		for _, im := range f.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			name := p[strings.LastIndex(p, "/")+1:]
			if im.Name != nil {
				name = im.Name.Name
			}
			imports[name] = p
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) < 2 {
				return true
			}
			if id, ok := call.Fun.(*ast.Ident); !ok || id.Name != "append" {
				return true
			}
			if sel, ok := call.Args[0].(*ast.SelectorExpr); !ok || sel.Sel.Name != "Modules" {
				return true
			}
			// The module packages are the ones the appended values mention.
			for _, arg := range call.Args[1:] {
				ast.Inspect(arg, func(n ast.Node) bool {
					sel, ok := n.(*ast.SelectorExpr)
					if !ok {
						return true
					}
					x, ok := sel.X.(*ast.Ident)
					if !ok {
						return true
					}
					p, ok := imports[x.Name]
					if !ok || strings.HasSuffix(p, "/opencom/server") {
						return true
					}
					found++
					if !slices.Contains(have, p) {
						t.Errorf("%s appends %s to server.Modules, but accessmatrix.Modules does not load it", filepath.Base(path), p)
					}
					return true
				})
			}
			return true
		})
	}
	if found == 0 {
		t.Fatal("found no module registration in the main package; the parser check is broken")
	}
}
