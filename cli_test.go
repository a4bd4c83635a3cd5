package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opencom-go/opencom/server/schema"
	"github.com/opencom-go/opencom/sqlstore"
)

// TestCLIErrors: each mistake gets its own message and exit code
// (2 for how the command was called or configured, 1 for the environment).
func TestCLIErrors(t *testing.T) {
	tmp := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(tmp, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	unknownKey := write("unknown-key.yaml", "addr: 127.0.0.1:0\nbogus_setting: 1\n")
	unknownNested := write("unknown-nested.yaml", "sync:\n  ping_intervall: 10s\n")
	badYAML := write("bad.yaml", "addr: [\n")
	badValue := write("bad-value.yaml", "durability: sometimes\n")
	aFile := write("plain-file", "not a directory")

	// A port held by this test is in use for the child.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	busy := ln.Addr().String()

	// A database written by a "newer" binary: a migration version this
	// binary does not have.
	newerDir := filepath.Join(tmp, "newer")
	s, err := sqlstore.Open(context.Background(), filepath.Join(newerDir, "opencom.db"), sqlstore.Options{Migrations: schema.Migrations()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write(context.Background(), func(tx *sqlstore.Tx) error {
		_, err := tx.Exec(`INSERT INTO _schema_migrations(version,name,applied_at) VALUES (9999,'from the future',0)`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	port0 := []string{"--addr", "127.0.0.1:0"}
	cases := []struct {
		name string
		args []string
		env  []string
		code int
		msg  string
	}{
		{"no command", nil, nil, 2, "Usage:"},
		{"unknown command", []string{"frobnicate"}, nil, 2, `unknown command "frobnicate"`},
		{"unknown flag", []string{"serve", "--no-such-flag"}, nil, 2, "unknown flag: --no-such-flag"},
		{"unknown flag on backup", []string{"backup", "--colour", "x.db"}, nil, 2, "unknown flag: --colour"},
		{"stray argument", []string{"serve", "extra"}, nil, 2, `unexpected argument "extra"`},
		{"unknown config key", []string{"serve", "--config", unknownKey}, nil, 2, "bogus_setting"},
		{"unknown nested config key", []string{"serve", "--config", unknownNested}, nil, 2, "ping_intervall"},
		{"config file missing", []string{"serve", "--config", filepath.Join(tmp, "nope.yaml")}, nil, 2, "nope.yaml not found"},
		{"config file missing via env", []string{"serve"}, []string{"OPENCOM_CONFIG=" + filepath.Join(tmp, "env.yaml")}, 2, "env.yaml not found"},
		{"config is a directory", []string{"serve", "--config", tmp}, nil, 2, "cannot read config file"},
		{"config not YAML", []string{"serve", "--config", badYAML}, nil, 2, "cannot read config file"},
		{"invalid value in file", []string{"serve", "--config", badValue}, nil, 2, `durability must be normal or full, not "sometimes"`},
		{"invalid value in env", []string{"serve"}, []string{"OPENCOM_LOG_LEVEL=loud"}, 2, `log_level must be debug, info, warn or error, not "loud"`},
		{"write timeout too short", []string{"serve"}, []string{"OPENCOM_SYNC_WRITE_TIMEOUT=10ms"}, 2, "sync.write_timeout must be at least 1s, not 10ms"},
		{"port in use", []string{"serve", "--data-dir", filepath.Join(tmp, "d1"), "--addr", busy}, nil, 1, "port is already in use"},
		{"data dir not writable", append([]string{"serve", "--data-dir", filepath.Join(aFile, "data")}, port0...), nil, 1, "is not writable"},
		{"database from a newer schema", append([]string{"serve", "--data-dir", newerDir}, port0...), nil, 1, "database schema is newer than this binary"},
		{"backup without file", []string{"backup"}, nil, 2, "usage: opencom backup FILE"},
		{"backup without database", []string{"backup", "--data-dir", filepath.Join(tmp, "empty"), filepath.Join(tmp, "b.db")}, nil, 1, "no database at"},
		{"restore without file", []string{"restore"}, nil, 2, "usage: opencom restore FILE"},
		{"restore of a missing file", []string{"restore", "--data-dir", filepath.Join(tmp, "r"), filepath.Join(tmp, "missing.db")}, nil, 1, "missing.db"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := runCLI(t, "", c.env, c.args...)
			if r.code != c.code {
				t.Errorf("exit code %d, want %d\nstderr: %s", r.code, c.code, r.stderr)
			}
			if !strings.Contains(r.stderr, c.msg) {
				t.Errorf("stderr does not say %q:\n%s", c.msg, r.stderr)
			}
		})
	}
}

func TestVersionCommand(t *testing.T) {
	for _, arg := range []string{"version", "--version"} {
		r := runCLI(t, "", nil, arg)
		if r.code != 0 || strings.TrimSpace(r.stdout) != "opencom "+testVersion {
			t.Errorf("%s: code %d, stdout %q, stderr %q", arg, r.code, r.stdout, r.stderr)
		}
	}
}

// TestServeWithDefaults runs `opencom serve` with no config and no flags:
// it must create ./opencom_data/opencom.db in its working directory (in
// WAL mode), listen on 127.0.0.1:3210 and log the two URLs. The default
// port may be taken on a shared machine, so where possible the server
// runs in its own network namespace (root can unshare), which keeps the
// default address free.
func TestServeWithDefaults(t *testing.T) {
	wd := t.TempDir()
	var cmd *exec.Cmd
	if exec.Command("unshare", "-n", "true").Run() == nil {
		cmd = exec.Command("unshare", "-n", "sh", "-c", `ip link set lo up && exec "$0" serve`, opencomBin)
	} else {
		cmd = exec.Command(opencomBin, "serve")
	}
	cmd.Dir = wd
	cmd.Env = cleanEnv()
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	defer func() {
		cmd.Process.Kill()
		<-exited
	}()
	deadline := time.After(60 * time.Second)
	for !strings.Contains(logs.String(), "widget snippet") {
		select {
		case <-exited:
			t.Fatalf("serve exited early:\n%s", logs)
		case <-deadline:
			t.Fatalf("serve did not log its URLs:\n%s", logs)
		case <-time.After(20 * time.Millisecond):
		}
	}
	out := logs.String()
	for _, want := range []string{
		"addr=127.0.0.1:3210",
		`msg="agent UI: http://127.0.0.1:3210/"`,
		`msg="widget snippet: http://127.0.0.1:3210/widget.js"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
	db := filepath.Join(wd, "opencom_data", "opencom.db")
	conn, err := sql.Open("sqlite", "file:"+db+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var mode string
	if err := conn.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
		t.Fatalf("%s is not a readable database: %v", db, err)
	}
	if mode != "wal" {
		t.Errorf("journal_mode %q, want wal", mode)
	}
	cmd.Process.Signal(os.Interrupt)
	select {
	case <-exited:
		if code := cmd.ProcessState.ExitCode(); code != 0 {
			t.Errorf("exit code %d after SIGINT:\n%s", code, logs)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no exit within 10 s of SIGINT")
	}
}

func TestHealthzAndVersion(t *testing.T) {
	p := startServer(t, t.TempDir())
	// Started with --addr 127.0.0.1:0: the logged URLs name the real port.
	for _, want := range []string{"agent UI: http://" + p.addr + "/", "widget snippet: http://" + p.addr + "/widget.js"} {
		if !strings.Contains(p.logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, p.logs)
		}
	}
	code, body := httpGet(p.url("/healthz"))
	var h struct{ Status, Database string }
	if code != http.StatusOK || json.Unmarshal(body, &h) != nil || h.Status != "ok" || h.Database != "ok" {
		t.Errorf("/healthz: %d %s", code, body)
	}
	resp, err := http.Get(p.url("/healthz"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("/healthz Content-Type %q", ct)
	}
	code, body = httpGet(p.url("/version"))
	var v struct {
		Version       string
		SchemaVersion int
	}
	if code != http.StatusOK || json.Unmarshal(body, &v) != nil {
		t.Fatalf("/version: %d %s", code, body)
	}
	known, err := sqlstore.KnownSchemaVersion(schema.Migrations())
	if err != nil {
		t.Fatal(err)
	}
	if v.Version != testVersion || v.SchemaVersion != known {
		t.Errorf("/version = %+v, want %s at schema %d", v, testVersion, known)
	}
}
