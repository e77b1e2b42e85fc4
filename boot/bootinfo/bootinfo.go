// Package bootinfo owns the interpretation of what the boot loader handed
// over: it parses the snapshot the 32-bit entry code takes of the loader's
// boot information (see Snapshot) and decodes it, whichever
// of the three supported boot protocols was used (PVH, Multiboot or
// Multiboot2), into one protocol-neutral Info: memory map, command line, boot
// loader name, modules and ACPI RSDP.
//
// The input is loader- and firmware-supplied, so it is treated as hostile:
// nothing here panics on bad input, every length and count is bounded (see
// MaxString, MaxRegions, MaxModules, MaxMultiboot2Size) before anything is
// allocated, and errors say what is wrong and where. Oddities that do not
// stop the boot are reported in Info.Warnings rather than dropped.
//
// The package is plain Go with no privileged code; it runs after the Go
// runtime is up, on the snapshot, never on live low memory.
package bootinfo

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
)

// Magic values that identify the boot protocol.
const (
	// MultibootMagic is the EAX value of a Multiboot (0.6.96) loader
	// (Multiboot spec §3.2 "Machine state").
	MultibootMagic = 0x2badb002
	// Multiboot2Magic is the EAX value of a Multiboot2 loader (Multiboot2
	// spec §3.3 "I386 machine state").
	Multiboot2Magic = 0x36d76289
	// PVHMagic is the first field of a PVH start_info, which EBX points at
	// (Xen public header arch-x86/hvm/start_info.h,
	// XEN_HVM_START_MAGIC_VALUE). EAX is undefined for PVH.
	PVHMagic = 0x336ec578
)

// Bounds on loader-supplied sizes and counts. Exceeding one is an error,
// never a truncation.
const (
	// MaxString is the longest string, including its NUL, read from the
	// boot information (command lines, loader and module names).
	MaxString = 4096
	// MaxRegions is the most memory map entries accepted.
	MaxRegions = 2048
	// MaxModules is the most boot modules accepted.
	MaxModules = 256
	// MaxMultiboot2Size is the largest Multiboot2 total_size accepted.
	MaxMultiboot2Size = 1 << 20
	// maxWarnings bounds Info.Warnings; one more entry says the rest were
	// suppressed.
	maxWarnings = 64
)

var (
	// ErrNoBootInfo is matched (with errors.Is) by Parse's error when
	// EAX/EBX identify none of the supported protocols.
	ErrNoBootInfo = errors.New("bootinfo: no boot information")
	// ErrNoMemoryMap is matched (with errors.Is) by Parse's error when the
	// loader gave no usable description of memory. The wrapping error says
	// which protocol and what was present instead.
	ErrNoMemoryMap = errors.New("no memory map")
)

// Protocol is the boot protocol the loader used.
type Protocol int

// The supported boot protocols. The zero Protocol is none of them.
const (
	PVH Protocol = iota + 1
	Multiboot
	Multiboot2
)

// String returns "PVH", "Multiboot" or "Multiboot2".
func (p Protocol) String() string {
	switch p {
	case PVH:
		return "PVH"
	case Multiboot:
		return "Multiboot"
	case Multiboot2:
		return "Multiboot2"
	}
	return fmt.Sprintf("Protocol(%d)", int(p))
}

// RegionType is the type of a memory map entry, in E820 numbering, which all
// three protocols share (Multiboot spec §3.3 mmap "type", Multiboot2 spec
// §3.6.8, Xen start_info.h XEN_HVM_MEMMAP_TYPE_*). Values without a constant
// are kept as they are and treated as reserved.
type RegionType uint32

// Region types (Xen start_info.h XEN_HVM_MEMMAP_TYPE_RAM ... _PMEM).
const (
	RegionAvailable        RegionType = 1 // usable RAM
	RegionReserved         RegionType = 2
	RegionACPIReclaimable  RegionType = 3 // ACPI tables, usable once parsed
	RegionACPINVS          RegionType = 4 // preserved across hibernation
	RegionUnusable         RegionType = 5 // defective RAM
	RegionDisabled         RegionType = 6
	RegionPersistentMemory RegionType = 7
)

// String names the type, or gives its number when it has no name.
func (t RegionType) String() string {
	switch t {
	case RegionAvailable:
		return "available"
	case RegionReserved:
		return "reserved"
	case RegionACPIReclaimable:
		return "ACPI reclaimable"
	case RegionACPINVS:
		return "ACPI NVS"
	case RegionUnusable:
		return "unusable"
	case RegionDisabled:
		return "disabled"
	case RegionPersistentMemory:
		return "persistent memory"
	}
	return fmt.Sprintf("type %d", uint32(t))
}

// Region is one memory map entry: Size bytes of physical memory from Start.
type Region struct {
	Start, Size uint64
	Type        RegionType
}

// End returns the first address after the region, saturated at the top of
// the address space (a region ending exactly at 2^64 loses its last byte).
func (r Region) End() uint64 {
	if r.Size > math.MaxUint64-r.Start {
		return math.MaxUint64
	}
	return r.Start + r.Size
}

// String formats the region as "[start-end) type".
func (r Region) String() string {
	return fmt.Sprintf("[%#x-%#x) %v", r.Start, r.End(), r.Type)
}

// Module is a boot module the loader placed in memory: Size bytes at
// physical address Start, with its own command line.
type Module struct {
	Start, Size uint64
	Cmdline     string
}

// Info is the protocol-neutral description of what the loader handed over.
type Info struct {
	// Protocol is the boot protocol the loader used.
	Protocol Protocol
	// Loader is the boot loader's name, "" if it gave none.
	Loader string
	// Cmdline is the hypervisor's command line, "" if none.
	Cmdline string
	// MemoryMap is the memory map as the loader gave it, in its order,
	// including zero-length and overlapping entries (which are reported
	// in Warnings). It is only synthesized from Multiboot's
	// mem_lower/mem_upper when there is no memory map, and MemorySource
	// and Warnings then say so.
	MemoryMap []Region
	// MemorySource says where MemoryMap came from, e.g. "multiboot2
	// memory map tag" or "PVH memmap".
	MemorySource string
	// RSDP is a copy of the ACPI RSDP when the loader handed one over,
	// else nil: the 20-byte RSDPv1 of Multiboot2 tag 14, or the whole
	// payload (at least 36 bytes) of tag 15, which wins when both exist.
	RSDP []byte
	// RSDPAddr is the physical address of the ACPI RSDP when the loader
	// gave one (PVH rsdp_paddr), else 0.
	RSDPAddr uint64
	// EFIMemoryMap reports a Multiboot2 EFI memory map tag (17). It is
	// not decoded.
	EFIMemoryMap bool
	// Modules are the boot modules, in the loader's order.
	Modules []Module
	// Warnings are non-fatal oddities in the boot information, each
	// prefixed with the protocol.
	Warnings []string
}

// warnf records a warning, keeping at most maxWarnings of them.
func (i *Info) warnf(format string, args ...any) {
	switch {
	case len(i.Warnings) < maxWarnings:
		i.Warnings = append(i.Warnings, fmt.Sprintf(format, args...))
	case len(i.Warnings) == maxWarnings:
		i.Warnings = append(i.Warnings, "further warnings suppressed")
	}
}

// AvailableRegions returns the memory the hypervisor may use: the union of
// the Available entries minus every byte that any other entry also claims
// (a conflict between the loader's entries is resolved towards "not
// available"). The result is sorted, disjoint, has no zero-size regions and
// every region has Type RegionAvailable. Ends saturate at 2^64-1.
func (i *Info) AvailableRegions() []Region {
	var avail, other []span
	for _, r := range i.MemoryMap {
		if r.Size == 0 {
			continue
		}
		s := span{r.Start, r.End()}
		if r.Type == RegionAvailable {
			avail = append(avail, s)
		} else {
			other = append(other, s)
		}
	}
	avail, other = union(avail), union(other)
	var out []Region
	j := 0
	for _, a := range avail {
		start := a.start
		for ; j < len(other) && other[j].end <= start; j++ {
		}
		for k := j; k < len(other) && other[k].start < a.end && start < a.end; k++ {
			if other[k].start > start {
				out = append(out, Region{Start: start, Size: other[k].start - start, Type: RegionAvailable})
			}
			start = max(start, other[k].end)
		}
		if start < a.end {
			out = append(out, Region{Start: start, Size: a.end - start, Type: RegionAvailable})
		}
	}
	return out
}

// AvailableBytes returns the total size of AvailableRegions: each available
// byte counts once, however many entries list it, and bytes that another
// entry claims as not available do not count.
func (i *Info) AvailableBytes() uint64 {
	var n uint64
	for _, r := range i.AvailableRegions() {
		n += r.Size
	}
	return n
}

// span is a half-open range [start, end).
type span struct{ start, end uint64 }

// union sorts spans and merges overlapping or adjacent ones.
func union(s []span) []span {
	sort.Slice(s, func(a, b int) bool { return s[a].start < s[b].start })
	var out []span
	for _, x := range s {
		if n := len(out); n > 0 && x.start <= out[n-1].end {
			out[n-1].end = max(out[n-1].end, x.end)
			continue
		}
		out = append(out, x)
	}
	return out
}

// Parse decodes the boot information the loader passed in EAX (magic) and
// EBX (info), reading physical memory through mem (normally the *Snapshot).
//
// Multiboot and Multiboot2 are recognized by their EAX magic. EAX is
// undefined for PVH, so otherwise the u32 at EBX is checked for the PVH
// start_info magic. A returned Info always has a non-empty MemoryMap;
// without one Parse fails with an error matching ErrNoMemoryMap.
func Parse(magic, info uint32, mem io.ReaderAt) (*Info, error) {
	if mem == nil {
		return nil, errors.New("bootinfo: no memory to read the boot information from")
	}
	m := physMem{mem}
	// PVH is recognised first, by the magic at EBX: PVH leaves EAX
	// undefined, and QEMU's microvm enters PVH kernels with EAX =
	// 0x2badb002 (seen with QEMU 7.2). A Multiboot2 total_size or a
	// Multiboot flags word never equals the PVH magic (its high bits are
	// reserved or far beyond MaxMultiboot2Size).
	v, err := m.u32(uint64(info))
	if err == nil && v == PVHMagic {
		return parsePVH(uint64(info), m)
	}
	switch magic {
	case Multiboot2Magic:
		return parseMultiboot2(uint64(info), m)
	case MultibootMagic:
		return parseMultiboot(uint64(info), m)
	}
	found := fmt.Sprintf("u32 at EBX is 0x%08x", v)
	if err != nil {
		found = fmt.Sprintf("u32 at EBX unreadable: %v", err)
	}
	return nil, fmt.Errorf("%w: EAX=0x%08x EBX=0x%08x matches neither Multiboot (0x%08x), Multiboot2 (0x%08x) nor a PVH start_info (0x%08x) (%s)",
		ErrNoBootInfo, magic, info, MultibootMagic, Multiboot2Magic, PVHMagic, found)
}

// checkMemoryMap reports odd entries of a loader-given memory map as
// warnings; the map itself is kept as given.
func checkMemoryMap(info *Info, proto string) {
	type entry struct {
		i int
		r Region
	}
	var sorted []entry
	hasAvail := false
	for i, r := range info.MemoryMap {
		switch {
		case r.Size == 0:
			info.warnf("%s: memory map entry %d has zero length", proto, i)
			continue
		case r.Size > math.MaxUint64-r.Start:
			info.warnf("%s: memory map entry %d (base %#x, length %#x) wraps past the top of the address space", proto, i, r.Start, r.Size)
		}
		if r.Type == RegionAvailable {
			hasAvail = true
		}
		sorted = append(sorted, entry{i, r})
	}
	if !hasAvail {
		info.warnf("%s: memory map has no available entries", proto)
	}
	sort.SliceStable(sorted, func(a, b int) bool { return sorted[a].r.Start < sorted[b].r.Start })
	// Sweep: an entry overlaps the one reaching furthest so far.
	var far entry
	for k, e := range sorted {
		if k > 0 && e.r.Start < far.r.End() {
			a, b := min(far.i, e.i), max(far.i, e.i)
			info.warnf("%s: memory map entries %d (%v) and %d (%v) overlap", proto, a, info.MemoryMap[a], b, info.MemoryMap[b])
		}
		if k == 0 || e.r.End() > far.r.End() {
			far = e
		}
	}
}

// basicMeminfo builds the memory map implied by Multiboot's mem_lower and
// mem_upper: mem_lower KiB from address 0 and mem_upper KiB from 1 MiB
// (Multiboot spec §3.3; Multiboot2 spec §3.6.3). Empty ranges are left out.
func basicMeminfo(lower, upper uint32) []Region {
	var out []Region
	if lower > 0 {
		out = append(out, Region{Start: 0, Size: uint64(lower) << 10, Type: RegionAvailable})
	}
	if upper > 0 {
		out = append(out, Region{Start: 1 << 20, Size: uint64(upper) << 10, Type: RegionAvailable})
	}
	return out
}

// physMem reads physical memory through an io.ReaderAt.
type physMem struct{ r io.ReaderAt }

// read returns the n bytes at physical address addr. n must already be
// bounded by the caller.
func (m physMem) read(addr, n uint64) ([]byte, error) {
	if addr > math.MaxInt64 || n > math.MaxInt64-addr {
		return nil, fmt.Errorf("physical %#x+%#x lies beyond the readable address space", addr, n)
	}
	p := make([]byte, n)
	got, err := m.r.ReadAt(p, int64(addr))
	if got >= len(p) { // io.ReaderAt may return io.EOF with a full read
		return p, nil
	}
	if err == nil {
		err = io.ErrUnexpectedEOF
	}
	if errors.Is(err, ErrNotCaptured) {
		return nil, err // already names the range
	}
	return nil, fmt.Errorf("reading physical %#x-%#x: %w", addr, addr+n, err)
}

func (m physMem) u32(addr uint64) (uint32, error) {
	b, err := m.read(addr, 4)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b), nil
}

// cstring reads the NUL-terminated string at physical address addr, at most
// MaxString bytes including the NUL. It never asks mem for bytes past the
// NUL unless mem has them: it reads in chunks and, when a chunk is not fully
// readable, continues one byte at a time, so a snapshot that holds exactly
// the string and its NUL is enough.
func (m physMem) cstring(addr uint64) (string, error) {
	if addr > math.MaxInt64-MaxString {
		return "", fmt.Errorf("string at %#x lies beyond the readable address space", addr)
	}
	buf := make([]byte, 0, 64)
	chunk := 64
	var p [64]byte
	for len(buf) < MaxString {
		want := min(chunk, MaxString-len(buf))
		pos := addr + uint64(len(buf))
		n, err := m.r.ReadAt(p[:want], int64(pos))
		n = max(0, min(n, want)) // distrust a misbehaving ReaderAt
		for k := 0; k < n; k++ {
			if p[k] == 0 {
				return string(buf) + string(p[:k]), nil
			}
		}
		buf = append(buf, p[:n]...)
		if n == want {
			continue
		}
		if chunk > 1 {
			chunk = 1 // retry the unread bytes one at a time
			continue
		}
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		if errors.Is(err, ErrNotCaptured) {
			return "", fmt.Errorf("string at %#x is not terminated within the captured bytes: %w", addr, err)
		}
		return "", fmt.Errorf("string at %#x: reading physical %#x: %w", addr, pos, err)
	}
	return "", fmt.Errorf("string at %#x is not NUL-terminated within %d bytes", addr, MaxString)
}

// cstringIn returns the NUL-terminated string at the start of b, which must
// contain the NUL and be at most MaxString bytes up to and including it.
func cstringIn(b []byte) (string, error) {
	for k, c := range b {
		if c == 0 {
			if k+1 > MaxString {
				return "", fmt.Errorf("string of %d bytes is longer than %d", k+1, MaxString)
			}
			return string(b[:k]), nil
		}
	}
	if len(b) == 0 {
		return "", errors.New("string is missing (no room for its NUL)")
	}
	return "", fmt.Errorf("string is not NUL-terminated within its %d bytes", len(b))
}
