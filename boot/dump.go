package boot

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// A boot dump is what the hypervisor prints with tamavisor.dump=boot: the
// boot registers, the boot information snapshot, the ACPI tables, the CPUID
// leaves and MSRs it read. Dumps recorded in QEMU and Bochs are the host
// tests' testdata (boot/testdata), so that the parsers are tested on what
// firmware and boot loaders really produce. Each line is
//
//	hv: dump: boot magic=0x36d76289 info=0x10000 overflow=0
//	hv: dump: snapshot <offset> <hex>
//	hv: dump: mem 0x<address> <hex>
//	hv: dump: cpuid 0x<leaf> 0x<subleaf> <eax> <ebx> <ecx> <edx>
//	hv: dump: msr 0x<msr> 0x<value>
//	hv: dump: end

// DumpPrefix starts every dump line.
const DumpPrefix = "hv: dump: "

// DumpChunk is the number of bytes on one snapshot or mem line.
const DumpChunk = 64

// Dump is a parsed boot dump.
type Dump struct {
	Magic, Info uint32
	Overflow    uint32
	Snapshot    []byte
	Mem         SparseMemory
	CPUID       map[[2]uint32][4]uint32
	MSR         map[uint32]uint64
}

// SparseMemory is physical memory known in pieces. Bytes nobody recorded
// read as zero, as unused firmware areas mostly do.
type SparseMemory map[uint64][]byte

// ReadAt implements io.ReaderAt over physical addresses.
func (m SparseMemory) ReadAt(p []byte, off int64) (int, error) {
	clear(p)
	lo, hi := uint64(off), uint64(off)+uint64(len(p))
	for addr, b := range m {
		end := addr + uint64(len(b))
		if addr < hi && lo < end {
			s, e := max(addr, lo), min(end, hi)
			copy(p[s-lo:e-lo], b[s-addr:e-addr])
		}
	}
	return len(p), nil
}

// CPUIDFunc returns the recorded CPUID; unrecorded leaves read as zeros.
func (d *Dump) CPUIDFunc() CPUIDFunc {
	return func(leaf, sub uint32) (a, b, c, dx uint32) {
		r := d.CPUID[[2]uint32{leaf, sub}]
		return r[0], r[1], r[2], r[3]
	}
}

// ReadMSR returns a recorded MSR, or an error for one never read.
func (d *Dump) ReadMSR(msr uint32) (uint64, error) {
	v, ok := d.MSR[msr]
	if !ok {
		return 0, fmt.Errorf("MSR %#x was not recorded", msr)
	}
	return v, nil
}

// ParseDump reads the dump lines out of a serial log; other lines are
// ignored.
func ParseDump(r io.Reader) (*Dump, error) {
	d := &Dump{Mem: SparseMemory{}, CPUID: map[[2]uint32][4]uint32{}, MSR: map[uint32]uint64{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	n, ended, started := 0, false, false
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), "\r")
		i := strings.Index(line, DumpPrefix)
		if i < 0 {
			continue
		}
		f := strings.Fields(line[i+len(DumpPrefix):])
		if len(f) == 0 {
			return nil, fmt.Errorf("dump line %d: empty", n)
		}
		var err error
		switch f[0] {
		case "boot":
			started = true
			for _, kv := range f[1:] {
				k, v, _ := strings.Cut(kv, "=")
				var x uint64
				if x, err = strconv.ParseUint(v, 0, 32); err != nil {
					break
				}
				switch k {
				case "magic":
					d.Magic = uint32(x)
				case "info":
					d.Info = uint32(x)
				case "overflow":
					d.Overflow = uint32(x)
				}
			}
		case "snapshot":
			var off uint64
			var b []byte
			if off, b, err = addrHex(f); err == nil {
				if off != uint64(len(d.Snapshot)) {
					err = fmt.Errorf("snapshot offset %#x, expected %#x", off, len(d.Snapshot))
				}
				d.Snapshot = append(d.Snapshot, b...)
			}
		case "mem":
			var addr uint64
			var b []byte
			if addr, b, err = addrHex(f); err == nil {
				d.Mem[addr] = b
			}
		case "cpuid":
			var v [6]uint64
			if v, err = numbers6(f); err == nil {
				d.CPUID[[2]uint32{uint32(v[0]), uint32(v[1])}] = [4]uint32{uint32(v[2]), uint32(v[3]), uint32(v[4]), uint32(v[5])}
			}
		case "msr":
			if len(f) != 3 {
				err = fmt.Errorf("want msr <number> <value>")
				break
			}
			var m, v uint64
			if m, err = strconv.ParseUint(f[1], 0, 32); err == nil {
				v, err = strconv.ParseUint(f[2], 0, 64)
				d.MSR[uint32(m)] = v
			}
		case "end":
			ended = true
		default:
			err = fmt.Errorf("unknown record %q", f[0])
		}
		if err != nil {
			return nil, fmt.Errorf("dump line %d: %v", n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if !started || !ended {
		return nil, fmt.Errorf("dump: incomplete (boot line %v, end line %v)", started, ended)
	}
	return d, nil
}

func addrHex(f []string) (uint64, []byte, error) {
	if len(f) != 3 {
		return 0, nil, fmt.Errorf("want %s <address> <hex>", f[0])
	}
	a, err := strconv.ParseUint(f[1], 0, 64)
	if err != nil {
		return 0, nil, err
	}
	b, err := hex.DecodeString(f[2])
	return a, b, err
}

func numbers6(f []string) (v [6]uint64, err error) {
	if len(f) != 7 {
		return v, fmt.Errorf("want cpuid <leaf> <subleaf> <eax> <ebx> <ecx> <edx>")
	}
	for i := range v {
		if v[i], err = strconv.ParseUint(f[i+1], 0, 32); err != nil {
			return v, err
		}
	}
	return v, nil
}

// DumpLines formats a dump for printing; the hypervisor prints these lines
// with its "hv" logger (which adds the "hv: " prefix).
func (d *Dump) DumpLines() []string {
	out := []string{fmt.Sprintf("dump: boot magic=%#x info=%#x overflow=%d", d.Magic, d.Info, d.Overflow)}
	for off := 0; off < len(d.Snapshot); off += DumpChunk {
		out = append(out, fmt.Sprintf("dump: snapshot %#x %x", off, d.Snapshot[off:min(off+DumpChunk, len(d.Snapshot))]))
	}
	addrs := make([]uint64, 0, len(d.Mem))
	for a := range d.Mem {
		addrs = append(addrs, a)
	}
	sort.Slice(addrs, func(i, j int) bool { return addrs[i] < addrs[j] })
	for _, a := range addrs {
		b := d.Mem[a]
		for off := 0; off < len(b); off += DumpChunk {
			out = append(out, fmt.Sprintf("dump: mem %#x %x", a+uint64(off), b[off:min(off+DumpChunk, len(b))]))
		}
	}
	leaves := make([][2]uint32, 0, len(d.CPUID))
	for k := range d.CPUID {
		leaves = append(leaves, k)
	}
	sort.Slice(leaves, func(i, j int) bool {
		return leaves[i][0] < leaves[j][0] || leaves[i][0] == leaves[j][0] && leaves[i][1] < leaves[j][1]
	})
	for _, k := range leaves {
		r := d.CPUID[k]
		out = append(out, fmt.Sprintf("dump: cpuid %#x %#x %#08x %#08x %#08x %#08x", k[0], k[1], r[0], r[1], r[2], r[3]))
	}
	msrs := make([]uint32, 0, len(d.MSR))
	for m := range d.MSR {
		msrs = append(msrs, m)
	}
	sort.Slice(msrs, func(i, j int) bool { return msrs[i] < msrs[j] })
	for _, m := range msrs {
		out = append(out, fmt.Sprintf("dump: msr %#x %#x", m, d.MSR[m]))
	}
	return append(out, "dump: end")
}

// DumpedCPUIDLeaves are the CPUID leaves a boot dump records.
var DumpedCPUIDLeaves = [][2]uint32{
	{0, 0}, {1, 0}, {6, 0}, {7, 0}, {0xd, 0}, {0xd, 1}, {0x15, 0}, {0x16, 0},
	{0x4000_0000, 0},
	{0x8000_0000, 0}, {0x8000_0001, 0}, {0x8000_0002, 0}, {0x8000_0003, 0},
	{0x8000_0004, 0}, {0x8000_0007, 0}, {0x8000_0008, 0}, {0x8000_000a, 0},
}
