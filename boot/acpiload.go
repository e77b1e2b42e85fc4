package boot

import (
	"fmt"
	"io"

	"tamavisor/boot/acpi"
	"tamavisor/boot/bootinfo"
)

// LoadACPI finds the RSDP the way the boot loader allows, a copy handed
// over by Multiboot2, an address from PVH, or else the BIOS area search
// (ACPI 6.5 §5.2.5.1), and loads the tables. mem reads physical memory;
// rec, when non-nil, records the root structures read (for boot dumps).
func LoadACPI(info *bootinfo.Info, mem io.ReaderAt, rec SparseMemory) (*acpi.Tables, error) {
	var rsdp *acpi.RSDP
	var err error
	switch {
	case info.RSDP != nil:
		rsdp, err = acpi.ParseRSDP(info.RSDP)
	case info.RSDPAddr != 0:
		rsdp, err = acpi.ReadRSDP(mem, info.RSDPAddr)
		record(rec, mem, info.RSDPAddr, acpi.RSDPv2Length)
	default:
		var addr uint64
		if addr, err = acpi.FindRSDP(mem); err == nil {
			record(rec, mem, addr, acpi.RSDPv2Length)
			record(rec, mem, acpi.EBDAPointer, 2)
			rsdp, err = acpi.ReadRSDP(mem, addr)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("no usable RSDP: %w", err)
	}
	tables, err := acpi.Load(mem, rsdp)
	if err != nil {
		return nil, err
	}
	if rec != nil {
		for _, t := range tables.List {
			rec[t.Addr] = t.Bytes()
		}
		if tables.RootAddr != 0 {
			var h [acpi.HeaderLength]byte
			if _, err := mem.ReadAt(h[:], int64(tables.RootAddr)); err == nil {
				if hdr, err := acpi.ParseHeader(h[:]); err == nil {
					record(rec, mem, tables.RootAddr, uint64(hdr.Length))
				}
			}
		}
	}
	return tables, nil
}

func record(rec SparseMemory, mem io.ReaderAt, addr, n uint64) {
	if rec == nil || n == 0 || n > 1<<20 {
		return
	}
	b := make([]byte, n)
	if _, err := mem.ReadAt(b, int64(addr)); err == nil {
		rec[addr] = b
	}
}
