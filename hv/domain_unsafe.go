package hv

import "unsafe"

// tableOf views a 4 KiB frame as the 512 entries of a paging structure.
func tableOf(b []byte) *[512]uint64 {
	return (*[512]uint64)(unsafe.Pointer(&b[0]))
}
