import Foundation
import ZestCore

/// A source of workload certificates: Zest's embedded CA, files written by cert-manager or a
/// SPIRE helper, or (later) the Istio CA. The certificate manager calls it on its control
/// thread, never on a data-plane worker.
public protocol CertificateProvider: Sendable {
    /// Returns a certificate for `identity` valid at `now`, or throws why it cannot.
    func fetchCertificate(for identity: SpiffeID, now: Date) throws(IdentityError) -> WorkloadCertificate
}
