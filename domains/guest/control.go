//go:build tamago

package guest

import (
	"tamavisor/abi"
	"tamavisor/domains/board"
	"tamavisor/xen"
)

// Domain control: tamavisor's own operations for the privileged domain
// (abi.Op*, docs/hypercalls.md). Other domains get -EPERM.

func control(op uint64, a1, a2, a3 uint64) int64 {
	return board.Hypercall(xen.HypercallTamavisor, op, a1, a2, a3, 0)
}

// ListDomains returns every live domain.
func ListDomains() ([]abi.DomainInfo, error) {
	const max = 64
	buf := make([]byte, max*abi.DomainInfoSize)
	r := control(abi.OpDomainList, addr(&buf[0]), max, 0)
	if err := check("domain_list", r); err != nil {
		return nil, err
	}
	out := make([]abi.DomainInfo, r)
	for i := range out {
		out[i], _ = abi.DecodeDomainInfo(buf[i*abi.DomainInfoSize:])
	}
	return out, nil
}

// CreateDomain creates and starts a domain from an image the hypervisor
// carries, and returns its id.
func CreateDomain(image, name string, memMiB, weight, capPct uint32, args string) (DomID, error) {
	c := abi.DomainCreate{Image: image, Name: name, MemMiB: memMiB, Weight: weight, Cap: capPct}
	var argBuf []byte
	if args != "" {
		argBuf = []byte(args)
		c.Args, c.ArgsLen = addr(&argBuf[0]), uint32(len(argBuf))
	}
	b := c.Encode()
	r := control(abi.OpDomainCreate, addr(&b[0]), 0, 0)
	if err := check("domain_create", r); err != nil {
		return 0, err
	}
	return DomID(r), nil
}

// DestroyDomain ends a domain and returns its memory.
func DestroyDomain(id DomID) error {
	return check("domain_destroy", control(abi.OpDomainDestroy, uint64(id), 0, 0))
}

// PauseDomain stops scheduling a domain; UnpauseDomain resumes it.
func PauseDomain(id DomID) error {
	return check("domain_pause", control(abi.OpDomainPause, uint64(id), 0, 0))
}

// UnpauseDomain resumes a paused domain.
func UnpauseDomain(id DomID) error {
	return check("domain_unpause", control(abi.OpDomainUnpause, uint64(id), 0, 0))
}

// SetSchedule sets a domain's weight and cap (percent of one CPU; 0: none).
func SetSchedule(id DomID, weight, capPct uint32) error {
	return check("domain_sched", control(abi.OpDomainSched, uint64(id), uint64(weight), uint64(capPct)))
}

// ConsoleWriteFor prints bytes as domain id (a console back end).
func ConsoleWriteFor(id DomID, b []byte) error {
	if len(b) == 0 {
		return nil
	}
	return check("console_write", control(abi.OpConsoleWrite, uint64(id), addr(&b[0]), uint64(len(b))))
}

// ConsoleRead reads what the hypervisor's console received for this
// domain (CONSOLEIO_read); 0 when nothing waits.
func ConsoleRead(b []byte) int {
	r := board.Hypercall(xen.HypercallConsoleIO, xen.ConsoleIORead, uint64(len(b)), addr(&b[0]), 0, 0)
	if r < 0 {
		return 0
	}
	return int(r)
}

// FreeFrames returns how many frames the hypervisor's allocator has free.
func FreeFrames() (int, error) {
	r := control(abi.OpFreeFrames, 0, 0, 0)
	return int(r), check("free_frames", r)
}
