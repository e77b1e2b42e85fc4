package mem

import (
	"fmt"
	"slices"
)

// Range is a half-open interval [Start, End) of physical addresses. A range
// whose End is not above its Start is empty.
type Range struct {
	Start, End uint64
}

// Size returns the number of bytes in r, or 0 if r is empty.
func (r Range) Size() uint64 {
	if r.End <= r.Start {
		return 0
	}
	return r.End - r.Start
}

// String formats r as "0xSTART-0xEND" (End exclusive).
func (r Range) String() string {
	return fmt.Sprintf("%#x-%#x", r.Start, r.End)
}

// overlaps reports whether r and s share at least one byte.
func (r Range) overlaps(s Range) bool {
	return r.Size() != 0 && s.Size() != 0 && r.Start < s.End && s.Start < r.End
}

// Normalize returns the union of ranges as a new slice of non-empty ranges,
// sorted by Start, in which no two ranges overlap or touch: overlapping and
// adjacent ranges are merged, empty ones dropped. The input is not modified.
// Addresses are not aligned.
func Normalize(ranges []Range) []Range {
	out := make([]Range, 0, len(ranges))
	for _, r := range ranges {
		if r.Size() != 0 {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b Range) int {
		switch {
		case a.Start < b.Start:
			return -1
		case a.Start > b.Start:
			return 1
		}
		return 0
	})
	merged := out[:0]
	for _, r := range out {
		if n := len(merged); n > 0 && r.Start <= merged[n-1].End {
			merged[n-1].End = max(merged[n-1].End, r.End)
			continue
		}
		merged = append(merged, r)
	}
	return merged
}

// Subtract returns, as a new slice, the parts of ranges that lie outside cut,
// in the order of ranges. A range that cut splits in two yields both pieces;
// empty ranges are dropped. The input is not modified and need not be
// normalized; addresses are not aligned.
func Subtract(ranges []Range, cut Range) []Range {
	out := make([]Range, 0, len(ranges)+1)
	for _, r := range ranges {
		if r.Size() == 0 {
			continue
		}
		if !r.overlaps(cut) {
			out = append(out, r)
			continue
		}
		if r.Start < cut.Start {
			out = append(out, Range{r.Start, cut.Start})
		}
		if cut.End < r.End {
			out = append(out, Range{cut.End, r.End})
		}
	}
	return out
}

// alignUp rounds x up to a multiple of a (a power of two); ok is false if the
// result does not fit in 64 bits.
func alignUp(x, a uint64) (y uint64, ok bool) {
	y = (x + a - 1) &^ (a - 1)
	return y, y >= x
}

// alignDown rounds x down to a multiple of a (a power of two).
func alignDown(x, a uint64) uint64 {
	return x &^ (a - 1)
}

// inward shrinks r to the whole frames it contains, clipped to MaxPhysAddr;
// the result may be empty.
func inward(r Range) Range {
	start, ok := alignUp(r.Start, PageSize)
	end := alignDown(min(r.End, MaxPhysAddr), PageSize)
	if !ok || end <= start {
		return Range{}
	}
	return Range{start, end}
}

// outward grows r to every frame it touches, clipped to MaxPhysAddr; the
// result may be empty.
func outward(r Range) Range {
	if r.Size() == 0 || r.Start >= MaxPhysAddr {
		return Range{}
	}
	end, _ := alignUp(min(r.End, MaxPhysAddr), PageSize) // MaxPhysAddr is aligned: no overflow
	return Range{alignDown(r.Start, PageSize), end}
}
