//go:build tamago

package main

import "unsafe"

// addr is the address of b: the domain identity-maps its memory, so it is
// also the guest-physical address the hypervisor translates.
func addr(b *byte) uint64 { return uint64(uintptr(unsafe.Pointer(b))) }
