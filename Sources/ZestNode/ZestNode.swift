// ZestNode: the node agent: enrollment, per-pod proxy sets, drain.
// This layer is filled in by its issue; see ../shared/ARCHITECTURE.md §1.
