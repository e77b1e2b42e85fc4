//go:build tamago && !linkramsize

package board

import _ "unsafe"

//go:linkname ramSize runtime/goos.RamSize
var ramSize uint64 = RAMSize
