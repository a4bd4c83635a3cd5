package sync

import (
	"runtime"
	gosync "sync"
	"sync/atomic"
	"time"
)

// flushPool runs the re-runs a commit causes on a few long-lived
// goroutines. A commit watched by thousands of sockets would otherwise start
// a goroutine per socket, each growing a fresh stack to encode and write its
// Transition; pool workers keep theirs. Frames from clients (mutations that
// wait for a commit) are not handled here but on the socket's own worker,
// so a slow commit never holds the pool.
type flushPool struct {
	q    chan poolJob
	once gosync.Once
	size int
	// busy[i] is when worker i started its current job (0: idle).
	busy  []atomic.Int64
	extra atomic.Int32
}

const (
	poolQueue = 1 << 16
	// poolStall is how long every worker may be on one job before a
	// helper is started: a peer that stops reading blocks its write until
	// the heartbeat drops it, and must not hold everyone else's updates.
	poolStall = 20 * time.Millisecond
	poolExtra = 1024
)

func (p *flushPool) start() {
	p.once.Do(func() {
		p.size = max(4, 2*runtime.GOMAXPROCS(0))
		p.q = make(chan poolJob, poolQueue)
		p.busy = make([]atomic.Int64, p.size)
		for i := 0; i < p.size; i++ {
			go p.worker(i)
		}
	})
}

func (p *flushPool) worker(i int) {
	for c := range p.q {
		p.busy[i].Store(time.Now().UnixNano())
		c.work(true)
		p.busy[i].Store(0)
	}
}

// poolJob is a socket whose worker loop is due (*conn; tests use others).
type poolJob interface{ work(onPool bool) }

// submit queues c (for a socket: whose running flag the caller holds).
func (p *flushPool) submit(c poolJob) {
	p.start()
	select {
	case p.q <- c:
	default:
		go c.work(false)
		return
	}
	p.unstall()
}

// unstall starts a helper that drains the queue if every worker has been
// on its current job for longer than poolStall.
func (p *flushPool) unstall() {
	if p.q == nil || len(p.q) == 0 {
		return
	}
	now := time.Now().UnixNano()
	for i := range p.busy {
		t := p.busy[i].Load()
		if t == 0 || now-t < int64(poolStall) {
			return
		}
	}
	if p.extra.Add(1) > poolExtra {
		p.extra.Add(-1)
		return
	}
	go func() {
		defer p.extra.Add(-1)
		for {
			select {
			case c := <-p.q:
				c.work(true)
			default:
				return
			}
		}
	}()
}
