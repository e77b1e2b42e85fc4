package vmx

import (
	"encoding/binary"
	"unsafe"

	"tamavisor/x86"
)

// tss is the host's task-state segment. VM entry requires a non-null host
// TR (SDM Vol. 3C 27.2.3); tamavisor runs at CPL 0 without IST stacks, so
// the TSS holds nothing but must exist. Go globals never move.
var tss [104]byte

func tssBase() uint64 { return uint64(uintptr(unsafe.Pointer(&tss[0]))) }

// installTSS writes a 64-bit TSS descriptor for tss at GDT selector 0x18
// (SDM Vol. 3A 8.2.3 "TSS Descriptor in 64-bit mode") and loads TR.
func (p *Processor) installTSS() error {
	base := tssBase()
	limit := uint64(len(tss) - 1)
	gdt, _ := x86.SGDT()
	lo := limit&0xffff | (base&0xffffff)<<16 | 0x89<<40 | (limit>>16&0xf)<<48 | (base>>24&0xff)<<56 // type 9 (available 64-bit TSS), present
	hi := base >> 32
	d, err := p.phys.Slice(gdt+trSelector, 16)
	if err != nil {
		return err
	}
	binary.LittleEndian.PutUint64(d[0:], lo)
	binary.LittleEndian.PutUint64(d[8:], hi)
	x86.LTR(trSelector)
	return nil
}
