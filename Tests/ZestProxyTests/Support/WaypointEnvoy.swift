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

    /// Starts Envoy as the waypoint `identity` in namespace `ns`, listening on `listen`:15008
    /// and sending everything on to `destination` (a pod of `t`), and waits until it listens.
    /// The caller stops the returned process.
    static func start(in ns: TestNamespace, of t: MeshTopology, identity: SpiffeID, listen: IPAddress,
                      destination: SocketAddress, destinationIdentity: SpiffeID) throws -> NamespacedProcess {
        let files = try writeFiles(t.certificates.certificate(for: identity), to: t.stateDirectoryPath)
        let configPath = t.stateDirectoryPath + "/waypoint.yaml"
        try config(listen: "\(listen)", files: files, trustDomain: "cluster.local", destination: destination,
                   destinationIdentity: destinationIdentity)
            .write(toFile: configPath, atomically: true, encoding: .utf8)
        let envoy = try NamespacedProcess(in: ns, [binary, "-c", configPath, "--disable-hot-restart",
                                                   "--base-id", String(Int.random(in: 1000...60000)), "--concurrency", "1",
                                                   "-l", "warning"], log: t.stateDirectoryPath + "/envoy.log")
        let listening = waitUntil(timeout: .seconds(20), poll: .milliseconds(50)) {
            !((try? ns.exec(["ss", "-Hltn", "sport = :15008"])) ?? "").isEmpty
        }
        guard listening else {
            let output = envoy.output
            envoy.stop()
            throw TopologyError("Envoy did not listen: \(output)")
        }
        return envoy
    }
}
