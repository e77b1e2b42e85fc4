// Package guest is the library a Go domain uses to talk to tamavisor (or
// Xen) beyond the board's console and timers: event channels, grant tables,
// shared rings, the XenStore client, and domain control for the privileged
// domain. It speaks Xen's public ABI through the board's hypercall page.
//
// Start with Events(): it maps the domain's shared_info page and runs the
// goroutine that turns upcalls into notifications on Go channels.
package guest
