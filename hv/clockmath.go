package hv

import "math/bits"

func mul64(a, b uint64) (hi, lo uint64) { return bits.Mul64(a, b) }

// div128 divides hi:lo by d, saturating when the quotient overflows.
func div128(hi, lo, d uint64) uint64 {
	if d == 0 || hi >= d {
		return ^uint64(0)
	}
	q, _ := bits.Div64(hi, lo, d)
	return q
}
