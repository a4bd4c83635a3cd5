package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/opencom-go/opencom/sqlstore"
)

// TestGracefulShutdown: SIGTERM while a client writes and a WebSocket is
// open. The socket is closed with a reason, every acknowledged write is
// kept, the process exits 0 within 10 s and the WAL is folded into the
// database file.
func TestGracefulShutdown(t *testing.T) {
	dir := t.TempDir()
	p := startServer(t, dir)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws://"+p.addr+"/api/1.48.0/sync", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	wsClosed := make(chan error, 1)
	go func() {
		for {
			if _, _, err := ws.Read(ctx); err != nil {
				wsClosed <- err
				return
			}
		}
	}()
	// The server counts the socket once it is registered for shutdown.
	for {
		_, body := httpGet(p.url("/healthz"))
		var h struct{ Connections int }
		json.Unmarshal(body, &h)
		if h.Connections == 1 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("socket never registered: %s", body)
		}
		time.Sleep(10 * time.Millisecond)
	}

	// A writer keeps going until the server refuses; what it saw
	// acknowledged must survive.
	var acked []string
	var firstWrite sync.WaitGroup
	firstWrite.Add(1)
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		for n := 0; ; n++ {
			text := strconv.Itoa(n)
			if _, err := p.call("mutation", "_test:addItem", map[string]any{"listId": "x", "text": text}); err != nil {
				if n == 0 {
					firstWrite.Done()
				}
				return
			}
			acked = append(acked, text)
			if n == 0 {
				firstWrite.Done()
			}
		}
	}()
	firstWrite.Wait()
	if code := p.stop(t); code != 0 {
		t.Fatalf("exit code %d after SIGTERM:\n%s", code, p.logs)
	}
	<-writerDone

	select {
	case err := <-wsClosed:
		var ce websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.StatusGoingAway || ce.Reason == "" {
			t.Errorf("socket closed with %v, want status 1001 and a reason", err)
		}
	case <-ctx.Done():
		t.Fatal("socket not closed by the shutdown")
	}
	db := filepath.Join(dir, "opencom.db")
	if fi, err := os.Stat(db + "-wal"); err == nil && fi.Size() != 0 {
		t.Errorf("WAL not checkpointed: %s-wal has %d bytes", db, fi.Size())
	}
	if len(acked) == 0 {
		t.Fatal("no write was acknowledged before the shutdown")
	}
	got := itemTexts(t, db, "x")
	t.Logf("%d writes acknowledged before the shutdown refused them; %d stored", len(acked), len(got))
	for _, a := range acked {
		if !got[a] {
			t.Fatalf("acknowledged write %s lost in shutdown (%d acked, %d stored)", a, len(acked), len(got))
		}
	}
}

// itemTexts reads the _test items of one list straight from a file.
func itemTexts(t *testing.T, dbPath, list string) map[string]bool {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+dbPath+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT json_extract(doc, '$.text') FROM testItems WHERE listId = ?`, list)
	if err != nil {
		t.Fatalf("read %s: %v", dbPath, err)
	}
	defer rows.Close()
	texts := map[string]bool{}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		texts[s] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return texts
}

// TestBackupWhileWriting takes `opencom backup` while a client writes one
// row after another through the server: the copy must pass integrity_check
// and hold exactly the first k writes, with k at least the number
// acknowledged before the backup started.
func TestBackupWhileWriting(t *testing.T) {
	dir := t.TempDir()
	p := startServer(t, dir)
	// Some bulk so the copy takes a moment while writes continue.
	for i := 0; i < 20; i++ {
		if _, err := p.call("mutation", "_test:addItems", map[string]any{"listId": "bulk", "count": 200}); err != nil {
			t.Fatal(err)
		}
	}

	var acked atomic.Int64
	stop := make(chan struct{})
	writerErr := make(chan error, 1)
	go func() {
		for n := 0; ; n++ {
			select {
			case <-stop:
				writerErr <- nil
				return
			default:
			}
			if _, err := p.call("mutation", "_test:addItem", map[string]any{"listId": "x", "text": strconv.Itoa(n)}); err != nil {
				writerErr <- err
				return
			}
			acked.Store(int64(n + 1))
		}
	}()
	for acked.Load() < 20 {
		time.Sleep(time.Millisecond)
	}
	before := acked.Load()
	backup := filepath.Join(t.TempDir(), "backup.db")
	r := runCLI(t, "", nil, "backup", "--data-dir", dir, backup)
	after := acked.Load()
	// Keep writing a little after the copy, then stop.
	for acked.Load() < after+10 {
		time.Sleep(time.Millisecond)
	}
	close(stop)
	if err := <-writerErr; err != nil {
		t.Fatal(err)
	}
	if r.code != 0 {
		t.Fatalf("backup exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "integrity ok") || !strings.Contains(r.stderr, "backup: 100%") {
		t.Errorf("backup did not report progress and integrity:\nstdout: %s\nstderr: %s", r.stdout, r.stderr)
	}
	if err := sqlstore.IntegrityCheck(context.Background(), backup); err != nil {
		t.Fatal(err)
	}
	got := itemTexts(t, backup, "x")
	k := int64(len(got))
	for i := int64(0); i < k; i++ {
		if !got[strconv.FormatInt(i, 10)] {
			t.Fatalf("backup holds %d writes but not write %d: not a prefix", k, i)
		}
	}
	t.Logf("backup holds %d writes; %d acknowledged before it started, %d when it ended", k, before, after)
	if k < before || k > after+1 {
		t.Errorf("backup holds %d writes; %d were acknowledged before it started and %d when it ended", k, before, after)
	}
	if bulk := countItems(t, backup, "bulk"); bulk != 20*200 {
		t.Errorf("backup holds %d bulk rows, want %d", bulk, 20*200)
	}
	if code := p.stop(t); code != 0 {
		t.Errorf("server exit %d", code)
	}
}

func countItems(t *testing.T, dbPath, list string) int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+dbPath+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM testItems WHERE listId=?`, list).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

var bakName = regexp.MustCompile(`previous database kept as (\S+opencom\.db\.\d{8}T\d{6}Z(?:-\d+)?\.bak)`)

// TestRestore: restore refuses while the server runs and refuses broken or
// newer backups without touching the database; a good backup is swapped in
// with the old database kept as a timestamped .bak, and the server starts
// on the restored data.
func TestRestore(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "opencom.db")
	p := startServer(t, dir)
	for i := 0; i < 3; i++ {
		p.addItem(t, "x", fmt.Sprint("before-", i))
	}
	backup := filepath.Join(t.TempDir(), "good.db")
	if r := runCLI(t, "", nil, "backup", "--data-dir", dir, backup); r.code != 0 {
		t.Fatalf("backup: %d %s", r.code, r.stderr)
	}
	p.addItem(t, "x", "after-backup")

	r := runCLI(t, "", nil, "restore", "--data-dir", dir, backup)
	if r.code != 1 || !strings.Contains(r.stderr, "in use by another opencom process: stop the server before restoring") {
		t.Fatalf("restore while serving: exit %d: %s", r.code, r.stderr)
	}
	if code := p.stop(t); code != 0 {
		t.Fatalf("server exit %d", code)
	}

	garbage := filepath.Join(t.TempDir(), "garbage.db")
	os.WriteFile(garbage, []byte(strings.Repeat("not sqlite ", 1000)), 0o600)
	newer := filepath.Join(t.TempDir(), "newer.db")
	copyForTest(t, backup, newer)
	ndb, err := sql.Open("sqlite", "file:"+newer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ndb.Exec(`INSERT INTO _schema_migrations(version,name,applied_at) VALUES (9999,'future',0)`); err != nil {
		t.Fatal(err)
	}
	ndb.Close()
	refused := []struct{ name, file, msg string }{
		{"not a database", garbage, "not a readable SQLite database"},
		{"newer schema", newer, "backup is at schema version 9999"},
	}
	for _, c := range refused {
		r := runCLI(t, "", nil, "restore", "--data-dir", dir, c.file)
		if r.code != 1 || !strings.Contains(r.stderr, c.msg) {
			t.Errorf("%s: exit %d, stderr %q, want %q", c.name, r.code, r.stderr, c.msg)
		}
	}
	if baks, _ := filepath.Glob(db + ".*.bak"); len(baks) != 0 {
		t.Fatalf("a refused restore moved the database: %v", baks)
	}
	if !itemTexts(t, db, "x")["after-backup"] {
		t.Fatal("a refused restore changed the database")
	}

	r = runCLI(t, "", nil, "restore", "--data-dir", dir, backup)
	if r.code != 0 {
		t.Fatalf("restore: exit %d: %s", r.code, r.stderr)
	}
	m := bakName.FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("restore did not name a timestamped .bak: %s", r.stdout)
	}
	if !itemTexts(t, m[1], "x")["after-backup"] {
		t.Errorf("%s does not hold the pre-restore data", m[1])
	}

	p = startServer(t, dir)
	got := p.listItems(t, "x")
	want := []string{"before-0", "before-1", "before-2"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("after restore the server has %v, want %v", got, want)
	}
	if code := p.stop(t); code != 0 {
		t.Errorf("server exit %d", code)
	}
}

func copyForTest(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestInstallDryRun runs install.sh --dry-run: it must print every step, in
// order, and change nothing.
func TestInstallDryRun(t *testing.T) {
	cmd := exec.Command("bash", "install.sh", "--dry-run", "--binary", "/opt/build/opencom")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("install.sh --dry-run: %v\n%s", err, out)
	}
	steps := []*regexp.Regexp{
		regexp.MustCompile(`using binary /opt/build/opencom`),
		regexp.MustCompile(`\+ useradd --system .*opencom|user opencom exists`),
		regexp.MustCompile(`\+ install -d -m 0750 -o opencom -g opencom /var/lib/opencom`),
		regexp.MustCompile(`\+ write /etc/opencom/opencom.yaml from \S+config.example.yaml \(data_dir: /var/lib/opencom, service.user: opencom\)|/etc/opencom/opencom.yaml exists: keeping it`),
		regexp.MustCompile(`\+ install -m 0755 /opt/build/opencom /usr/local/bin/opencom`),
		regexp.MustCompile(`\+ /usr/local/bin/opencom install --config /etc/opencom/opencom.yaml`),
		regexp.MustCompile(`\+ /usr/local/bin/opencom start --config /etc/opencom/opencom.yaml`),
		regexp.MustCompile(`dry run: nothing was changed`),
	}
	rest := string(out)
	for _, s := range steps {
		loc := s.FindStringIndex(rest)
		if loc == nil {
			t.Fatalf("dry run output lacks (in order) %s:\n%s", s, out)
		}
		rest = rest[loc[1]:]
	}
	build := exec.Command("bash", "install.sh", "--dry-run")
	out, err = build.CombinedOutput()
	if err != nil || !regexp.MustCompile(`\+ env CGO_ENABLED=0 go -C \S+ build .*-o /tmp/opencom-build/opencom \.`).Match(out) {
		t.Errorf("dry run without --binary should show the build step: %v\n%s", err, out)
	}

	bad := exec.Command("bash", "install.sh", "--frobnicate")
	out, _ = bad.CombinedOutput()
	if bad.ProcessState.ExitCode() != 2 || !strings.Contains(string(out), "unknown argument: --frobnicate") {
		t.Errorf("install.sh --frobnicate: exit %d\n%s", bad.ProcessState.ExitCode(), out)
	}
}
