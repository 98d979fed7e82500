package parallel

import (
	"sync/atomic"
	"testing"
)

func TestForCallsEveryIndexOnceWithinTheBound(t *testing.T) {
	for _, workers := range []int{0, 1, 3} {
		const n = 200
		var calls [n]atomic.Int32
		var running, peak atomic.Int32
		For(n, workers, func(i int) {
			r := running.Add(1)
			for {
				p := peak.Load()
				if r <= p || peak.CompareAndSwap(p, r) {
					break
				}
			}
			calls[i].Add(1)
			running.Add(-1)
		})
		for i := range calls {
			if c := calls[i].Load(); c != 1 {
				t.Fatalf("workers=%d: index %d called %d times", workers, i, c)
			}
		}
		if workers > 0 && peak.Load() > int32(workers) {
			t.Errorf("workers=%d: %d calls ran at once", workers, peak.Load())
		}
	}
	For(0, 2, func(int) { t.Error("called for an empty range") })
}
