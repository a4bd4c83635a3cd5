package sync

import (
	"sync/atomic"
	"testing"
	"time"
)

type funcJob func(onPool bool)

func (f funcJob) work(onPool bool) { f(onPool) }

// Workers stuck on sockets that stopped reading must not hold back
// everyone else's updates: a helper drains the queue.
func TestPoolStartsHelperWhenAllWorkersAreStuck(t *testing.T) {
	var p flushPool
	p.start()
	release := make(chan struct{})
	defer close(release)
	var stuck atomic.Int32
	for i := 0; i < p.size; i++ {
		p.submit(funcJob(func(bool) { stuck.Add(1); <-release }))
	}
	deadline := time.Now().Add(5 * time.Second)
	for stuck.Load() < int32(p.size) {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d workers picked up a job", stuck.Load(), p.size)
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(2 * poolStall)
	ran := make(chan bool, 1)
	p.submit(funcJob(func(onPool bool) { ran <- onPool }))
	select {
	case onPool := <-ran:
		if !onPool {
			t.Fatal("the job ran, but not as a pool job")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a queued job waited behind stuck workers")
	}
}
