// Package qemu holds the test-bed configuration (grub.cfg, the testbed
// package that runs QEMU and Bochs) and the integration tests, which boot
// the real image in real emulators and read its serial console. Run them
// with `make test` (or `go test -tags integration ./qemu/` after `make iso`).
package qemu
