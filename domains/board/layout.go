package board

// A Go domain's guest-physical layout. The PVH start_info page is at
// loader.StartInfoGPA (0x1000); the Go runtime's region follows the first
// MiB and runs to the end of the RAM the start_info memory map gives (below
// the special pages and any module; entry.SizeFromMemoryMap), in whole
// MiB.
const (
	// RAMStart is the start of the Go runtime's region.
	RAMStart = 0x0010_0000
	// TextAddress is where the domain's text is linked (-T).
	TextAddress = RAMStart + 0x1_0000
)
