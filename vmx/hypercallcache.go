package vmx

// HypercallCache is a vCPU's direct-mapped cache of hypercall answers that
// cannot change while the domain lives: a call with no pointer argument,
// no side effect and a constant result, such as xen_version(XENVER_version)
// (public/version.h). The exit path in assembly (vmexit in vmx_amd64.s)
// answers a VMCALL from it, for a guest in 64-bit mode at CPL 0 (Xen's
// x86-64 convention: number in RAX, first argument in RDI, result in RAX,
// public/xen.h), without entering Go. The hypervisor decides what is cached
// and fills it with its own handler's answers. The slot function and the
// entry layout are the assembly's too: change them together.
type HypercallCache [HypercallCacheSlots]HypercallEntry

// HypercallCacheSlots is the number of slots (a power of two).
const HypercallCacheSlots = 4

// HypercallEntry is one cached answer: 32 bytes, so that the assembly finds
// a slot by shifting its index by 5.
type HypercallEntry struct {
	Nr, Arg uint64 // RAX and RDI, compared in full
	Ret     uint64 // RAX on return
	Valid   uint64
}

// hypercallEntryShift is log2 of the size of a HypercallEntry (a test
// checks it).
const hypercallEntryShift = 5

// HypercallSlot returns the slot of a hypercall number and first argument:
// (nr ^ arg) mod HypercallCacheSlots.
func HypercallSlot(nr, arg uint64) uint64 {
	return (nr ^ arg) & (HypercallCacheSlots - 1)
}

// Get returns the cached answer for a hypercall, if there is one.
func (c *HypercallCache) Get(nr, arg uint64) (uint64, bool) {
	e := &c[HypercallSlot(nr, arg)]
	if e.Valid != 0 && e.Nr == nr && e.Arg == arg {
		return e.Ret, true
	}
	return 0, false
}

// Put caches an answer, evicting the one in its slot.
func (c *HypercallCache) Put(nr, arg, ret uint64) {
	c[HypercallSlot(nr, arg)] = HypercallEntry{Nr: nr, Arg: arg, Ret: ret, Valid: 1}
}

// Clear empties the cache.
func (c *HypercallCache) Clear() { *c = HypercallCache{} }
