// Command opencom is the Opencom customer-messaging server: one binary with
// the shared inbox, the chat widget and the Convex-compatible sync API, all
// in one SQLite file.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/kardianos/service"
	"github.com/spf13/pflag"

	"github.com/opencom-go/opencom/server"
	"github.com/opencom-go/opencom/server/schema"
	"github.com/opencom-go/opencom/server/sync"
	"github.com/opencom-go/opencom/sqlstore"
)

const usage = `opencom — on-prem customer messaging in one binary

Usage:
  opencom serve [flags]          run the server (default: 127.0.0.1:3210, ./opencom_data)
  opencom version                print the version
  opencom backup FILE            copy the database to FILE (works while serving)
  opencom restore FILE           replace the database with FILE (server stopped)
  opencom install [flags]        install as a system service (systemd / Windows service)
  opencom uninstall|start|stop|status
                                 manage the installed service
  opencom admin create EMAIL     create an owner account and workspace

Every command takes --config FILE; settings also come from OPENCOM_* variables.
Run 'opencom serve --help' for the server's flags.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one command and returns the process exit code:
// 0 ok, 1 runtime failure, 2 usage or configuration mistake.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	var err error
	switch cmd {
	case "serve":
		err = cmdServe(rest, stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintf(stdout, "opencom %s\n", server.Version)
	case "backup":
		err = cmdBackup(rest, stdout, stderr)
	case "restore":
		err = cmdRestore(rest, stdout, stderr)
	case "install", "uninstall", "start", "stop", "status":
		err = cmdService(cmd, rest, stdout, stderr)
	case "admin":
		err = cmdAdmin(rest, os.Stdin, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "opencom: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "opencom %s: %v\n", cmd, err)
		var ue usageError
		if errors.As(err, &ue) {
			return 2
		}
		return 1
	}
	return 0
}

func newFlags(name string, stderr io.Writer) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(stderr)
	addServeFlags(fs)
	return fs
}

func parseFlags(fs *pflag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	return nil
}

func newLogger(c *Config, w io.Writer) *slog.Logger {
	var lvl slog.Level
	lvl.UnmarshalText([]byte(c.LogLevel))
	opts := &slog.HandlerOptions{Level: lvl}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// ensureWritable creates dir and proves a file can be written in it.
func ensureWritable(dir string) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("data directory %s is not writable: %w", dir, err)
	}
	probe := filepath.Join(dir, ".write-test")
	if err := os.WriteFile(probe, []byte("ok"), 0o600); err != nil {
		return fmt.Errorf("data directory %s is not writable: %w", dir, err)
	}
	return os.Remove(probe)
}

func cmdServe(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	cfg, err := loadConfig(fs)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	if !service.Interactive() {
		return runAsService(cfg, log)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serve(ctx, cfg, log, nil)
}

// serve runs until ctx ends, then shuts down gracefully. ready (optional)
// receives the bound address once the server accepts connections.
func serve(ctx context.Context, cfg *Config, log *slog.Logger, ready chan<- string) error {
	if err := ensureWritable(cfg.DataDir); err != nil {
		return err
	}
	lock, err := sqlstore.LockDir(cfg.DataDir)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	store, err := sqlstore.Open(ctx, cfg.dbPath(), sqlstore.Options{Durability: cfg.Durability, Migrations: schema.Migrations(), Logger: log})
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	storeOpen := true
	defer func() {
		if storeOpen {
			store.Close()
		}
	}()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) || strings.Contains(err.Error(), "address already in use") {
			return fmt.Errorf("cannot listen on %s: the port is already in use (another opencom? set --addr)", cfg.Addr)
		}
		return fmt.Errorf("cannot listen on %s: %w", cfg.Addr, err)
	}
	defer ln.Close()
	// With port 0 (tests, side-by-side instances) the URLs must name the
	// port actually bound, not ":0".
	if cfg.publicURLFromAddr {
		cfg.PublicURL = "http://" + ln.Addr().String()
	}
	srv, err := server.New(ctx, server.Config{
		PublicURL: cfg.PublicURL, CORSOrigins: cfg.CORSOrigins, TestMode: cfg.TestMode,
		AccessTokenTTL: cfg.AccessTokenTTL,
		Sync:           sync.Config{PingInterval: cfg.Sync.PingInterval, PeerTimeout: cfg.Sync.PeerTimeout, WriteTimeout: cfg.Sync.WriteTimeout, ChunkThreshold: cfg.Sync.ChunkThreshold, MaxQueries: cfg.Sync.MaxQueries},
	}, store, log)
	if err != nil {
		return err
	}
	if cfg.Demo {
		if err := seedDemo(ctx, srv, log); err != nil {
			return fmt.Errorf("demo data: %w", err)
		}
	}
	if err := srv.Start(ctx); err != nil {
		return err
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	log.Info("opencom is running", "version", server.Version, "addr", ln.Addr().String(), "data", cfg.dbPath())
	log.Info("agent UI: " + cfg.PublicURL + "/")
	log.Info("widget snippet: " + cfg.PublicURL + "/widget.js")
	if ready != nil {
		ready <- ln.Addr().String()
	}
	select {
	case <-ctx.Done():
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	}
	log.Info("shutting down")
	grace := cfg.ShutdownGrace
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	srv.Shutdown(sctx)
	if err := hs.Shutdown(sctx); err != nil {
		hs.Close()
	}
	storeOpen = false
	if err := store.Close(); err != nil {
		return fmt.Errorf("close database: %w", err)
	}
	log.Info("stopped cleanly")
	return nil
}

func cmdBackup(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("backup", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{errors.New("usage: opencom backup FILE")}
	}
	cfg, err := loadConfig(fs)
	if err != nil {
		return err
	}
	src := cfg.dbPath()
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("no database at %s", src)
	}
	dest := fs.Arg(0)
	last := time.Time{}
	start := time.Now()
	err = sqlstore.Backup(context.Background(), src, dest, func(done, total int64) {
		if time.Since(last) < time.Second && done < total {
			return
		}
		last = time.Now()
		pct := 100.0
		if total > 0 {
			pct = float64(done) * 100 / float64(total)
		}
		fmt.Fprintf(stderr, "backup: %.0f%% (%d of %d bytes)\n", pct, done, total)
	})
	if err != nil {
		return err
	}
	fi, _ := os.Stat(dest)
	fmt.Fprintf(stdout, "backup written to %s (%d bytes, integrity ok, %s)\n", dest, fi.Size(), time.Since(start).Round(time.Millisecond))
	return nil
}

func cmdRestore(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("restore", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{errors.New("usage: opencom restore FILE")}
	}
	cfg, err := loadConfig(fs)
	if err != nil {
		return err
	}
	if err := ensureWritable(cfg.DataDir); err != nil {
		return err
	}
	lock, err := sqlstore.LockDir(cfg.DataDir)
	if err != nil {
		return fmt.Errorf("%v: stop the server before restoring", err)
	}
	defer lock.Unlock()
	known, err := sqlstore.KnownSchemaVersion(schema.Migrations())
	if err != nil {
		return err
	}
	bak, err := sqlstore.Restore(context.Background(), fs.Arg(0), cfg.dbPath(), known)
	if err != nil {
		return err
	}
	if bak != "" {
		fmt.Fprintf(stdout, "previous database kept as %s\n", bak)
	}
	fmt.Fprintf(stdout, "restored %s into %s\n", fs.Arg(0), cfg.dbPath())
	return nil
}
