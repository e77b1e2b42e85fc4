package mem

import "math/bits"

// region is one contiguous run of managed frames and its allocation bitmap:
// bit i of the bitmap (word i/64, bit i%64) is set when frame i, at physical
// address start+i*PageSize, is allocated. The bits past the last frame in the
// final word are kept set, so that a word equal to all ones means "no free
// frame here" without a bounds check.
type region struct {
	start  uint64   // physical address of frame 0, page-aligned
	frames int      // number of frames
	free   int      // number of clear bits below frames
	bits   []uint64 // (frames+63)/64 words
}

// newRegion returns a region of frames free frames starting at start.
func newRegion(start uint64, frames int) region {
	words := (frames + 63) / 64
	r := region{start: start, frames: frames, free: frames, bits: make([]uint64, words)}
	r.setTail()
	return r
}

// setTail sets the bits past the last frame in the final word.
func (r *region) setTail() {
	if tail := uint(r.frames % 64); tail != 0 {
		r.bits[len(r.bits)-1] |= ^uint64(0) << tail
	}
}

// end returns the first physical address after the region.
func (r *region) end() uint64 {
	return r.start + uint64(r.frames)*PageSize
}

// index returns the frame number of the page-aligned address addr, which must
// lie in the region.
func (r *region) index(addr uint64) int {
	return int((addr - r.start) / PageSize)
}

// addr returns the physical address of frame i.
func (r *region) addr(i int) uint64 {
	return r.start + uint64(i)*PageSize
}

// isSet reports whether frame i is allocated.
func (r *region) isSet(i int) bool {
	return r.bits[i>>6]&(1<<(uint(i)&63)) != 0
}

// fill sets (or clears) the bits of frames [i, j) and adjusts the free count.
// The caller guarantees that every bit in the span is currently clear (or
// set).
func (r *region) fill(i, j int, set bool) {
	if set {
		r.free -= j - i
	} else {
		r.free += j - i
	}
	for i < j {
		w, off := i>>6, uint(i)&63
		n := min(64-int(off), j-i)
		mask := ^uint64(0)
		if n < 64 {
			mask = (1<<uint(n) - 1) << off
		}
		if set {
			r.bits[w] |= mask
		} else {
			r.bits[w] &^= mask
		}
		i += n
	}
}

// nextSet returns the first allocated frame in [i, j), or j if there is none.
// Whole words of free frames are skipped at once.
func (r *region) nextSet(i, j int) int {
	for i < j {
		w, off := i>>6, uint(i)&63
		if v := r.bits[w] >> off; v != 0 {
			return min(i+bits.TrailingZeros64(v), j)
		}
		i = (w + 1) << 6
	}
	return j
}

// nextClear returns the first free frame in [i, j), or j if there is none.
// Whole words of allocated frames are skipped at once.
func (r *region) nextClear(i, j int) int {
	for i < j {
		w, off := i>>6, uint(i)&63
		if v := ^r.bits[w] >> off; v != 0 {
			return min(i+bits.TrailingZeros64(v), j)
		}
		i = (w + 1) << 6
	}
	return j
}

// findRun returns the first frame i such that frames [i, i+n) are all free
// and the address of frame i is a multiple of align (a power of two of at
// least PageSize).
func (r *region) findRun(n int, align uint64) (int, bool) {
	if n > r.free {
		return 0, false
	}
	end := r.end()
	for i := 0; ; {
		i = r.nextClear(i, r.frames)
		if i == r.frames {
			return 0, false
		}
		a, ok := alignUp(r.addr(i), align)
		if !ok || a >= end {
			return 0, false
		}
		i = r.index(a)
		if r.frames-i < n {
			return 0, false
		}
		j := r.nextSet(i, i+n)
		if j == i+n {
			return i, true
		}
		i = j + 1
	}
}

// slice returns a new region holding frames [i, j) of r, with their
// allocation bits, in a bitmap of its own (so r's can be released).
func (r *region) slice(i, j int) region {
	s := region{start: r.addr(i), frames: j - i, bits: make([]uint64, (j-i+63)/64)}
	for k := range s.bits {
		src := i + k*64
		w, off := src>>6, uint(src)&63
		v := r.bits[w] >> off
		if off != 0 && w+1 < len(r.bits) {
			v |= r.bits[w+1] << (64 - off)
		}
		s.bits[k] = v
	}
	s.setTail() // the last word may have copied bits from beyond j
	s.free = len(s.bits) * 64
	for _, v := range s.bits {
		s.free -= bits.OnesCount64(v)
	}
	return s
}
