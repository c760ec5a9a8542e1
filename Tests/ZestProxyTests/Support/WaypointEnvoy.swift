import Foundation
import ZestCore
import ZestIdentity
import ZestTestSupport

/// A real Envoy as a waypoint: it terminates HBONE on 15008 (mTLS with the waypoint's own
/// certificate, CONNECT), and carries each tunnel's bytes on through an internal listener that
/// originates a new HBONE tunnel to the destination pod's 15008 with the waypoint's identity.
/// Static configuration for one destination, standing in for what istiod would program.
enum WaypointEnvoy {
    /// Where Envoy lives: `ZEST_VENV` (as the HBONE interop tests), else the package's `.venv`.
    static var binary: String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().path
        return (ProcessInfo.processInfo.environment["ZEST_VENV"] ?? root + "/.venv") + "/bin/envoy"
    }

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
        """
        bootstrap_extensions:
        - name: envoy.bootstrap.internal_listener
          typed_config:
            "@type": type.googleapis.com/envoy.extensions.bootstrap.internal_listener.v3.InternalListener
        static_resources:
          listeners:
          - name: waypoint_inbound
            address:
              socket_address: { address: "\(listen)", port_value: 15008 }
            filter_chains:
            - transport_socket:
                name: envoy.transport_sockets.tls
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
                  require_client_certificate: true
                  common_tls_context:
        \(tls(files, match: "prefix: \"spiffe://\(trustDomain)/\"", indent: 12))
              filters:
              - name: envoy.filters.network.http_connection_manager
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                  stat_prefix: waypoint_inbound
                  codec_type: HTTP2
                  http2_protocol_options: { allow_connect: true }
                  upgrade_configs:
                  - upgrade_type: CONNECT
                  route_config:
                    virtual_hosts:
                    - name: all
                      domains: ["*"]
                      routes:
                      - match: { connect_matcher: {} }
                        route:
                          cluster: to_originate
                          timeout: 0s
                          upgrade_configs:
                          - upgrade_type: CONNECT
                            connect_config: {}
                  http_filters:
                  - name: envoy.filters.http.router
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
          - name: originate
            internal_listener: {}
            filter_chains:
            - filters:
              - name: envoy.filters.network.tcp_proxy
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                  stat_prefix: originate
                  cluster: destination_hbone
                  tunneling_config:
                    hostname: "\(destination)"
          clusters:
          - name: to_originate
            connect_timeout: 5s
            load_assignment:
              cluster_name: to_originate
              endpoints:
              - lb_endpoints:
                - endpoint:
                    address:
                      envoy_internal_address: { server_listener_name: originate }
          - name: destination_hbone
            type: STATIC
            connect_timeout: 5s
            load_assignment:
              cluster_name: destination_hbone
              endpoints:
              - lb_endpoints:
                - endpoint:
                    address:
                      socket_address: { address: "\(destination.ip)", port_value: 15008 }
            typed_extension_protocol_options:
              envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
                "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
                explicit_http_config:
                  http2_protocol_options: {}
            transport_socket:
              name: envoy.transport_sockets.tls
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
                common_tls_context:
        \(tls(files, match: "exact: \"\(destinationIdentity.uri)\"", indent: 10))
        """
    }

    private static func tls(_ f: (cert: String, key: String, ca: String), match: String, indent: Int) -> String {
        let pad = String(repeating: " ", count: indent)
        return """
        tls_params:
          tls_minimum_protocol_version: TLSv1_3
          tls_maximum_protocol_version: TLSv1_3
        alpn_protocols: ["h2"]
        tls_certificates:
        - certificate_chain: { filename: "\(f.cert)" }
          private_key: { filename: "\(f.key)" }
        validation_context:
          trusted_ca: { filename: "\(f.ca)" }
          match_typed_subject_alt_names:
          - san_type: URI
            matcher: { \(match) }
        """.split(separator: "\n", omittingEmptySubsequences: false).map { pad + $0 }.joined(separator: "\n")
    }
}
