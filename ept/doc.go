// Package ept builds and maintains the extended page tables (EPT) of one
// domain: the translation of the domain's guest-physical addresses (GPA) to
// host-physical addresses (HPA) that Intel VT-x applies to every memory access
// the guest makes (Intel SDM Vol. 3C 29.3 "The Extended Page Table Mechanism
// (EPT)").
//
// An EPT owns its paging structures, and nothing else: the table frames come
// from the hypervisor's frame allocator through the Tables interface, and the
// memory that leaf entries point at belongs to the caller, which maps it with
// Map and takes it back with Unmap. The package keeps one invariant on which
// the isolation of domains rests: the only host-physical frames reachable
// through the EPT are those the caller passed to Map (with the permissions and
// memory type it asked for, or later set with Protect) and the EPT's own table
// frames, which are never mapped into the guest. To keep it, every operation
// is exact:
//
//   - Map refuses to map over anything already mapped, Unmap and Protect
//     refuse to touch anything not mapped, and each names the first offending
//     guest-physical address in its error (an *AddrError).
//   - An operation that fails leaves the EPT exactly as it was: arguments are
//     validated and the tables scanned before anything is written, and the
//     table frames an operation needs are allocated up front, so nothing can
//     fail half-way.
//   - Large pages (2 MiB, 1 GiB) are used only when the processor supports
//     them (Options) and both addresses are aligned; a large page that is only
//     partly unmapped or reprotected is first split into an equivalent table of
//     smaller pages, so every other address keeps its exact translation.
//   - Table frames that become empty are freed at once, so that unmapping
//     everything returns TableFrames to 1 (the PML4).
//
// Walk lists every leaf mapping, for an audit that a domain reaches only its
// own frames or to collect them when it is destroyed; Verify checks every
// entry for EPT misconfigurations and for anything this package would not
// have written; Check explains an EPT-misconfiguration VM exit and
// DecodeViolation an EPT-violation one.
//
// Ordering and invalidation: entries are written with single 64-bit atomic
// stores (compare-and-swap where an entry is changed rather than created or
// cleared, so that accessed and dirty flags the processor sets meanwhile are
// kept), and a new table is filled in before the entry that links it is
// written, so a processor walking the tables concurrently sees either the old
// or the new translation of every address, never a torn one. The processor
// may still hold stale translations in its TLBs and paging-structure caches
// (SDM Vol. 3C 29.4 "Caching Translation Information"): after Unmap or
// Protect the caller must execute INVEPT for this EPT on every processor that
// may have used it before it relies on the change, and in particular before it
// reuses the unmapped memory or the table frames given back through
// Tables.FreeTable.
//
// The EPT type is not safe for concurrent use; the domain that owns it
// serialises its calls.
//
// Section and table numbers cite the editions of the Intel SDM in which Vol.
// 3C chapter 25 is "Virtual Machine Control Structures", chapter 28 "VM Exits"
// and chapter 29 "VMX Support for Address Translation" (EPT is section 29.3;
// its entry formats are Tables 29-1 to 29-6). Older editions number these
// chapters one lower (and EPT 28.2 in the oldest), the newest ones higher; the
// section and table titles quoted next to the numbers find them in any
// edition.
package ept
