// Package x86 exposes the privileged x86-64 instructions that the hypervisor
// needs as plain Go functions: port I/O, model-specific registers, control
// registers, descriptor tables, CPUID, the time-stamp counter and halting.
//
// Each function is a few lines of assembly in x86_amd64.s with a comment
// citing the Intel SDM. They assemble on any amd64 target so that `go vet`
// checks them on the host, but they only work at CPL 0: on Linux most of them
// fault. Nothing here has policy; callers decide what to do with the values.
package x86
