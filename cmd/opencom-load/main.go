// Command opencom-load measures the sync engine over loopback with real
// WebSocket clients speaking the Convex sync protocol: fan-out latency and
// lost updates, server CPU per write against unrelated subscriptions,
// memory per idle connection, and mutation throughput.
//
// It runs the server in a child process (itself, re-executed with -serve,
// on a fresh temp data dir in test mode), so the server's CPU time and RSS
// are measured alone. Every loop is bounded; it stops by itself.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/opencom-go/opencom/server"
	"github.com/opencom-go/opencom/server/schema"
	"github.com/opencom-go/opencom/sqlstore"
)

func main() {
	serve := flag.Bool("serve", false, "internal: run the server child process")
	floorServe := flag.Bool("floor-serve", false, "internal: run the raw TCP child process of the floor scenario")
	dir := flag.String("dir", "", "internal: data dir for -serve")
	scen := flag.String("scenario", "all", "comma-separated: fanout, floor, precision, memory, throughput; or all")
	fanout := flag.String("fanout", "100,1000,3000", "subscriber counts for fanout")
	writes := flag.Int("writes", 20, "measured writes per fanout run")
	warmup := flag.Int("warmup", 2, "fanout writes before the measured ones (delivered and checked, not timed)")
	perWrite := flag.Bool("perwrite", false, "fanout: print each write's first and last delivery")
	pin := flag.Bool("pin", false, "run the server child alone on CPU 0 and the clients on the other CPUs")
	pinCPU := flag.Int("pin-cpu", -1, "internal: the child pins itself to this CPU")
	precision := flag.String("precision", "10,1000,10000", "unrelated subscription counts for precision")
	memory := flag.String("memory", "1000,10000", "idle connection counts for memory")
	clients := flag.String("clients", "1,8,32", "concurrent clients for throughput")
	dur := flag.Duration("duration", 4*time.Second, "duration of each throughput run")
	flag.Parse()
	raiseNoFile()
	if *pinCPU >= 0 {
		if err := pinProcess([]int{*pinCPU}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	if *floorServe {
		if err := runFloorServer(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	if *serve {
		if err := runServer(*dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	// OPENCOM_LOAD_CLIENT_CPUPROFILE=file profiles the tool's own clients.
	if f := os.Getenv("OPENCOM_LOAD_CLIENT_CPUPROFILE"); f != "" {
		out, err := os.Create(f)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(out)
		defer pprof.StopCPUProfile()
	}
	pinning := "shared: server and clients on every CPU"
	if *pin {
		server, clients, err := pinPlan()
		if err == nil {
			err = pinProcess(clients)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		childPin = server[0]
		pinning = fmt.Sprintf("pinned: server on CPU %v, clients on CPUs %v", server, clients)
	}
	fmt.Printf("opencom-load: GOMAXPROCS=%d NumCPU=%d %s/%s, %s\n", runtime.GOMAXPROCS(0), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, pinning)
	run := func(name string, f func() error) {
		if *scen != "all" && !slices.Contains(strings.Split(*scen, ","), name) {
			return
		}
		if err := f(); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
			os.Exit(1)
		}
	}
	run("fanout", func() error { return fanOut(ints(*fanout), *writes, *warmup, *perWrite) })
	run("floor", func() error { return floorRun(ints(*fanout), *writes) })
	run("precision", func() error { return precisionRun(ints(*precision)) })
	run("memory", func() error { return memoryRun(ints(*memory)) })
	run("throughput", func() error { return throughput(ints(*clients), *dur) })
}

func ints(s string) []int {
	var out []int
	for _, p := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err == nil && n > 0 {
			out = append(out, n)
		}
	}
	return out
}

func raiseNoFile() {
	var r syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r) == nil && r.Cur < r.Max {
		r.Cur = r.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &r)
	}
}

// runServer is the child: the real server wiring in test mode.
func runServer(dir string) error {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	store, err := sqlstore.Open(ctx, filepath.Join(dir, "opencom.db"), sqlstore.Options{Migrations: schema.Migrations(), Logger: log})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv, err := server.New(ctx, server.Config{TestMode: true, PublicURL: "http://" + ln.Addr().String()}, store, log)
	if err != nil {
		return err
	}
	if err := srv.Start(ctx); err != nil {
		return err
	}
	// OPENCOM_LOAD_CPUPROFILE=file profiles the server until it stops.
	if f := os.Getenv("OPENCOM_LOAD_CPUPROFILE"); f != "" {
		out, err := os.Create(f)
		if err != nil {
			return err
		}
		pprof.StartCPUProfile(out)
	}
	fmt.Printf("READY %s\n", ln.Addr())
	go func() {
		// The parent closes our stdin when it is done (or dies).
		io.Copy(io.Discard, os.Stdin)
		pprof.StopCPUProfile()
		os.Exit(0)
	}()
	return http.Serve(ln, srv.Handler())
}

type child struct {
	cmd  *exec.Cmd
	addr string
	dir  string
	in   io.WriteCloser
}

func startChild() (*child, error) { return startChildWith("-serve") }

// childPin is the CPU server children pin themselves to (-1: none).
var childPin = -1

func startChildWith(mode string) (*child, error) {
	dir, err := os.MkdirTemp("", "opencom-load-")
	if err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, mode, "-dir", dir, "-pin-cpu", strconv.Itoa(childPin))
	cmd.Stderr = os.Stderr
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "READY ") {
		cmd.Process.Kill()
		return nil, fmt.Errorf("server did not start: %q %v", line, err)
	}
	return &child{cmd: cmd, addr: strings.TrimSpace(strings.TrimPrefix(line, "READY ")), dir: dir, in: in}, nil
}

func (c *child) stop() {
	c.in.Close()
	done := make(chan struct{})
	go func() { c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		c.cmd.Process.Kill()
		<-done
	}
	os.RemoveAll(c.dir)
}

// cpu is the child's user+system CPU time.
func (c *child) cpu() time.Duration { return procCPU(c.cmd.Process.Pid) }

// selfCPU is this process's (the clients') CPU time.
func selfCPU() time.Duration { return procCPU(os.Getpid()) }

func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

// ctxSwitches sums the voluntary and involuntary context switches of every
// thread of process pid: a thread that sleeps and is woken for each
// delivery costs far more than one that finds the next one waiting.
func ctxSwitches(pid int) int64 {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	var n int64
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) == 2 && strings.HasSuffix(f[0], "ctxt_switches:") {
				v, _ := strconv.ParseInt(f[1], 10, 64)
				n += v
			}
		}
	}
	return n
}

// rss is the child's resident set (VmRSS) in bytes.
func (c *child) rss() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			kb, _ := strconv.ParseInt(strings.Fields(l)[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

func (c *child) url() string { return "ws://" + c.addr + "/api/1.48.0/sync" }

// wsClient is one protocol client. onMsg runs on its reader goroutine.
type wsClient struct {
	ws  *rawWS
	mu  sync.Mutex
	req int
}

type msg struct {
	Type          string          `json:"type"`
	RequestID     int             `json:"requestId"`
	Success       bool            `json:"success"`
	Modifications []mod           `json:"modifications"`
	Result        json.RawMessage `json:"result"`
}

type mod struct {
	Type    string          `json:"type"`
	QueryID int             `json:"queryId"`
	Value   json.RawMessage `json:"value"`
}

var sessionSeq atomic.Int64

// fastMutationResponse decodes a successful MutationResponse's type and
// requestId; failures and anything unexpected go to encoding/json.
func fastMutationResponse(b []byte) (*msg, bool) {
	const head = `{"type":"MutationResponse","requestId":`
	if !bytes.HasPrefix(b, []byte(head)) {
		return nil, false
	}
	rest := b[len(head):]
	j := bytes.IndexByte(rest, ',')
	if j < 0 || !bytes.HasPrefix(rest[j:], []byte(`,"success":true,`)) {
		return nil, false
	}
	id, err := strconv.Atoi(string(rest[:j]))
	if err != nil {
		return nil, false
	}
	return &msg{Type: "MutationResponse", RequestID: id, Success: true}, true
}

// fastTransition decodes the common Transition with one QueryUpdated whose
// value is a number without encoding/json: thousands of clients decoding
// on the same two cores as the server would otherwise measure the tool.
// Anything else (or anything unexpected) goes to encoding/json.
func fastTransition(b []byte) (*msg, bool) {
	const head, upd, val = `{"type":"Transition",`, `{"type":"QueryUpdated","queryId":`, `,"value":`
	if !bytes.HasPrefix(b, []byte(head)) {
		return nil, false
	}
	switch bytes.Count(b, []byte(`"type":"Query`)) {
	case 0:
		if bytes.HasSuffix(b, []byte(`"modifications":[]}`)) {
			return &msg{Type: "Transition"}, true // what a writer gets
		}
		return nil, false
	case 1:
	default:
		return nil, false
	}
	i := bytes.Index(b, []byte(upd))
	if i < 0 {
		return nil, false
	}
	rest := b[i+len(upd):]
	j := bytes.IndexByte(rest, ',')
	if j < 0 {
		return nil, false
	}
	qid, err := strconv.Atoi(string(rest[:j]))
	if err != nil || !bytes.HasPrefix(rest[j:], []byte(val)) {
		return nil, false
	}
	rest = rest[j+len(val):]
	k := bytes.IndexByte(rest, ',')
	if k < 0 {
		return nil, false
	}
	if !isNumber(rest[:k]) {
		return nil, false
	}
	return &msg{Type: "Transition", Modifications: []mod{{Type: "QueryUpdated", QueryID: qid, Value: json.RawMessage(rest[:k])}}}, true
}

// isNumber reports whether b is a JSON number; plain integers (what the
// fan-out's count query returns) are checked without strconv.
func isNumber(b []byte) bool {
	digits := len(b) > 0
	for _, c := range b {
		if c < '0' || c > '9' {
			digits = false
			break
		}
	}
	if digits && (len(b) == 1 || b[0] != '0') {
		return true
	}
	_, err := strconv.ParseFloat(string(b), 64)
	return err == nil
}

func dial(url string, queries []map[string]any, onMsg func(*msg)) (*wsClient, error) {
	var ws *rawWS
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if ws, err = dialRaw(url, 60*time.Second); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return nil, err
	}
	c := &wsClient{ws: ws}
	go func() {
		// One buffer per client, reused: the tool's own allocation
		// and GC would otherwise weigh on the shared cores.
		var buf []byte
		for {
			b, err := ws.readMessage(buf)
			if err != nil {
				return
			}
			buf = b
			if onMsg == nil {
				continue
			}
			if m, ok := fastTransition(b); ok {
				onMsg(m)
				continue
			}
			if m, ok := fastMutationResponse(b); ok {
				onMsg(m)
				continue
			}
			var m msg
			if json.Unmarshal(bytes.Clone(b), &m) == nil {
				onMsg(&m)
			}
		}
	}()
	mods := make([]any, len(queries))
	for i, q := range queries {
		mods[i] = map[string]any{"type": "Add", "queryId": i, "udfPath": q["path"], "args": []any{q["args"]}}
	}
	if err := c.send(map[string]any{"type": "Connect", "sessionId": fmt.Sprintf("load-%d-%d", os.Getpid(), sessionSeq.Add(1)), "connectionCount": 0, "lastCloseReason": "InitialConnect", "clientTs": time.Now().UnixMilli()}); err != nil {
		return nil, err
	}
	if err := c.send(map[string]any{"type": "ModifyQuerySet", "baseVersion": 0, "newVersion": 1, "modifications": mods}); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *wsClient) send(v any) error {
	b, _ := json.Marshal(v)
	c.ws.conn.SetWriteDeadline(time.Now().Add(30 * time.Second))
	return c.ws.writeText(b)
}

func (c *wsClient) mutation(path string, args map[string]any) (int, error) {
	c.mu.Lock()
	id := c.req
	c.req++
	c.mu.Unlock()
	return id, c.send(map[string]any{"type": "Mutation", "requestId": id, "udfPath": path, "args": []any{args}})
}

func (c *wsClient) close() { c.ws.conn.Close() }

func count(list string) map[string]any {
	return map[string]any{"path": "_test:countItems", "args": map[string]any{"listId": list}}
}

// writer is a client that sends mutations and waits for their responses.
type writer struct {
	c    *wsClient
	resp chan *msg
}

func newWriter(url string) (*writer, error) {
	w := &writer{resp: make(chan *msg, 16)}
	c, err := dial(url, nil, func(m *msg) {
		if m.Type == "MutationResponse" {
			w.resp <- m
		}
	})
	w.c = c
	return w, err
}

func (w *writer) add(list string) error {
	if _, err := w.c.mutation("_test:addItem", map[string]any{"listId": list, "text": "x"}); err != nil {
		return err
	}
	select {
	case m := <-w.resp:
		if !m.Success {
			return fmt.Errorf("mutation failed: %s", m.Result)
		}
		return nil
	case <-time.After(30 * time.Second):
		return fmt.Errorf("no MutationResponse within 30 s")
	}
}

func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	i := int(float64(len(d)-1) * p)
	return d[i]
}

// fanOut: S subscribers of one list, one writer; each write's delivery
// latency to every subscriber, from sending the mutation to receiving the
// Transition with the new count. The next write waits for all deliveries
// (or a timeout), so every value must arrive: a missing one is lost. The
// first warmup writes (cold caches, the first re-run on every socket) are
// delivered and checked like the others but not timed.
func fanOut(sizes []int, writes, warmup int, perWrite bool) error {
	for _, s := range sizes {
		ch, err := startChild()
		if err != nil {
			return err
		}
		total := warmup + writes
		lats := make([][]time.Duration, s) // per subscriber: no shared lock
		var sentAt atomic.Int64
		seen := make([][]bool, s)
		// got counts deliveries; the one that reaches target signals all,
		// so the writer sleeps instead of polling on the shared cores.
		var got, target atomic.Int64
		all := make(chan struct{}, 1)
		subs := make([]*wsClient, s)
		var ready sync.WaitGroup
		ready.Add(s)
		for i := 0; i < s; i++ {
			i := i
			seen[i] = make([]bool, total+1)
			lats[i] = make([]time.Duration, 0, writes)
			first := true
			subs[i], err = dial(ch.url(), []map[string]any{count("fan")}, func(m *msg) {
				if m.Type != "Transition" {
					return
				}
				for _, md := range m.Modifications {
					if md.Type != "QueryUpdated" {
						continue
					}
					n, _ := strconv.Atoi(string(md.Value))
					if first {
						first = false
						ready.Done()
						continue
					}
					d := time.Duration(time.Now().UnixNano() - sentAt.Load())
					if n >= 0 && n <= total {
						seen[i][n] = true
					}
					if n > warmup {
						lats[i] = append(lats[i], d)
					}
					if got.Add(1) == target.Load() {
						select {
						case all <- struct{}{}:
						default:
						}
					}
				}
			})
			if err != nil {
				return fmt.Errorf("subscriber %d: %w", i, err)
			}
		}
		ready.Wait()
		w, err := newWriter(ch.url())
		if err != nil {
			return err
		}
		timeouts := 0 // writes not delivered to everyone within 10 s
		var cpu0, self0 time.Duration
		var cs0, selfCS0 int64
		var wall0 time.Time
		for k := 1; k <= total; k++ {
			if k == warmup+1 {
				cpu0, wall0, self0 = ch.cpu(), time.Now(), selfCPU()
				cs0, selfCS0 = ctxSwitches(ch.cmd.Process.Pid), ctxSwitches(os.Getpid())
			}
			target.Store(int64(k * s))
			select {
			case <-all: // a stale signal from a write that timed out
			default:
			}
			sentAt.Store(time.Now().UnixNano())
			if err := w.add("fan"); err != nil {
				return err
			}
			if got.Load() < int64(k*s) {
				select {
				case <-all:
				case <-time.After(10 * time.Second):
					timeouts++
				}
			}
		}
		cpuW, wallW, selfW := ch.cpu()-cpu0, time.Since(wall0), selfCPU()-self0
		csW, selfCSW := ctxSwitches(ch.cmd.Process.Pid)-cs0, ctxSwitches(os.Getpid())-selfCS0
		lost := 0
		for i := range seen {
			for k := 1; k <= total; k++ {
				if !seen[i][k] {
					lost++
				}
			}
		}
		if perWrite {
			for k := 0; k < writes; k++ {
				first, last := time.Duration(math.MaxInt64), time.Duration(0)
				for _, l := range lats {
					if k < len(l) {
						first, last = min(first, l[k]), max(last, l[k])
					}
				}
				fmt.Printf("  write %d: first delivery %v, last %v\n", k+1, first.Round(100*time.Microsecond), last.Round(100*time.Microsecond))
			}
		}
		var lat []time.Duration
		for _, l := range lats {
			lat = append(lat, l...)
		}
		sort.Slice(lat, func(a, b int) bool { return lat[a] < lat[b] })
		fmt.Printf("fanout S=%d writes=%d deliveries=%d p50=%v p99=%v max=%v lost=%d timeouts=%d server_cpu_per_delivery=%v client_cpu_per_delivery=%v wall_per_write=%v server_switches_per_delivery=%.2f client_switches_per_delivery=%.2f\n", s, writes, len(lat), pct(lat, .5).Round(10*time.Microsecond), pct(lat, .99).Round(10*time.Microsecond), pct(lat, 1).Round(10*time.Microsecond), lost, timeouts, cpuW/time.Duration(max(len(lat), 1)), selfW/time.Duration(max(len(lat), 1)), (wallW / time.Duration(writes)).Round(10*time.Microsecond), float64(csW)/float64(max(len(lat), 1)), float64(selfCSW)/float64(max(len(lat), 1)))
		w.c.close()
		for _, c := range subs {
			c.close()
		}
		ch.stop()
	}
	return nil
}

// precisionRun: N subscriptions to other lists (100 per socket), then
// sequential writes to a list nobody else reads; server CPU per write.
func precisionRun(sizes []int) error {
	const writes = 1000
	for _, n := range sizes {
		ch, err := startChild()
		if err != nil {
			return err
		}
		var conns []*wsClient
		var ready sync.WaitGroup
		for left, sock := n, 0; left > 0; sock++ {
			k := min(left, 100)
			left -= k
			qs := make([]map[string]any, k)
			for j := range qs {
				qs[j] = count(fmt.Sprintf("other-%d-%d", sock, j))
			}
			ready.Add(1)
			var once sync.Once
			c, err := dial(ch.url(), qs, func(m *msg) {
				if m.Type == "Transition" {
					once.Do(ready.Done)
				}
			})
			if err != nil {
				return err
			}
			conns = append(conns, c)
		}
		ready.Wait()
		w, err := newWriter(ch.url())
		if err != nil {
			return err
		}
		for i := 0; i < 100; i++ { // warm up
			if err := w.add("target"); err != nil {
				return err
			}
		}
		cpu0, t0 := ch.cpu(), time.Now()
		for i := 0; i < writes; i++ {
			if err := w.add("target"); err != nil {
				return err
			}
		}
		cpu1, el := ch.cpu(), time.Since(t0)
		fmt.Printf("precision subs=%d sockets=%d writes=%d server_cpu_per_write=%v wall_per_write=%v\n", n, len(conns), writes, (cpu1-cpu0)/writes, el/writes)
		w.c.close()
		for _, c := range conns {
			c.close()
		}
		ch.stop()
	}
	return nil
}

// memoryRun: N idle sockets, each with one subscription; the server's RSS
// growth per socket.
func memoryRun(sizes []int) error {
	for _, n := range sizes {
		ch, err := startChild()
		if err != nil {
			return err
		}
		// Warm the server (reader pool, code paths) before the baseline.
		warm, err := newWriter(ch.url())
		if err != nil {
			return err
		}
		for i := 0; i < 50; i++ {
			warm.add("warm")
		}
		time.Sleep(500 * time.Millisecond)
		base := ch.rss()
		var ready sync.WaitGroup
		conns := make([]*wsClient, 0, n)
		for i := 0; i < n; i++ {
			ready.Add(1)
			var once sync.Once
			c, err := dial(ch.url(), []map[string]any{count(fmt.Sprintf("idle-%d", i%100))}, func(m *msg) {
				if m.Type == "Transition" {
					once.Do(ready.Done)
				}
			})
			if err != nil {
				return fmt.Errorf("connection %d: %w", i, err)
			}
			conns = append(conns, c)
		}
		ready.Wait()
		time.Sleep(2 * time.Second)
		after := ch.rss()
		fmt.Printf("memory conns=%d rss_before=%.1fMB rss_after=%.1fMB per_conn=%.1fKB\n", n, float64(base)/1e6, float64(after)/1e6, float64(after-base)/float64(n)/1024)
		warm.c.close()
		for _, c := range conns {
			c.close()
		}
		ch.stop()
	}
	return nil
}

// throughput: C clients each sending small mutations back to back (one in
// flight per client, as the convex client does) for a fixed time.
func throughput(cs []int, d time.Duration) error {
	ch, err := startChild()
	if err != nil {
		return err
	}
	defer ch.stop()
	for _, n := range cs {
		var total atomic.Int64
		var wg sync.WaitGroup
		var firstErr atomic.Value
		ws := make([]*writer, n)
		for i := range ws {
			if ws[i], err = newWriter(ch.url()); err != nil {
				return err
			}
		}
		cpu0, self0 := ch.cpu(), selfCPU()
		start := time.Now()
		stop := start.Add(d)
		for i, w := range ws {
			wg.Add(1)
			go func(i int, w *writer) {
				defer wg.Done()
				list := fmt.Sprintf("tp-%d-%d", n, i)
				for time.Now().Before(stop) {
					if err := w.add(list); err != nil {
						firstErr.CompareAndSwap(nil, err)
						return
					}
					total.Add(1)
				}
			}(i, w)
		}
		wg.Wait()
		el := time.Since(start)
		if e, ok := firstErr.Load().(error); ok {
			return e
		}
		done := time.Duration(max(total.Load(), 1))
		fmt.Printf("throughput clients=%d mutations=%d rate=%.0f/s server_cpu_per_mutation=%v client_cpu_per_mutation=%v\n", n, total.Load(), float64(total.Load())/el.Seconds(), (ch.cpu()-cpu0)/done, (selfCPU()-self0)/done)
		for _, w := range ws {
			w.c.close()
		}
	}
	return nil
}
