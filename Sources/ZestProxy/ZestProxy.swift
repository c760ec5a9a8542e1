// ZestProxy: outbound, inbound HBONE, inbound plaintext and passthrough proxies.
// This layer is filled in by its issue; see ../shared/ARCHITECTURE.md §1.
