import ZestCore
import ZestPolicy
import ZestTelemetry

extension TrafficLabels {
    /// Labels of one proxied connection, filled from the mesh's view of both ends
    /// (ZTUNNEL-REFERENCE.md §10.1). `sourcePrincipal` is the verified peer (inbound) or
    /// the pod's own identity (outbound); absent values stay `unknown`.
    static func connection(reporter: Reporter, source: Workload?, sourcePrincipal: SpiffeID?,
                           destination: Workload?, destinationPrincipal: SpiffeID?, service: Service?,
                           mutualTLS: Bool, flags: String = "-") -> TrafficLabels {
        var l = TrafficLabels(reporter: reporter)
        if let s = source {
            l.sourceWorkload = s.name
            l.sourceWorkloadNamespace = s.namespace
            l.sourceCanonicalService = s.canonicalService
            l.sourceCanonicalRevision = s.canonicalRevision
            l.sourceApp = s.labels["app"] ?? unknown
            l.sourceVersion = s.labels["version"] ?? unknown
        }
        if let p = sourcePrincipal { l.sourcePrincipal = p.uri }
        if let d = destination {
            l.destinationWorkload = d.name
            l.destinationWorkloadNamespace = d.namespace
            l.destinationCanonicalService = d.canonicalService
            l.destinationCanonicalRevision = d.canonicalRevision
            l.destinationApp = d.labels["app"] ?? unknown
            l.destinationVersion = d.labels["version"] ?? unknown
        }
        if let p = destinationPrincipal { l.destinationPrincipal = p.uri }
        if let s = service {
            l.destinationService = s.hostname
            l.destinationServiceName = s.name
            l.destinationServiceNamespace = s.namespace
        }
        l.connectionSecurityPolicy = mutualTLS ? .mutualTLS : .unknown
        l.responseFlags = flags
        return l
    }
}

extension Workload {
    /// Istio's canonical service: the label, else `app`, else the workload name.
    var canonicalService: String {
        labels["service.istio.io/canonical-name"] ?? labels["app.kubernetes.io/name"] ?? labels["app"] ?? name
    }

    /// Istio's canonical revision: the label, else `version`, else `latest`.
    var canonicalRevision: String {
        labels["service.istio.io/canonical-revision"] ?? labels["app.kubernetes.io/version"] ?? labels["version"] ?? "latest"
    }
}
