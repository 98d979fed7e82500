package parallel

import (
	"runtime"
	"sync"
)

// For calls fn(i) for every i in [0, n), with at most workers calls running at once (0 or less: one per CPU), and
// returns when every call has returned. fn must be safe to run concurrently for different i; results go into
// per-index slots, so the caller's order never depends on the order of work.
func For(n, workers int, fn func(i int)) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Go(func() {
			for i := range next {
				fn(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}
