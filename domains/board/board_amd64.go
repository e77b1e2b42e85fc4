//go:build tamago

package board

// Defined in board_amd64.s.

// hypercall calls entry nr of the hypercall page with up to five arguments
// (Xen's x86-64 convention, public/xen.h). It returns -ENOSYS when there is
// no hypercall page.
func hypercall(nr, a1, a2, a3, a4, a5 uint64) int64

// rdrand returns 64 random bits from RDRAND, retrying until the CPU has some.
func rdrand() uint64

// haltUntilInterrupt enables interrupts, halts, and disables them again
// once an interrupt (the upcall vector) has been taken.
func haltUntilInterrupt()

// lidt loads the IDTR.
func lidt(base uintptr, limit uint16)

// exceptionStub returns the address of vector v's entry in the exception
// table.
func exceptionStub(v int) uintptr

// upcallAddr returns the upcall vector's handler.
func upcallAddr() uintptr

// ignoreAddr returns the handler of the vectors nothing uses.
func ignoreAddr() uintptr
