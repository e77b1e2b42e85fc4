// Package grant implements Xen grant tables, version 1, for every domain of
// tamavisor: the bookkeeping behind GNTTABOP_map_grant_ref,
// GNTTABOP_unmap_grant_ref, GNTTABOP_copy, GNTTABOP_setup_table and
// GNTTABOP_query_size, and the layouts of their argument structures.
//
// A domain (the granter) shares one of its pages with one named domain (the
// grantee) by writing a struct grant_entry_v1 { uint16_t flags; domid_t
// domid; uint32_t frame; } in its grant table (public/grant_table.h). The
// table lives in frames the hypervisor owns and the granter maps into its
// own guest-physical space; this package reaches it only through the
// Entries interface, and a domain's memory only through Memory: it touches
// no memory itself, uses no unsafe, and builds for the host and for
// GOOS=tamago alike.
//
// What the package keeps, guests cannot see or corrupt: per granter, the
// active grants (which grantee, which frame, how many read-only and how many
// writable pins); per grantee, the mappings it holds (maptrack), named by
// handles private to it. The entry in guest memory is read when a grant is
// first pinned and is otherwise advisory: once pinned, the frame recorded
// then is the one every later mapping and copy uses, and it stays pinned
// until its last mapping ends, whatever the granter writes, and even after
// the granter is removed (RemoveDomain reports such pins; the last Unmap of
// a removed granter's frame says so with Mapping.FreeFrame).
//
// The hypervisor sets GTF_reading while any pin of an entry exists and
// GTF_writing while any writable pin exists, with a bounded compare-and-swap
// loop on the 32-bit {flags, domid} word (grant_table.c, _set_status_v1:
// "we bound the number of times we retry CMPXCHG on memory locations that we
// share with a guest OS"), so that a granter revoking the entry with its own
// CMPXCHG (grant_table.h, "Invalidating an unused GTF_permit_access entry")
// loses cleanly while the entry is in use.
//
// Status codes follow Xen's choices (grant_table.c): an entry that is not
// GTF_permit_access, names another grantee, or is read-only when a writable
// pin is asked for is GNTST_general_error; a reference beyond the table is
// GNTST_bad_gntref; an unknown domain is GNTST_bad_domain; a frame outside
// the granter's memory is GNTST_bad_page; a copy crossing a page is
// GNTST_bad_copy_arg; a copy naming a frame of another domain is
// GNTST_permission_denied. Two choices are tamavisor's: a compare-and-swap
// that keeps losing is GNTST_eagain (Xen says general_error), and every new
// pin re-validates the guest's entry, not only the first (Xen trusts its
// active entry while pinned; correct guests do not change entries in use, so
// they see no difference).
//
// One mutex guards all bookkeeping: every operation holds it for a few map
// look-ups and at most a few compare-and-swaps on grant entries. Copies move
// their data with the mutex released, holding pins instead.
//
// References: Xen xen/include/public/grant_table.h (structures, flags,
// statuses), xen/include/public/xen.h (domid_t, DOMID_SELF),
// xen/common/grant_table.c (semantics).
package grant
