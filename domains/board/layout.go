package board

// A Go domain's guest-physical layout. The PVH start_info page is at
// loader.StartInfoGPA (0x1000); the Go runtime's region follows the first
// MiB. The hypervisor gives the domain RAM from 0 to at least RAMEnd.
const (
	// RAMStart is the start of the Go runtime's region.
	RAMStart = 0x0010_0000
	// RAMSize is its default size (the linkramsize build tag lets a
	// domain choose its own).
	RAMSize = 0x0100_0000 // 16 MiB
	// TextAddress is where the domain's text is linked (-T).
	TextAddress = RAMStart + 0x1_0000
)
