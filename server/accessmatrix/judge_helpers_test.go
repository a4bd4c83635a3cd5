package accessmatrix

import "github.com/opencom-go/opencom/server/fn"

type fnError struct{ code string }

func (f fnError) e() *fn.Error { return fn.Errorf(f.code, "test") }
