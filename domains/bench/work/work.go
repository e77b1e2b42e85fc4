// Package work is the CPU-bound loop that `make bench` runs twice, bare in
// the hypervisor (before any domain) and inside a domain, to measure what
// running as a domain costs a computation that makes no exits of its own.
package work

// Loop runs n rounds of integer mixing (xorshift64* and a running sum) and
// returns the result, so that the compiler cannot drop the work. It is
// never inlined: inlined, its registers depend on the caller's code, and
// the bare and the domain runs would time different instructions.
//
//go:noinline
func Loop(n int) uint64 {
	x, sum := uint64(0x9e3779b97f4a7c15), uint64(0)
	for i := 0; i < n; i++ {
		x ^= x >> 12
		x ^= x << 25
		x ^= x >> 27
		sum += x * 0x2545f4914f6cdd1d
	}
	return sum
}

// Rounds is how many rounds the benchmark runs: about 80 million emulated
// instructions, two seconds of Bochs's virtual time.
const Rounds = 8_000_000
