// Package server is Opencom's HTTP face: the Convex sync WebSocket, the
// HTTP function API, health and discovery endpoints, the embedded web app,
// and the wiring of the function engine with the domain modules.
package server

import (
	"context"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"regexp"
	"strings"
	"time"

	"github.com/opencom-go/opencom/server/authtoken"
	"github.com/opencom-go/opencom/server/fn"
	"github.com/opencom-go/opencom/server/sync"
	"github.com/opencom-go/opencom/server/testfns"
	"github.com/opencom-go/opencom/sqlstore"
	"github.com/opencom-go/opencom/webui"
)

// Version is set at build time (-ldflags "-X .../server.Version=...").
var Version = "dev"

// Config is what the server needs from the configuration.
type Config struct {
	// PublicURL is the address browsers and the widget use to reach us
	// (default http://<addr>).
	PublicURL string
	// CORSOrigins lists allowed browser origins for the HTTP API (empty:
	// any; access is by token).
	CORSOrigins []string
	// TestMode registers the _test module (conformance tests only).
	TestMode bool
	// Sync tunes the WebSocket endpoint.
	Sync sync.Config
	// AccessTokenTTL is the lifetime of agents' JWTs (default 1 h).
	AccessTokenTTL time.Duration
}

// Server is the running application.
type Server struct {
	Cfg      Config
	Store    *sqlstore.Store
	Registry *fn.Registry
	Engine   *fn.Engine
	Hub      *sync.Hub
	Sync     *sync.Server
	Tokens   *authtoken.Keys
	Log      *slog.Logger

	handler http.Handler
}

// New builds the server over an open store (migrated with schema.Migrations).
func New(ctx context.Context, cfg Config, store *sqlstore.Store, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.Default()
	}
	if cfg.AccessTokenTTL <= 0 {
		cfg.AccessTokenTTL = time.Hour
	}
	s := &Server{Cfg: cfg, Store: store, Registry: fn.NewRegistry(), Log: log}
	keys, err := authtoken.Load(ctx, store, cfg.PublicURL)
	if err != nil {
		return nil, err
	}
	s.Tokens = keys
	s.Engine = fn.NewEngine(store, s.Registry, log)
	s.Engine.Verifier = keys
	s.Hub = sync.NewHub()
	store.Subscribe(s.Hub.OnBatch)
	s.Sync = sync.NewServer(s.Engine, s.Hub, cfg.Sync, log)

	s.registerEngine()
	for _, m := range Modules {
		m(s)
	}
	if cfg.TestMode {
		testfns.Register(s.Registry, testfns.Deps{Tokens: keys, DropConnections: s.Sync.CloseAll, Sync: s.Sync})
		log.Warn("test mode: the _test module is enabled; never use this in production")
	}
	s.handler = s.routes()
	return s, nil
}

// Modules are the domain modules' registration functions, appended by
// their packages' wiring (see modules.go).
var Modules []func(*Server)

func (s *Server) registerEngine() {
	s.Registry.InternalMutation("_system:pruneMutationLog", nil, func(c *fn.Ctx, _ fn.Args) (any, error) {
		return fn.PruneMutationLog(c.Tx, c.Now)
	})
	s.Registry.InternalMutation("_system:pruneScheduledJobs", nil, func(c *fn.Ctx, _ fn.Args) (any, error) {
		cutoff := c.Now.Add(-7 * 24 * time.Hour).UnixMilli()
		_, err := c.Tx.Exec(`DELETE FROM _scheduled_jobs WHERE state IN ('success','failed','canceled') AND completed_at < ?`, cutoff)
		return nil, err
	})
	s.Registry.AddCron(fn.Cron{Name: "prune mutation log", Every: time.Hour, Function: "_system:pruneMutationLog"})
	s.Registry.AddCron(fn.Cron{Name: "prune scheduled jobs", Every: 6 * time.Hour, Function: "_system:pruneScheduledJobs"})
}

// Start runs background work (scheduler, crons).
func (s *Server) Start(ctx context.Context) error { return s.Engine.Start(ctx) }

// Shutdown closes sockets with a reason and stops background work. The
// caller then shuts the http.Server down and closes the store.
func (s *Server) Shutdown(ctx context.Context) {
	s.Sync.Shutdown(ctx)
	s.Engine.Stop()
}

// Handler is the root HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

var multiSlash = regexp.MustCompile(`/{2,}`)

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/api/query", s.handleFunction(fn.KindQuery))
	mux.Handle("/api/mutation", s.handleFunction(fn.KindMutation))
	mux.Handle("/api/action", s.handleFunction(fn.KindAction))
	mux.Handle("/api/function", s.handleFunction(0))
	mux.HandleFunc("/api/run/", s.handleRun)
	mux.HandleFunc("/api/query_ts", s.handleQueryTS)
	mux.HandleFunc("/healthz", s.handleHealth)
	mux.HandleFunc("/version", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"version": Version, "schemaVersion": s.Store.SchemaVersion()})
	})
	mux.HandleFunc("/.well-known/jwks.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(s.Tokens.JWKS())
	})
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(s.Tokens.OpenIDConfiguration())
	})
	mux.HandleFunc("/.well-known/opencom.json", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"name": "Opencom", "version": Version, "convexUrl": s.Cfg.PublicURL, "backend": "opencom-go"})
	})
	for _, add := range Routes {
		add(s, mux)
	}
	mux.Handle("/widget.js", s.widgetFiles())
	mux.Handle("/widget/", s.widgetFiles())
	mux.Handle("/", s.static())
	root := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The convex client turns a deployment URL with a trailing slash
		// into "//api/...": clean it here instead of letting ServeMux
		// answer with a redirect that breaks WebSocket handshakes and POSTs.
		if strings.Contains(r.URL.Path, "//") {
			r.URL.Path = multiSlash.ReplaceAllString(r.URL.Path, "/")
		}
		if strings.HasPrefix(r.URL.Path, "/api/") && strings.HasSuffix(r.URL.Path, "/sync") {
			s.Sync.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
	return s.cors(root)
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	if err := s.Store.Ping(ctx); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "error", "database": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "database": "ok", "connections": s.Sync.Connections()})
}

// static serves the embedded web app; unknown paths without an extension
// get index.html so client-side routes survive a reload.
func (s *Server) static() http.Handler {
	dist := webui.Dist()
	files := http.FileServer(http.FS(dist))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
		if p == "" {
			p = "index.html"
		}
		if _, err := fs.Stat(dist, p); err != nil {
			if path.Ext(p) != "" {
				http.NotFound(w, r)
				return
			}
			r.URL.Path = "/"
		}
		if strings.HasPrefix(p, "assets/") {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		files.ServeHTTP(w, r)
	})
}

// widgetFiles serves the visitor widget. It is loaded by customers' pages
// from any origin, so it allows cross-origin fetches.
func (s *Server) widgetFiles() http.Handler {
	files := http.StripPrefix("/widget", http.FileServer(http.FS(webui.Widget())))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("Cross-Origin-Resource-Policy", "cross-origin")
		if r.URL.Path == "/widget.js" {
			// The loader's URL never changes: keep it fresh. Chunks below
			// /widget/ are content-hashed and can be cached forever.
			w.Header().Set("Cache-Control", "no-cache")
			http.ServeFileFS(w, r, webui.Widget(), "widget.js")
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		files.ServeHTTP(w, r)
	})
}
