// ZestHBONE: HTTP/2 CONNECT tunnels (client pool and server) on libnghttp2.
// This layer is filled in by its issue; see ../shared/ARCHITECTURE.md §1.
