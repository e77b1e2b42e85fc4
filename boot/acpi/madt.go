package acpi

// MADT layout, ACPI 6.5 §5.2.12 Multiple APIC Description Table (MADT):
// the header, then the 32-bit Local Interrupt Controller Address
// at offset 36, the 32-bit Flags at 40, and the interrupt controller
// structures from offset 44, each starting with a type byte and a length
// byte.
const (
	madtFixedLength = 44

	// MADTPCATCompat is the MADT flag saying the system also has dual
	// 8259 PICs, which must be masked when the APICs are used.
	MADTPCATCompat = 1 << 0
)

// MADT interrupt controller structure types, ACPI 6.5 §5.2.12
// (Interrupt Controller Structure Types).
const (
	MADTLocalAPIC         = 0  // §5.2.12.2 Processor Local APIC
	MADTIOAPIC            = 1  // §5.2.12.3 I/O APIC
	MADTInterruptOverride = 2  // §5.2.12.5 Interrupt Source Override
	MADTNMISource         = 3  // §5.2.12.6 Non-Maskable Interrupt Source
	MADTLocalAPICNMI      = 4  // §5.2.12.7 Local APIC NMI
	MADTLocalAPICOverride = 5  // §5.2.12.8 Local APIC Address Override
	MADTLocalX2APIC       = 9  // §5.2.12.12 Processor Local x2APIC
	MADTLocalX2APICNMI    = 10 // §5.2.12.13 Local x2APIC NMI
)

// madtMinLength is the smallest valid length of each structure type this
// package decodes; longer structures (later revisions) are accepted.
var madtMinLength = map[uint8]int{
	MADTLocalAPIC:         8,
	MADTIOAPIC:            12,
	MADTInterruptOverride: 10,
	MADTNMISource:         8,
	MADTLocalAPICNMI:      6,
	MADTLocalAPICOverride: 12,
	MADTLocalX2APIC:       16,
	MADTLocalX2APICNMI:    12,
}

// Local APIC flags, ACPI 6.5 §5.2.12.2 (Local APIC Flags), shared by the Processor
// Local x2APIC structure (§5.2.12.12).
const (
	// LocalAPICEnabled: the processor is ready for use.
	LocalAPICEnabled = 1 << 0
	// LocalAPICOnlineCapable: the processor is disabled but can be enabled
	// by the OS. Defined from MADT revision 5 (ACPI 6.3); reserved before,
	// and reserved when LocalAPICEnabled is set.
	LocalAPICOnlineCapable = 1 << 1

	// madtOnlineCapableRevision is the first MADT revision that defines
	// LocalAPICOnlineCapable.
	madtOnlineCapableRevision = 5
)

// CPU is a processor from a Processor Local APIC structure (§5.2.12.2, type
// 0) or a Processor Local x2APIC structure (§5.2.12.12, type 9).
type CPU struct {
	// APICID is the processor's local APIC ID (8-bit in type 0 entries,
	// 32-bit x2APIC ID in type 9 entries).
	APICID uint32
	// ProcessorUID is the ACPI Processor UID that matches the processor's
	// object in the namespace (8-bit in type 0 entries).
	ProcessorUID uint32
	// Flags is the raw Local APIC Flags field.
	Flags uint32
	// X2APIC tells that the entry was a type 9 (x2APIC) structure.
	X2APIC bool
	// Enabled is flag bit 0: the processor is ready for use.
	Enabled bool
	// OnlineCapable is flag bit 1 in an MADT of revision 5 or later with
	// Enabled clear: the processor can be brought online later.
	OnlineCapable bool
}

// Usable tells whether the processor can be used: Enabled, or OnlineCapable.
func (c CPU) Usable() bool { return c.Enabled || c.OnlineCapable }

// IOAPIC is an I/O APIC Structure, ACPI 6.5 §5.2.12.3 (type 1).
type IOAPIC struct {
	// ID is the I/O APIC's ID.
	ID uint8
	// Address is the physical address of its registers.
	Address uint32
	// GSIBase is the first Global System Interrupt it handles.
	GSIBase uint32
}

// InterruptOverride is an Interrupt Source Override Structure, ACPI 6.5
// §5.2.12.5 (type 2): ISA interrupt Source is wired to GSI, with polarity and
// trigger mode in Flags (MPS INTI flags, §5.2.12.5).
type InterruptOverride struct {
	Bus    uint8 // 0: ISA
	Source uint8 // bus-relative interrupt source (IRQ)
	GSI    uint32
	Flags  uint16
}

// NMISource is a Non-Maskable Interrupt Source Structure, ACPI 6.5
// §5.2.12.6 (type 3): GSI is an NMI, with MPS INTI Flags.
type NMISource struct {
	Flags uint16
	GSI   uint32
}

// LocalAPICNMI is a Local APIC NMI Structure (ACPI 6.5 §5.2.12.7, type 4)
// or a Local x2APIC NMI Structure (§5.2.12.13, type 10): NMI is connected to
// the local APIC's LINT pin LINT (0 or 1) on the processor ProcessorUID
// (0xFF, or 0xFFFFFFFF for x2APIC, means all processors).
type LocalAPICNMI struct {
	ProcessorUID uint32
	Flags        uint16 // MPS INTI flags
	LINT         uint8
	X2APIC       bool // from a type 10 structure
}

// MADT is the decoded Multiple APIC Description Table, ACPI 6.5 §5.2.12.
type MADT struct {
	// Revision is the table's revision (5 or later defines the Online
	// Capable flag).
	Revision uint8
	// LocalAPICAddress is the physical address of the local APICs: the
	// 32-bit header field, or the Local APIC Address Override structure's
	// 64-bit address (§5.2.12.8, type 5) when there is one.
	LocalAPICAddress uint64
	// Flags is the MADT flags field (MADTPCATCompat).
	Flags uint32
	// Processors lists every type 0 and type 9 structure in table order,
	// usable or not. See CPUs for the usable ones.
	Processors []CPU
	// IOAPICs lists the I/O APIC structures.
	IOAPICs []IOAPIC
	// Overrides lists the Interrupt Source Override structures.
	Overrides []InterruptOverride
	// NMISources lists the NMI Source structures.
	NMISources []NMISource
	// LocalNMIs lists the Local APIC NMI and Local x2APIC NMI structures.
	LocalNMIs []LocalAPICNMI
	// Unknown counts structures of other types, which are skipped.
	Unknown int
}

// ParseMADT decodes a MADT from its bytes (header included). It verifies the
// signature, the length and the checksum, and every structure's length:
// a structure shorter than its type requires, of length less than 2 (which
// would make the walk stall) or extending past the table is an error. Errors
// number the structures from 0 and give offsets from the start of the table;
// they carry no address (Tables.MADT adds it).
func ParseMADT(b []byte) (*MADT, error) {
	h, b, err := checkTable(b, SigMADT, "MADT", madtFixedLength)
	if err != nil {
		return nil, err
	}
	m := &MADT{
		Revision:         h.Revision,
		LocalAPICAddress: uint64(u32(b, 36)),
		Flags:            u32(b, 40),
	}
	haveOverride := false
	// Every structure is at least 2 bytes long, so the loop runs at most
	// len(b)/2 times.
	for i, off := 0, madtFixedLength; off < len(b); i++ {
		if len(b)-off < 2 {
			return nil, newErr("MADT", ErrTruncated, "entry %d at offset %#x: only %d byte left for its type and length", i, off, len(b)-off)
		}
		typ, n := b[off], int(b[off+1])
		if n < 2 {
			return nil, newErr("MADT", nil, "entry %d at offset %#x has length %d", i, off, n)
		}
		if n > len(b)-off {
			return nil, newErr("MADT", ErrTruncated, "entry %d at offset %#x: length %d extends past the end of the table at %#x", i, off, n, len(b))
		}
		if minLen, ok := madtMinLength[typ]; ok && n < minLen {
			return nil, newErr("MADT", nil, "entry %d at offset %#x: type %d has length %d, want at least %d", i, off, typ, n, minLen)
		}
		e := b[off : off+n]
		switch typ {
		case MADTLocalAPIC:
			m.Processors = append(m.Processors, m.cpu(uint32(e[3]), uint32(e[2]), u32(e, 4), false))
		case MADTLocalX2APIC:
			m.Processors = append(m.Processors, m.cpu(u32(e, 4), u32(e, 12), u32(e, 8), true))
		case MADTIOAPIC:
			m.IOAPICs = append(m.IOAPICs, IOAPIC{ID: e[2], Address: u32(e, 4), GSIBase: u32(e, 8)})
		case MADTInterruptOverride:
			m.Overrides = append(m.Overrides, InterruptOverride{Bus: e[2], Source: e[3], GSI: u32(e, 4), Flags: u16(e, 8)})
		case MADTNMISource:
			m.NMISources = append(m.NMISources, NMISource{Flags: u16(e, 2), GSI: u32(e, 4)})
		case MADTLocalAPICNMI:
			m.LocalNMIs = append(m.LocalNMIs, LocalAPICNMI{ProcessorUID: uint32(e[2]), Flags: u16(e, 3), LINT: e[5]})
		case MADTLocalX2APICNMI:
			m.LocalNMIs = append(m.LocalNMIs, LocalAPICNMI{ProcessorUID: u32(e, 4), Flags: u16(e, 2), LINT: e[8], X2APIC: true})
		case MADTLocalAPICOverride:
			// "Only one Local APIC Address Override Structure may be
			// defined": use the first.
			if !haveOverride {
				m.LocalAPICAddress = u64(e, 4)
				haveOverride = true
			}
		default:
			m.Unknown++
		}
		off += n
	}
	return m, nil
}

// cpu builds a CPU from a type 0 or type 9 structure's fields.
func (m *MADT) cpu(apicID, uid, flags uint32, x2 bool) CPU {
	c := CPU{APICID: apicID, ProcessorUID: uid, Flags: flags, X2APIC: x2}
	c.Enabled = flags&LocalAPICEnabled != 0
	c.OnlineCapable = !c.Enabled && m.Revision >= madtOnlineCapableRevision && flags&LocalAPICOnlineCapable != 0
	return c
}

// CPUs returns the usable processors (Enabled, or Online Capable) in table
// order, each APIC ID once: a processor listed by both a Processor Local
// APIC and a Processor Local x2APIC structure, or twice, appears once (first
// usable entry wins). Entries with the invalid APIC IDs 0xFF (type 0) or
// 0xFFFFFFFF (type 9) are left out.
func (m *MADT) CPUs() []CPU {
	var cpus []CPU
	seen := make(map[uint32]bool)
	for _, c := range m.Processors {
		if !c.Usable() || seen[c.APICID] {
			continue
		}
		if (!c.X2APIC && c.APICID == 0xff) || c.APICID == 0xffffffff {
			continue
		}
		seen[c.APICID] = true
		cpus = append(cpus, c)
	}
	return cpus
}

// CPUCount returns how many of CPUs() are enabled and how many are only
// online capable, for a banner such as "2 CPUs enabled, 1 online capable".
func (m *MADT) CPUCount() (enabled, onlineCapable int) {
	for _, c := range m.CPUs() {
		if c.Enabled {
			enabled++
		} else {
			onlineCapable++
		}
	}
	return enabled, onlineCapable
}
