package abi

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// ControlVersion is the version of tamavisor's own hypercall interface
// (docs/hypercalls.md). The control operations below are for the
// privileged domain (dom0) only: any other caller gets -EPERM.
const ControlVersion = 1

// Sub-operations of xen.HypercallTamavisor (RDI). 0-2 are open to every
// domain (see package xen); 3 and up are domain control.
const (
	OpVersion       = 3  // returns ControlVersion
	OpDomainCreate  = 4  // RSI = *DomainCreate; returns the new domain's id
	OpDomainDestroy = 5  // RSI = domid
	OpDomainPause   = 6  // RSI = domid
	OpDomainUnpause = 7  // RSI = domid
	OpDomainSched   = 8  // RSI = domid, RDX = weight (1-65535), R10 = cap (percent of a CPU, 0 = none)
	OpDomainList    = 9  // RSI = *[]DomainInfo, RDX = its capacity; returns the number of domains written
	OpConsoleWrite  = 10 // RSI = domid, RDX = buffer, R10 = length: print as that domain (its console back end)
	OpFreeFrames    = 11 // returns the frames the frame allocator has free
)

// DomainCreate is the argument of OpDomainCreate (little-endian, 128 bytes):
//
//	0   image[32]   name of an image the hypervisor carries (NUL-padded),
//	                or empty when ELF/ELFLen give one in the caller's memory
//	32  name[32]    the domain's name (NUL-padded)
//	64  mem_mib     uint32
//	68  weight      uint32 (0: the default, 256)
//	72  cap         uint32 (percent; 0: none)
//	76  args_len    uint32 (at most 1024)
//	80  args        uint64 (a pointer in the caller's memory)
//	88  elf         uint64 (a pointer in the caller's memory)
//	96  elf_len     uint64 (at most MaxImageSize)
//	104 reserved[24]
type DomainCreate struct {
	Image, Name         string
	MemMiB, Weight, Cap uint32
	ArgsLen             uint32
	Args, ELF, ELFLen   uint64
}

// Sizes and limits of the control structures.
const (
	DomainCreateSize = 128
	DomainInfoSize   = 128
	NameSize         = 32
	MaxArgs          = 1024
	MaxImageSize     = 32 << 20
)

// Encode returns the structure's bytes.
func (c *DomainCreate) Encode() []byte {
	b := make([]byte, DomainCreateSize)
	copy(b[0:NameSize], c.Image)
	copy(b[32:32+NameSize], c.Name)
	le := binary.LittleEndian
	le.PutUint32(b[64:], c.MemMiB)
	le.PutUint32(b[68:], c.Weight)
	le.PutUint32(b[72:], c.Cap)
	le.PutUint32(b[76:], c.ArgsLen)
	le.PutUint64(b[80:], c.Args)
	le.PutUint64(b[88:], c.ELF)
	le.PutUint64(b[96:], c.ELFLen)
	return b
}

// DecodeDomainCreate reads the structure, checking its strings and limits.
func DecodeDomainCreate(b []byte) (*DomainCreate, error) {
	if len(b) < DomainCreateSize {
		return nil, errors.New("domain_create: short structure")
	}
	le := binary.LittleEndian
	c := &DomainCreate{
		Image: cstr(b[0:NameSize]), Name: cstr(b[32 : 32+NameSize]),
		MemMiB: le.Uint32(b[64:]), Weight: le.Uint32(b[68:]), Cap: le.Uint32(b[72:]),
		ArgsLen: le.Uint32(b[76:]), Args: le.Uint64(b[80:]), ELF: le.Uint64(b[88:]), ELFLen: le.Uint64(b[96:]),
	}
	switch {
	case !ValidName(c.Name):
		return nil, fmt.Errorf("domain_create: bad name %q (printable ASCII, no space or ':')", c.Name)
	case c.Image == "" && c.ELF == 0:
		return nil, errors.New("domain_create: neither an image name nor an ELF buffer")
	case c.ELF != 0 && (c.ELFLen == 0 || c.ELFLen > MaxImageSize):
		return nil, fmt.Errorf("domain_create: ELF length %d outside 1-%d", c.ELFLen, MaxImageSize)
	case c.ArgsLen > MaxArgs:
		return nil, fmt.Errorf("domain_create: arguments of %d bytes (at most %d)", c.ArgsLen, MaxArgs)
	case c.Weight > 65535:
		return nil, fmt.Errorf("domain_create: weight %d (at most 65535)", c.Weight)
	case c.Cap > 100:
		return nil, fmt.Errorf("domain_create: cap %d%% (at most 100)", c.Cap)
	}
	return c, nil
}

// Domain states as OpDomainList reports them: its vCPU is on a CPU
// (running), waiting for one (runnable), waiting for an event or its timer
// (blocked), held by domain control (paused); or the domain has ended and
// its resources are being returned (dying) or are gone (dead).
const (
	StateCreated  = 0
	StateRunning  = 1
	StateBlocked  = 2
	StatePaused   = 3
	StateDying    = 4
	StateDead     = 5
	StateRunnable = 6
)

// StateName names a domain state.
func StateName(s uint8) string {
	names := [...]string{"created", "running", "blocked", "paused", "dying", "dead", "runnable"}
	if int(s) < len(names) {
		return names[s]
	}
	return "?"
}

// DomainInfo is one entry of OpDomainList (little-endian, 128 bytes):
//
//	0   domid     uint16
//	2   state     uint8 (State*)
//	3   flags     uint8 (bit 0: privileged)
//	4   vcpus     uint32
//	8   name[32]
//	40  mem       uint64 bytes of RAM
//	48  weight    uint32
//	52  cap       uint32
//	56  cpu_ns    uint64 time in the guest
//	64  exits     uint64
//	72  hypercalls uint64
//	80  console_gfn uint64, 88 console_port uint32
//	92  store_port  uint32, 96 store_gfn uint64
//	104 reserved[24]
type DomainInfo struct {
	ID               uint16
	State            uint8
	Privileged       bool
	VCPUs            uint32
	Name             string
	Mem              uint64
	Weight, Cap      uint32
	CPUNanos         uint64
	Exits, Hypercall uint64
	ConsoleGFN       uint64
	ConsolePort      uint32
	StorePort        uint32
	StoreGFN         uint64
}

// Encode returns the entry's bytes.
func (d *DomainInfo) Encode() []byte {
	b := make([]byte, DomainInfoSize)
	le := binary.LittleEndian
	le.PutUint16(b[0:], d.ID)
	b[2] = d.State
	if d.Privileged {
		b[3] = 1
	}
	le.PutUint32(b[4:], d.VCPUs)
	copy(b[8:8+NameSize], d.Name)
	le.PutUint64(b[40:], d.Mem)
	le.PutUint32(b[48:], d.Weight)
	le.PutUint32(b[52:], d.Cap)
	le.PutUint64(b[56:], d.CPUNanos)
	le.PutUint64(b[64:], d.Exits)
	le.PutUint64(b[72:], d.Hypercall)
	le.PutUint64(b[80:], d.ConsoleGFN)
	le.PutUint32(b[88:], d.ConsolePort)
	le.PutUint32(b[92:], d.StorePort)
	le.PutUint64(b[96:], d.StoreGFN)
	return b
}

// DecodeDomainInfo reads one entry.
func DecodeDomainInfo(b []byte) (DomainInfo, error) {
	if len(b) < DomainInfoSize {
		return DomainInfo{}, errors.New("domain_info: short entry")
	}
	le := binary.LittleEndian
	return DomainInfo{
		ID: le.Uint16(b[0:]), State: b[2], Privileged: b[3]&1 != 0, VCPUs: le.Uint32(b[4:]),
		Name: cstr(b[8 : 8+NameSize]), Mem: le.Uint64(b[40:]), Weight: le.Uint32(b[48:]), Cap: le.Uint32(b[52:]),
		CPUNanos: le.Uint64(b[56:]), Exits: le.Uint64(b[64:]), Hypercall: le.Uint64(b[72:]),
		ConsoleGFN: le.Uint64(b[80:]), ConsolePort: le.Uint32(b[88:]), StorePort: le.Uint32(b[92:]), StoreGFN: le.Uint64(b[96:]),
	}, nil
}

func cstr(b []byte) string {
	if i := strings.IndexByte(string(b), 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// Special pages: the last two pages of a domain's RAM hold its console ring
// (io/console.h) and its XenStore ring (io/xs_wire.h), as Xen's PVH domain
// builder places its "special pages" outside the RAM the guest may use. The
// start_info memory map marks them reserved; HVM_PARAM_CONSOLE_PFN and
// HVM_PARAM_STORE_PFN give their frame numbers, and grant entries 0
// (GNTTAB_RESERVED_CONSOLE) and 1 (GNTTAB_RESERVED_XENSTORE) grant them to
// the privileged domain, which serves them.
const (
	ConsolePageFromEnd = 1 // the console ring is the last page
	StorePageFromEnd   = 2 // the store ring is the one before it
	SpecialPages       = 2
)

// ValidName says whether a domain name is acceptable: 1-31 bytes of
// printable ASCII without space or ':' (the console prefixes every line
// with "d<id>.<name>:", which a control character or a colon could forge).
func ValidName(name string) bool {
	if name == "" || len(name) >= NameSize {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c <= ' ' || c >= 0x7f || c == ':' {
			return false
		}
	}
	return true
}
