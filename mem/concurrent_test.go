package mem

import (
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
)

// TestConcurrent runs several goroutines allocating and freeing single frames
// and contiguous runs at once (run it with -race). Each frame has an owner
// slot claimed with compare-and-swap when the frame is handed out and cleared
// before it is freed, so a frame handed to two goroutines at once is caught.
// At the end every frame is free again.
func TestConcurrent(t *testing.T) {
	const base = 0x100000
	a := mustNew(t, []Range{{base, base + 2048*PageSize}, {base + 2100*PageSize, base + 3000*PageSize}}, nil)
	owner := make([]atomic.Int32, 3000)
	claim := func(id int32, addr uint64, n int) error {
		for f := int((addr - base) / PageSize); n > 0; f, n = f+1, n-1 {
			if !owner[f].CompareAndSwap(0, id) {
				return errors.New("frame handed out twice")
			}
		}
		return nil
	}
	release := func(addr uint64, n int) {
		for f := int((addr - base) / PageSize); n > 0; f, n = f+1, n-1 {
			owner[f].Store(0)
		}
	}
	workers, iters := 8, 20_000
	if testing.Short() {
		iters = 2_000
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func(id int32) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(id), 7))
			var held []block
			fail := func(err error) { errs <- err }
			for range iters {
				switch op := r.IntN(10); {
				case op < 4:
					addr, err := a.Alloc()
					if errors.Is(err, ErrNoMemory) {
						continue
					} else if err != nil {
						fail(err)
						return
					}
					if err := claim(id, addr, 1); err != nil {
						fail(err)
						return
					}
					held = append(held, block{addr, 1})
				case op < 6:
					n := 1 + r.IntN(32)
					addr, err := a.AllocContig(n, PageSize<<r.IntN(5))
					if errors.Is(err, ErrNoMemory) {
						continue
					} else if err != nil {
						fail(err)
						return
					}
					if err := claim(id, addr, n); err != nil {
						fail(err)
						return
					}
					held = append(held, block{addr, n})
				default:
					if len(held) == 0 {
						continue
					}
					k := r.IntN(len(held))
					b := held[k]
					held[k] = held[len(held)-1]
					held = held[:len(held)-1]
					release(b.addr, b.n)
					if err := a.FreeContig(b.addr, b.n); err != nil {
						fail(err)
						return
					}
				}
				_ = a.FreeFrames()
			}
			for _, b := range held {
				release(b.addr, b.n)
				if err := a.FreeContig(b.addr, b.n); err != nil {
					fail(err)
					return
				}
			}
		}(int32(w + 1))
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	checkInvariants(t, a)
	if a.FreeFrames() != a.TotalFrames() {
		t.Fatalf("FreeFrames() = %d, TotalFrames() = %d after every goroutine freed everything", a.FreeFrames(), a.TotalFrames())
	}
}
