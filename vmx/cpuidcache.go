package vmx

// CPUIDCache is a vCPU's direct-mapped cache of CPUID answers. The exit
// path in assembly (vmexit in vmx_amd64.s) answers a CPUID exit from it
// without entering Go; the hypervisor fills it with the answers that do not
// change while the vCPU runs. The slot function and the entry layout are
// the assembly's too: change them together.
type CPUIDCache [CPUIDCacheSlots]CPUIDEntry

// CPUIDCacheSlots is the number of slots (a power of two).
const CPUIDCacheSlots = 16

// CPUIDEntry is one cached answer: 32 bytes, so that the assembly finds a
// slot by shifting its index by 5.
type CPUIDEntry struct {
	Leaf, Sub uint32
	Valid     uint32
	_         uint32
	Out       [4]uint32 // EAX, EBX, ECX, EDX
}

// cpuidEntryShift is log2 of the size of a CPUIDEntry (a test checks it).
const cpuidEntryShift = 5

// CPUIDSlot returns the slot of a leaf and subleaf:
// (leaf ^ leaf>>29 ^ sub*5) mod CPUIDCacheSlots, which keeps the basic,
// hypervisor (0x4000_0000) and extended (0x8000_0000) leaves apart.
func CPUIDSlot(leaf, sub uint32) uint32 {
	return (leaf ^ leaf>>29 ^ sub*5) & (CPUIDCacheSlots - 1)
}

// Get returns the cached answer for a leaf and subleaf, if there is one.
func (c *CPUIDCache) Get(leaf, sub uint32) ([4]uint32, bool) {
	e := &c[CPUIDSlot(leaf, sub)]
	if e.Valid != 0 && e.Leaf == leaf && e.Sub == sub {
		return e.Out, true
	}
	return [4]uint32{}, false
}

// Put caches an answer, evicting the one in its slot.
func (c *CPUIDCache) Put(leaf, sub uint32, out [4]uint32) {
	c[CPUIDSlot(leaf, sub)] = CPUIDEntry{Leaf: leaf, Sub: sub, Valid: 1, Out: out}
}

// Clear empties the cache (the answers depend on state that changed).
func (c *CPUIDCache) Clear() { *c = CPUIDCache{} }
