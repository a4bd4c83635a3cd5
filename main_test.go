package main

// The CLI tests run the real binary as a separate process: exit codes,
// signals, lock files and crash recovery only mean something across a
// process boundary. TestMain builds it once.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const testVersion = "v0.0.0-clitest"

// opencomBin is the binary built by TestMain.
var opencomBin string

func TestMain(m *testing.M) {
	if os.Getenv(crashWriterEnv) != "" {
		os.Exit(crashWriterMain())
	}
	dir, err := os.MkdirTemp("", "opencom-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	opencomBin = filepath.Join(dir, "opencom")
	build := exec.Command("go", "build", "-o", opencomBin,
		"-ldflags", "-X github.com/opencom-go/opencom/server.Version="+testVersion, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building opencom for the CLI tests: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// cleanEnv is the test's environment without OPENCOM_* settings, so a
// developer's shell cannot change what the binary under test sees.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OPENCOM_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

type cliResult struct {
	stdout, stderr string
	code           int
}

// runCLI runs the binary to completion in dir (the test's temp dir if "").
func runCLI(t *testing.T, dir string, env []string, args ...string) cliResult {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, opencomBin, args...)
	cmd.Dir = dir
	cmd.Env = cleanEnv(env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("opencom %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	return cliResult{out.String(), errb.String(), code}
}

// syncBuffer collects a child's output while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type serverProc struct {
	cmd     *exec.Cmd
	addr    string // host:port actually bound
	dataDir string
	logs    *syncBuffer
	exited  chan struct{}
	code    int
}

var boundAddr = regexp.MustCompile(`msg="opencom is running".* addr=(\S+)`)

// startServer runs `opencom serve` on a free port with --test-mode and
// waits until /healthz answers 200.
func startServer(t *testing.T, dataDir string, extra ...string) *serverProc {
	t.Helper()
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir, "--test-mode"}, extra...)
	p := &serverProc{dataDir: dataDir, logs: &syncBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(opencomBin, args...)
	p.cmd.Dir = t.TempDir()
	p.cmd.Env = cleanEnv()
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.cmd.Wait()
		p.code = p.cmd.ProcessState.ExitCode()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			p.cmd.Process.Kill()
			<-p.exited
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for p.addr == "" {
		if m := boundAddr.FindStringSubmatch(p.logs.String()); m != nil {
			p.addr = m[1]
			break
		}
		select {
		case <-p.exited:
			t.Fatalf("opencom serve exited with %d before listening:\n%s", p.code, p.logs)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("opencom serve did not start listening:\n%s", p.logs)
		}
	}
	for {
		if code, _ := httpGet(p.url("/healthz")); code == http.StatusOK {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz never answered 200:\n%s", p.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *serverProc) url(path string) string { return "http://" + p.addr + path }

// stop sends SIGTERM and returns the exit code; the issue allows 10 s.
func (p *serverProc) stop(t *testing.T) int {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
		return p.code
	case <-time.After(10 * time.Second):
		t.Fatalf("opencom serve did not exit within 10 s of SIGTERM:\n%s", p.logs)
		return -1
	}
}

func httpGet(url string) (int, []byte) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// call runs a function through the HTTP API and returns its value.
func (p *serverProc) call(kind, path string, args map[string]any) (json.RawMessage, error) {
	body, _ := json.Marshal(map[string]any{"path": path, "args": args, "format": "json"})
	resp, err := http.Post(p.url("/api/"+kind), "application/json", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out struct {
		Status       string          `json:"status"`
		Value        json.RawMessage `json:"value"`
		ErrorMessage string          `json:"errorMessage"`
	}
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("%s %s: HTTP %d: %s", kind, path, resp.StatusCode, raw)
	}
	if out.Status != "success" {
		return nil, fmt.Errorf("%s %s: %s (HTTP %d)", kind, path, out.ErrorMessage, resp.StatusCode)
	}
	return out.Value, nil
}

func (p *serverProc) addItem(t *testing.T, list, text string) {
	t.Helper()
	if _, err := p.call("mutation", "_test:addItem", map[string]any{"listId": list, "text": text}); err != nil {
		t.Fatal(err)
	}
}

func (p *serverProc) listItems(t *testing.T, list string) []string {
	t.Helper()
	v, err := p.call("query", "_test:listItems", map[string]any{"listId": list})
	if err != nil {
		t.Fatal(err)
	}
	var items []struct {
		Text string `json:"text"`
	}
	if err := json.Unmarshal(v, &items); err != nil {
		t.Fatalf("listItems: %v: %s", err, v)
	}
	texts := make([]string, len(items))
	for i, it := range items {
		texts[i] = it.Text
	}
	return texts
}
