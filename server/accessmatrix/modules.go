package accessmatrix

import (
	"github.com/opencom-go/opencom/server"
	"github.com/opencom-go/opencom/server/attachments"
	"github.com/opencom-go/opencom/server/identity"
	"github.com/opencom-go/opencom/server/inbox"
)

// Module is one domain module's registration, as the main package wires it.
type Module struct {
	Pkg      string // import path, matched against the main package's modules_*.go
	Register func(*server.Server)
}

// Modules mirrors the main package's modules_*.go files (one line each).
var Modules = []Module{
	{"github.com/opencom-go/opencom/server/identity", identity.Module},
	{"github.com/opencom-go/opencom/server/inbox", func(s *server.Server) {
		inbox.Register(s.Registry, inbox.Deps{Invalidate: s.Hub.Invalidate, FileURL: attachments.FileURL(func() string { return s.Cfg.PublicURL })})
	}},
}
