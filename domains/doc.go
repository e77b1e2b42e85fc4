// Package domains is the guest side of tamavisor: the board package that
// lets a Go program run as a domain (domains/board), and the domains the
// hypervisor image carries: hello, the first Go guest; hostile, which
// misbehaves on purpose so that tests can watch the hypervisor contain it;
// and bench, which measures VM exits from inside a guest.
package domains
