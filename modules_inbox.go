package main

import (
	"net/http"

	"github.com/opencom-go/opencom/server"
	"github.com/opencom-go/opencom/server/attachments"
	"github.com/opencom-go/opencom/server/channel"
	"github.com/opencom-go/opencom/server/demo"
	"github.com/opencom-go/opencom/server/inbox"
)

// The inbox registers from the main package: it needs the server's Hub,
// and package server cannot import packages that import it.
func init() {
	server.Modules = append(server.Modules, func(s *server.Server) {
		inbox.Register(s.Registry, inbox.Deps{Invalidate: s.Hub.Invalidate, FileURL: attachments.FileURL(func() string { return s.Cfg.PublicURL })})
	})
	server.Routes = append(server.Routes, func(s *server.Server, mux *http.ServeMux) {
		mux.Handle("GET /ws", channel.New(s.Store, s.Tokens, s.Log))
	})
	server.SeedDemo = demo.Seed
}
