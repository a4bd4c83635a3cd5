package server

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/opencom-go/opencom/server/fn"
)

// maxBody bounds an HTTP function call's body (Convex allows 16 MiB args).
const maxBody = 16<<20 + 64<<10

type httpCall struct {
	Path   string          `json:"path"`
	Args   json.RawMessage `json:"args"`
	Format string          `json:"format"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// httpError is the backend's shape for request-level failures.
func httpError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]string{"code": code, "message": msg})
}

func parseArgs(raw json.RawMessage) (map[string]any, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return map[string]any{}, nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	if arr, ok := v.([]any); ok {
		if len(arr) == 0 {
			return map[string]any{}, nil
		}
		if len(arr) != 1 {
			return nil, errors.New("args must be an object or a one-element array")
		}
		v = arr[0]
	}
	dv, err := fn.DecodeValue(v)
	if err != nil {
		return nil, err
	}
	m, ok := dv.(map[string]any)
	if !ok {
		return nil, errors.New("args must be an object")
	}
	return m, nil
}

func callerOf(r *http.Request) fn.Caller {
	ip, _, _ := net.SplitHostPort(r.RemoteAddr)
	return fn.Caller{IP: ip, Origin: r.Header.Get("Origin"), UserAgent: r.UserAgent(), Transport: "http"}
}

// identityOf verifies the bearer token, if any. ok=false means the token
// was present and bad, and a 401 has been written.
func (s *Server) identityOf(w http.ResponseWriter, r *http.Request) (*fn.Identity, bool) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, true
	}
	tok, found := strings.CutPrefix(h, "Bearer ")
	if !found {
		httpError(w, http.StatusUnauthorized, "Unauthenticated", "Authorization header must be 'Bearer <token>'")
		return nil, false
	}
	id, err := s.Engine.Verifier.VerifyToken(r.Context(), tok)
	if err != nil {
		httpError(w, http.StatusUnauthorized, "Unauthenticated", "Could not verify token: "+err.Error())
		return nil, false
	}
	return id, true
}

// handleFunction serves /api/query, /api/mutation, /api/action and
// /api/function (kind 0: any).
func (s *Server) handleFunction(kind fn.Kind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			httpError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "use POST")
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			httpError(w, http.StatusRequestEntityTooLarge, "BadRequest", "request body too large or unreadable")
			return
		}
		var c httpCall
		if err := json.Unmarshal(body, &c); err != nil {
			httpError(w, http.StatusBadRequest, "BadJsonBody", "request body is not valid JSON: "+err.Error())
			return
		}
		if c.Path == "" {
			httpError(w, http.StatusBadRequest, "BadRequest", "missing function path")
			return
		}
		s.runHTTP(w, r, kind, c.Path, c.Args)
	}
}

// handleRun serves /api/run/{dir/mod}/{fn} (handy with curl).
func (s *Server) handleRun(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		httpError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "use POST")
		return
	}
	rest := strings.TrimPrefix(r.URL.Path, "/api/run/")
	i := strings.LastIndex(rest, "/")
	if i <= 0 {
		httpError(w, http.StatusBadRequest, "BadRequest", "path must be /api/run/<module>/<function>")
		return
	}
	var c struct {
		Args json.RawMessage `json:"args"`
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err == nil && len(body) > 0 {
		err = json.Unmarshal(body, &c)
	}
	if err != nil {
		httpError(w, http.StatusBadRequest, "BadJsonBody", "request body is not valid JSON")
		return
	}
	s.runHTTP(w, r, 0, rest[:i]+":"+rest[i+1:], c.Args)
}

func (s *Server) runHTTP(w http.ResponseWriter, r *http.Request, kind fn.Kind, path string, rawArgs json.RawMessage) {
	args, err := parseArgs(rawArgs)
	if err != nil {
		httpError(w, http.StatusBadRequest, "BadRequest", "invalid args: "+err.Error())
		return
	}
	ident, ok := s.identityOf(w, r)
	if !ok {
		return
	}
	call := fn.Call{Path: path, Args: args, Identity: ident, Caller: callerOf(r), RequestID: -1}
	var res fn.Result
	switch kind {
	case fn.KindQuery:
		res = s.Engine.Query(r.Context(), call)
	case fn.KindMutation:
		res = s.Engine.Mutation(r.Context(), call)
	case fn.KindAction:
		res = s.Engine.Action(r.Context(), call)
	default:
		res = s.Engine.Run(r.Context(), call)
	}
	if res.Err != nil {
		out := map[string]any{"status": "error", "errorMessage": res.Err.Message, "errorData": res.Err.Data()}
		if len(res.LogLines) > 0 {
			out["logLines"] = res.LogLines
		}
		writeJSON(w, 560, out)
		return
	}
	out := map[string]any{"status": "success", "value": json.RawMessage(res.Value)}
	if len(res.LogLines) > 0 {
		out["logLines"] = res.LogLines
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleQueryTS(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"ts": fn.EncodeTS(s.Store.LastTS())})
}

// cors mirrors the request's origin when it is allowed, as the Convex
// backend does, and answers preflights.
func (s *Server) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin != "" && s.originAllowed(origin) {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
			h.Add("Vary", "Origin")
			if r.Method == http.MethodOptions {
				if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
					h.Set("Access-Control-Allow-Headers", req)
				}
				h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS, PATCH, DELETE, PUT")
				h.Set("Access-Control-Max-Age", "86400")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) originAllowed(origin string) bool {
	if len(s.Cfg.CORSOrigins) == 0 {
		return true
	}
	for _, o := range s.Cfg.CORSOrigins {
		if o == "*" || strings.EqualFold(o, origin) {
			return true
		}
	}
	return false
}
