package main

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// The floor scenario measures what the fan-out scenario cannot beat on
// this machine: a child process holding S plain loopback TCP connections
// writes one 256-byte message to each (from 4 goroutines, one write call
// per connection, as the sync server's pool does) and the parent's S
// reader goroutines timestamp their arrival. No WebSocket, JSON, SQLite or
// query: only the kernel's per-socket work and the goroutine wake-ups on
// both sides, which every delivery of the real server also pays.

const floorMsg = 256

func runFloorServer() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Printf("READY %s\n", ln.Addr())
	go func() {
		io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	ctl, err := ln.Accept()
	if err != nil {
		return err
	}
	var n uint32
	if err := binary.Read(ctl, binary.LittleEndian, &n); err != nil {
		return err
	}
	subs := make([]net.Conn, n)
	for i := range subs {
		if subs[i], err = ln.Accept(); err != nil {
			return err
		}
	}
	ctl.Write([]byte{1})
	r := bufio.NewReader(ctl)
	msg := make([]byte, floorMsg)
	for {
		seq, err := r.ReadByte()
		if err != nil {
			return nil
		}
		msg[0] = seq
		var next atomic.Int64
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1)) - 1
					if i >= len(subs) {
						return
					}
					subs[i].Write(msg)
				}
			}()
		}
		wg.Wait()
	}
}

func floorRun(sizes []int, writes int) error {
	for _, s := range sizes {
		ch, err := startChildWith("-floor-serve")
		if err != nil {
			return err
		}
		ctl, err := net.Dial("tcp", ch.addr)
		if err != nil {
			return err
		}
		binary.Write(ctl, binary.LittleEndian, uint32(s))
		var sentAt atomic.Int64
		var got atomic.Int64
		lats := make([][]time.Duration, s)
		conns := make([]net.Conn, s)
		for i := range conns {
			if conns[i], err = net.Dial("tcp", ch.addr); err != nil {
				return err
			}
			go func(i int, c net.Conn) {
				buf := make([]byte, floorMsg)
				for {
					if _, err := io.ReadFull(c, buf); err != nil {
						return
					}
					d := time.Duration(time.Now().UnixNano() - sentAt.Load())
					lats[i] = append(lats[i], d)
					got.Add(1)
				}
			}(i, conns[i])
		}
		if _, err := ctl.Read(make([]byte, 1)); err != nil {
			return fmt.Errorf("floor child: %w", err)
		}
		lost := 0
		cpu0, self0 := ch.cpu(), selfCPU()
		cs0, selfCS0 := ctxSwitches(ch.cmd.Process.Pid), ctxSwitches(os.Getpid())
		for k := 1; k <= writes; k++ {
			target := int64(k * s)
			sentAt.Store(time.Now().UnixNano())
			ctl.Write([]byte{byte(k)})
			deadline := time.Now().Add(10 * time.Second)
			for got.Load() < target && time.Now().Before(deadline) {
				time.Sleep(200 * time.Microsecond)
			}
			if got.Load() < target {
				lost += int(target - got.Load())
				break
			}
		}
		cpu, self := ch.cpu()-cpu0, selfCPU()-self0
		cs, selfCS := ctxSwitches(ch.cmd.Process.Pid)-cs0, ctxSwitches(os.Getpid())-selfCS0
		var lat []time.Duration
		for _, l := range lats {
			lat = append(lat, l...)
		}
		sort.Slice(lat, func(a, b int) bool { return lat[a] < lat[b] })
		fmt.Printf("floor S=%d writes=%d deliveries=%d p50=%v p99=%v max=%v lost=%d server_cpu_per_delivery=%v client_cpu_per_delivery=%v server_switches_per_delivery=%.2f client_switches_per_delivery=%.2f\n", s, writes, len(lat), pct(lat, .5).Round(10*time.Microsecond), pct(lat, .99).Round(10*time.Microsecond), pct(lat, 1).Round(10*time.Microsecond), lost, cpu/time.Duration(max(len(lat), 1)), self/time.Duration(max(len(lat), 1)), float64(cs)/float64(max(len(lat), 1)), float64(selfCS)/float64(max(len(lat), 1)))
		ctl.Close()
		for _, c := range conns {
			c.Close()
		}
		ch.stop()
	}
	return nil
}
