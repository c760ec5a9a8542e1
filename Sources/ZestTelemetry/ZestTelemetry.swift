// ZestTelemetry: metrics registry, Prometheus/readiness/admin HTTP, access log.
// This layer is filled in by its issue; see ../shared/ARCHITECTURE.md §1.
