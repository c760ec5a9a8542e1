// ZestIdentity: SPIFFE identities, keys, CSRs and certificate providers.
// This layer is filled in by its issue; see ../shared/ARCHITECTURE.md §1.
