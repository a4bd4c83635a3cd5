package main

import (
	"net/http"

	"github.com/opencom-go/opencom/server"
	"github.com/opencom-go/opencom/server/inbox"
)

// The inbox registers from the main package: it needs the server's Hub,
// and package server cannot import a package that imports it.
func init() {
	server.Modules = append(server.Modules, func(s *server.Server) {
		inbox.Register(s.Registry, inbox.Deps{Invalidate: s.Hub.Invalidate})
	})
	_ = http.MethodGet
}
