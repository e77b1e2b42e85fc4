package mem

import (
	"fmt"
	"unsafe"
)

// Phys reads and writes host-physical memory through the hypervisor's
// identity map, which covers [0, Limit). It is the only way the rest of the
// hypervisor touches physical memory, so every access is bounds-checked
// here. It works only in the hypervisor image (GOOS=tamago), where virtual
// addresses equal physical ones; page 0 is unmapped and refused.
type Phys struct {
	// Limit is the first physical address the identity map does not cover.
	Limit uint64
}

// Slice returns the n bytes at physical address addr as a byte slice. The
// slice aliases physical memory: the caller must not keep it past the time
// it owns the frames.
func (p *Phys) Slice(addr, n uint64) ([]byte, error) {
	if addr < PageSize || addr+n < addr || addr+n > p.Limit {
		return nil, fmt.Errorf("mem: physical 0x%x-0x%x is outside the identity map (0x%x-0x%x)", addr, addr+n, PageSize, p.Limit)
	}
	if n == 0 {
		return nil, nil
	}
	return unsafe.Slice((*byte)(physPointer(addr)), n), nil
}

// ReadAt copies physical memory at offset off into b (io.ReaderAt).
func (p *Phys) ReadAt(b []byte, off int64) (int, error) {
	s, err := p.Slice(uint64(off), uint64(len(b)))
	if err != nil {
		return 0, err
	}
	return copy(b, s), nil
}

// WriteAt copies b into physical memory at offset off (io.WriterAt).
func (p *Phys) WriteAt(b []byte, off int64) (int, error) {
	s, err := p.Slice(uint64(off), uint64(len(b)))
	if err != nil {
		return 0, err
	}
	return copy(s, b), nil
}

// Zero clears n bytes at physical address addr.
func (p *Phys) Zero(addr, n uint64) error {
	s, err := p.Slice(addr, n)
	if err != nil {
		return err
	}
	clear(s)
	return nil
}

// physPointer turns a physical address into a pointer. Under the identity
// map it is also the virtual address; the memory is outside the Go heap, so
// the garbage collector never follows it.
func physPointer(addr uint64) unsafe.Pointer {
	return *(*unsafe.Pointer)(unsafe.Pointer(&addr))
}
