// ZestRedirect: nftables capture rules via libnftnl/libmnl, network namespace entry, marks.
// This layer is filled in by its issue; see ../shared/ARCHITECTURE.md §1.
