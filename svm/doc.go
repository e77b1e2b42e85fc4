// Package svm drives AMD-V (the Secure Virtual Machine extensions, SVM) with
// nested paging: it decodes CPUID Fn8000_000A and the VM_CR MSR and decides
// whether SVM can be enabled (AMD64 Architecture Programmer's Manual Vol. 2
// chapter 15, "Secure Virtual Machine").
//
// The decoding is plain Go, tested on the host; only the files with the
// tamago build tag execute privileged instructions.
package svm
