package board

// A Go domain's guest-physical layout. The PVH start_info page is at
// loader.StartInfoGPA (0x1000); the Go runtime's region follows the first
// MiB. The hypervisor gives the domain RAM from 0 to at least RAMEnd.
const (
	// RAMStart is the start of the Go runtime's region.
	RAMStart = 0x0010_0000
	// RAMSize is its default size (the linkramsize build tag lets a
	// domain choose its own).
	// 24 MiB: the runtime grows its heap in 4 MiB arenas, and dom0
	// serving a store flood needed more than 16 MiB gave it.
	RAMSize = 0x0180_0000 // 24 MiB
	// TextAddress is where the domain's text is linked (-T).
	TextAddress = RAMStart + 0x1_0000
)
