import ZestPolicy

/// The `baggage` header ztunnel sends with every CONNECT: the source workload's metadata as
/// a comma list, empty fields left out (ZTUNNEL-REFERENCE.md §3.4).
enum Baggage {
    static func describe(_ w: Workload) -> String {
        var parts = ["k8s.namespace.name=\(w.namespace)", "k8s.pod.name=\(w.name)",
                     "service.name=\(w.canonicalService)", "service.version=\(w.canonicalRevision)"]
        if !w.node.isEmpty { parts.append("k8s.node.name=\(w.node)") }
        return parts.joined(separator: ",")
    }
}
