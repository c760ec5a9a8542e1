// ZestControl: local configuration files, Istio CRD YAML and the state store.
// This layer is filled in by its issue; see ../shared/ARCHITECTURE.md §1.
