package attachments

import (
	"net/http"
	"time"

	"github.com/opencom-go/opencom/server"
)

// Module wires the supportAttachments functions into a server (see
// server.Modules); Routes adds the storage endpoints (see server.Routes).
func Module(s *server.Server) {
	Register(s.Registry, Config{PublicURL: func() string { return s.Cfg.PublicURL }})
}

// Routes adds the upload and download endpoints of s's store.
func Routes(s *server.Server, mux *http.ServeMux) {
	(&Storage{Store: s.Store, Clock: func() time.Time { return s.Engine.Clock() }}).Routes(mux)
}
