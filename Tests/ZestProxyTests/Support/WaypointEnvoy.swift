import Foundation
import ZestCore
import ZestIdentity
import ZestTestSupport

/// A real Envoy as a waypoint (`EnvoyConfig.waypoint`): it terminates HBONE on 15008 with the
/// waypoint's own certificate and originates a new HBONE tunnel to the destination pod's 15008.
enum WaypointEnvoy {
    /// Where Envoy lives (`PackagePaths.envoy`).
    static var binary: String { PackagePaths.envoy }

    /// Writes the waypoint's certificate, key and trust roots as PEM files into `directory`.
    static func writeFiles(_ c: WorkloadCertificate, to directory: String) throws -> (cert: String, key: String, ca: String) {
        let cert = directory + "/waypoint-cert.pem", key = directory + "/waypoint-key.pem", ca = directory + "/root.pem"
        try ([c.leaf] + c.intermediates).map(\.pem).joined().write(toFile: cert, atomically: true, encoding: .utf8)
        try c.privateKey.pemPKCS8().write(toFile: key, atomically: true, encoding: .utf8)
        try c.roots.map(\.pem).joined().write(toFile: ca, atomically: true, encoding: .utf8)
        return (cert, key, ca)
    }

    static func config(listen: String, files: (cert: String, key: String, ca: String), trustDomain: String,
                       destination: SocketAddress, destinationIdentity: SpiffeID) -> String {
        EnvoyConfig.waypoint(listen: listen, tls: .init(certificate: files.cert, privateKey: files.key, trustedCA: files.ca),
                             trustDomain: trustDomain, destination: "\(destination)", destinationIP: "\(destination.ip)",
                             destinationIdentity: destinationIdentity.uri)
    }
}
