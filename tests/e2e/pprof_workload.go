// A known workload for perfsample's pprof reader: spinA does twice the work of spinB
// (counted in iterations, not time, so a busy machine keeps the ratio), both under work();
// the CPU profile goes to the first argument (its samples labelled phase=spin), a heap
// profile (Go labels each sample with its object size in bytes) to the second.
package main

import (
	"context"
	"os"
	"runtime"
	"runtime/pprof"
)

var sink uint64
var keep [][]byte

//go:noinline
func spinA(n int) {
	for i := 0; i < 2*n; i++ {
		sink = sink*2654435761 + uint64(i)
	}
}

//go:noinline
func spinB(n int) {
	for i := 0; i < n; i++ {
		sink = sink*2654435761 + uint64(i)
	}
}

//go:noinline
func allocate(n int) {
	for i := 0; i < n; i++ {
		keep = append(keep, make([]byte, 4096))
	}
}

func work(n int) {
	for i := 0; i < 10; i++ {
		spinA(n)
		spinB(n)
	}
}

func main() {
	f, err := os.Create(os.Args[1])
	if err != nil {
		panic(err)
	}
	runtime.MemProfileRate = 4096
	if err := pprof.StartCPUProfile(f); err != nil {
		panic(err)
	}
	// Labels on the goroutine (no extra frames): the CPU profile's samples carry them.
	pprof.SetGoroutineLabels(pprof.WithLabels(context.Background(), pprof.Labels("phase", "spin")))
	work(30000000)
	allocate(2000)
	pprof.StopCPUProfile()
	f.Close()
	h, err := os.Create(os.Args[2])
	if err != nil {
		panic(err)
	}
	runtime.GC()
	if err := pprof.WriteHeapProfile(h); err != nil {
		panic(err)
	}
	h.Close()
}
