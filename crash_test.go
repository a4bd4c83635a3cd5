package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/opencom-go/opencom/server/schema"
	"github.com/opencom-go/opencom/sqlstore"
)

// crashWriterEnv makes the test binary act as the crash-test writer
// (see TestMain) on the database it names.
const (
	crashWriterEnv        = "CRASH_WRITER_DB"
	crashWriterDurability = "CRASH_WRITER_DURABILITY"
)

// crashWriterMain writes rows from several goroutines (so group commit is
// exercised) and prints "ack <id>" after each Write returned nil. It runs
// until it is killed.
func crashWriterMain() int {
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, os.Getenv(crashWriterEnv), sqlstore.Options{
		Durability: os.Getenv(crashWriterDurability), Migrations: schema.Migrations(),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "crash writer:", err)
		return 1
	}
	var outMu sync.Mutex
	fmt.Println("ready")
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				var id string
				_, err := s.Write(ctx, func(tx *sqlstore.Tx) error {
					var err error
					id, err = tx.Insert("testItems", sqlstore.Doc{"listId": "crash", "text": fmt.Sprintf("g%d-%d", g, n)})
					return err
				})
				if err != nil {
					fmt.Fprintln(os.Stderr, "crash writer:", err)
					os.Exit(1)
				}
				// One write(2) per line: what the parent reads was
				// acknowledged before the kill.
				outMu.Lock()
				os.Stdout.WriteString("ack " + id + "\n")
				outMu.Unlock()
			}
		}()
	}
	wg.Wait()
	return 0
}

// TestCrashSafety kills a writer with SIGKILL mid-stream, repeatedly on the
// same database, and checks that every acknowledged row survived and the
// file is intact. "full" only adds fsync (power loss), so both modes must
// pass a process crash.
func TestCrashSafety(t *testing.T) {
	db := filepath.Join(t.TempDir(), "crash.db")
	acked := map[string]bool{}
	rounds := []struct {
		durability string
		killAfter  int // acknowledgements to wait for before the kill
	}{
		{"normal", 50}, {"normal", 300}, {"full", 40}, {"normal", 1000}, {"full", 150}, {"normal", 7},
	}
	for i, r := range rounds {
		t.Run(fmt.Sprintf("round%d-%s", i+1, r.durability), func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(cleanEnv(), crashWriterEnv+"="+db, crashWriterDurability+"="+r.durability)
			var stderr syncBuffer
			cmd.Stderr = &stderr
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(out)
			n, killed := 0, false
			for sc.Scan() {
				line := sc.Text()
				if id, ok := strings.CutPrefix(line, "ack "); ok {
					acked[id] = true
					n++
				} else if line != "ready" {
					t.Errorf("unexpected writer output %q", line)
				}
				if n >= r.killAfter && !killed {
					cmd.Process.Kill()
					killed = true
				}
			}
			// Lines still in the pipe after the kill were acknowledged too;
			// the scanner has read them all by EOF.
			cmd.Wait()
			if !killed {
				t.Fatalf("writer stopped by itself after %d acks: %s", n, stderr.String())
			}
			if n < r.killAfter {
				t.Fatalf("only %d acks before EOF", n)
			}

			if err := sqlstore.IntegrityCheck(context.Background(), db); err != nil {
				t.Fatalf("after SIGKILL: %v", err)
			}
			s, err := sqlstore.Open(context.Background(), db, sqlstore.Options{Migrations: schema.Migrations()})
			if err != nil {
				t.Fatalf("reopen after SIGKILL: %v", err)
			}
			present := map[string]bool{}
			_, err = s.Read(context.Background(), func(tx *sqlstore.Tx) error {
				docs, err := tx.Query("testItems").Eq("listId", "crash").Collect()
				for _, d := range docs {
					present[d.ID()] = true
				}
				return err
			})
			s.Close()
			if err != nil {
				t.Fatal(err)
			}
			missing := 0
			for id := range acked {
				if !present[id] {
					missing++
				}
			}
			if missing > 0 {
				t.Fatalf("%d of %d acknowledged rows lost after SIGKILL", missing, len(acked))
			}
			if err := sqlstore.IntegrityCheck(context.Background(), db); err != nil {
				t.Fatalf("after reopen: %v", err)
			}
		})
	}
}
