// ZestTLS: OpenSSL 3 TLS contexts and nonblocking connections with SPIFFE verification.
// This layer is filled in by its issue; see ../shared/ARCHITECTURE.md §1.
