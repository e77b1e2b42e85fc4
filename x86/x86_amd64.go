package x86

// In8 reads a byte from an I/O port (IN AL, DX).
func In8(port uint16) uint8

// Out8 writes a byte to an I/O port (OUT DX, AL).
func Out8(port uint16, val uint8)

// In16 reads a word from an I/O port (IN AX, DX).
func In16(port uint16) uint16

// Out16 writes a word to an I/O port (OUT DX, AX).
func Out16(port uint16, val uint16)

// In32 reads a doubleword from an I/O port (IN EAX, DX).
func In32(port uint16) uint32

// Out32 writes a doubleword to an I/O port (OUT DX, EAX).
func Out32(port uint16, val uint32)

// CPUID executes CPUID with EAX=leaf and ECX=subleaf.
func CPUID(leaf, subleaf uint32) (eax, ebx, ecx, edx uint32)

// RDTSC returns the time-stamp counter.
func RDTSC() uint64

// ReadMSR executes RDMSR. Reading an MSR the CPU does not implement raises
// #GP, so callers read only MSRs whose presence CPUID reports.
func ReadMSR(msr uint32) uint64

// WriteMSR executes WRMSR.
func WriteMSR(msr uint32, val uint64)

// ReadCR0 returns CR0.
func ReadCR0() uint64

// WriteCR0 sets CR0.
func WriteCR0(val uint64)

// ReadCR2 returns CR2, the last page-fault linear address.
func ReadCR2() uint64

// ReadCR3 returns CR3.
func ReadCR3() uint64

// WriteCR3 sets CR3 (and flushes non-global TLB entries).
func WriteCR3(val uint64)

// ReadCR4 returns CR4.
func ReadCR4() uint64

// WriteCR4 sets CR4.
func WriteCR4(val uint64)

// XGETBV returns the extended control register selected by xcr.
func XGETBV(xcr uint32) uint64

// XSETBV sets the extended control register selected by xcr.
func XSETBV(xcr uint32, val uint64)

// SGDT stores the GDTR: the table's base address and limit.
func SGDT() (base uint64, limit uint16)

// SIDT stores the IDTR: the table's base address and limit.
func SIDT() (base uint64, limit uint16)

// LTR loads the task register with a selector of a TSS descriptor.
func LTR(sel uint16)

// STR returns the task register's selector.
func STR() uint16

// Segments returns the current segment selectors.
func Segments() (cs, ss, ds, es, fs, gs uint16)

// Halt disables interrupts and halts forever. NMIs and SMIs resume the HLT,
// so it loops.
func Halt()

// Pause executes PAUSE, the spin-wait hint.
func Pause()

// WBINVD writes back and invalidates the caches.
func WBINVD()

// WaitInterrupt halts with interrupts enabled until an interrupt arrives,
// then restores RFLAGS.IF as it was. STI delays interrupts until after the
// next instruction (SDM Vol. 2B "STI"), so an interrupt already pending
// wakes the HLT rather than being taken before it.
func WaitInterrupt()
