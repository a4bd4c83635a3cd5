package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"
)

// With -pin the server child runs alone on CPU 0 and the tool's clients on
// the other CPUs. By default both share every CPU, and the thousands of
// clients, which in production run on other machines, take about half of
// the CPU time of a fan-out; pinned, the server's share is fixed and its
// latency no longer depends on how the kernel interleaves the two.

// pinProcess restricts every thread of this process to cpus (threads
// started later inherit it from the thread that starts them) and sizes
// GOMAXPROCS to match.
func pinProcess(cpus []int) error {
	var set unix.CPUSet
	for _, c := range cpus {
		set.Set(c)
	}
	tasks, err := filepath.Glob("/proc/self/task/*")
	if err != nil || len(tasks) == 0 {
		return fmt.Errorf("list threads: %v", err)
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(filepath.Base(t))
		if err != nil {
			continue
		}
		if err := unix.SchedSetaffinity(tid, &set); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("pin thread %d: %w", tid, err)
		}
	}
	runtime.GOMAXPROCS(len(cpus))
	return nil
}

// pinPlan splits the machine's CPUs: the server gets CPU 0, clients the
// rest.
func pinPlan() (server, clients []int, err error) {
	n := runtime.NumCPU()
	if n < 2 {
		return nil, nil, fmt.Errorf("-pin needs at least 2 CPUs, this machine has %d", n)
	}
	for c := 1; c < n; c++ {
		clients = append(clients, c)
	}
	return []int{0}, clients, nil
}
