// ZestReactor: epoll event loops, sockets, timers and the zero-copy buffer pool.
// This layer is filled in by its issue; see ../shared/ARCHITECTURE.md §1.
