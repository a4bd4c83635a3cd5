package server

import (
	"context"
	"log/slog"
	"net/http"
)

// Domain modules register here, one line each, so a reader finds every
// Opencom module from this file. Each entry registers that package's
// functions (named "module:function") on s.Registry.
func init() {
	Modules = append(Modules,
		func(*Server) {}, // placeholder until the first domain module lands
	)
}

// SeedDemo, when set by a domain package, seeds a demo workspace into an
// empty database (opencom serve --demo).
var SeedDemo func(ctx context.Context, s *Server, log *slog.Logger) error

// Routes lets domain packages add HTTP endpoints (e.g. the channel
// WebSocket at /ws) without editing the router.
var Routes []func(s *Server, mux *http.ServeMux)
