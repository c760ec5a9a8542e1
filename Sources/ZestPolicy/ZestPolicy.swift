// ZestPolicy: L4 authorization and routing decisions: pure functions, no I/O.
// This layer is filled in by its issue; see ../shared/ARCHITECTURE.md §1.
