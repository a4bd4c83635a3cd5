package main

import (
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// pinProcess must reach every thread of the process, not only the calling
// one, and size GOMAXPROCS to the CPUs given.
func TestPinProcessPinsEveryThread(t *testing.T) {
	if runtime.NumCPU() < 2 {
		t.Fatalf("this test needs 2 CPUs; the machine has %d", runtime.NumCPU())
	}
	all := make([]int, runtime.NumCPU())
	for i := range all {
		all[i] = i
	}
	procs := runtime.GOMAXPROCS(0)
	t.Cleanup(func() {
		if err := pinProcess(all); err != nil {
			t.Error(err)
		}
		runtime.GOMAXPROCS(procs)
	})
	if err := pinProcess([]int{1}); err != nil {
		t.Fatal(err)
	}
	if runtime.GOMAXPROCS(0) != 1 {
		t.Fatalf("GOMAXPROCS %d after pinning to one CPU", runtime.GOMAXPROCS(0))
	}
	tasks, _ := filepath.Glob("/proc/self/task/*")
	if len(tasks) < 2 {
		t.Fatalf("only %d threads: the test shows nothing", len(tasks))
	}
	for _, task := range tasks {
		tid, _ := strconv.Atoi(filepath.Base(task))
		var set unix.CPUSet
		if err := unix.SchedGetaffinity(tid, &set); err != nil {
			continue // the thread ended
		}
		if set.Count() != 1 || !set.IsSet(1) {
			t.Errorf("thread %d may run on %d CPUs (CPU 1 set: %v)", tid, set.Count(), set.IsSet(1))
		}
	}
	if _, _, err := pinPlan(); err != nil {
		t.Errorf("pinPlan on %d CPUs: %v", runtime.NumCPU(), err)
	}
}
