//go:build tamago && !linkramsize

package board

import (
	_ "unsafe"

	"tamavisor/boot/entry"
)

// The Go runtime's region runs from RAMStart to the end of the domain's RAM
// as its start_info memory map gives it (below its special pages and any
// module), which the entry code works out before the runtime starts.
//
//go:linkname ramSize runtime/goos.RamSize
var ramSize uint64 = entry.SizeFromMemoryMap
