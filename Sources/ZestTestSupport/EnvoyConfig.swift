/// Envoy 1.40 bootstrap configurations for HBONE interop, rendered as YAML (block style, so
/// the files stay readable when a test keeps them for debugging). Three shapes, built from the
/// same pieces: an HBONE terminator, an HBONE originator, and a waypoint (terminator whose
/// tunnels are carried on through an internal listener that originates a new HBONE tunnel).
public enum EnvoyConfig {
    /// Paths of one side's PEM files.
    public struct TLSFiles: Sendable {
        public var certificate: String
        public var privateKey: String
        public var trustedCA: String

        public init(certificate: String, privateKey: String, trustedCA: String) {
            self.certificate = certificate
            self.privateKey = privateKey
            self.trustedCA = trustedCA
        }
    }

    /// HTTP/2 windows as Zest and ztunnel use them (stream 4 MiB, connection 16 MiB).
    static let windows = """
        initial_stream_window_size: 4194304
        initial_connection_window_size: 16777216
        """

    /// HBONE terminator (what a waypoint or ztunnel's 15008 does): TLS 1.3 mTLS with ALPN h2,
    /// an HTTP/2 connection manager that accepts CONNECT and routes it to an ORIGINAL_DST
    /// cluster that dials the `:authority`. Client certificates must carry a SPIFFE URI SAN of
    /// `trustDomain`.
    public static func terminator(listen: String, port: UInt16, tls: TLSFiles, trustDomain: String) -> String {
        """
        static_resources:
          listeners:
        \(connectListener(name: "hbone_terminate", listen: listen, port: port, tls: tls, trustDomain: trustDomain,
                          cluster: "original_dst", windows: true))
          clusters:
          - name: original_dst
            type: ORIGINAL_DST
            lb_policy: CLUSTER_PROVIDED
            connect_timeout: 5s
            original_dst_lb_config:
              use_http_header: true
              http_header_name: ":authority"
        """
    }

    /// HBONE originator (what ztunnel's outbound does): plain TCP in, each connection tunnelled
    /// as one CONNECT to `target` over a pooled mTLS HTTP/2 connection to `peer`, whose
    /// certificate must carry `expectIdentity`.
    public static func originator(listen: String, port: UInt16, peer: String, peerPort: UInt16, target: String,
                                  tls: TLSFiles, expectIdentity: String) -> String {
        """
        static_resources:
          listeners:
          - name: hbone_originate
            address:
              socket_address: { address: "\(listen)", port_value: \(port) }
        \(tunnelingProxy(cluster: "hbone_peer", target: target))
          clusters:
        \(hboneCluster(name: "hbone_peer", peer: peer, peerPort: peerPort, tls: tls, expectIdentity: expectIdentity, windows: true))
        """
    }

    /// A waypoint: terminates HBONE on `listen`:15008 with its own certificate, and carries each
    /// tunnel's bytes through an internal listener that originates a new HBONE tunnel to
    /// `destination` (a pod's 15008) with the waypoint's identity, expecting `destinationIdentity`.
    /// Static configuration for one destination, standing in for what istiod would program.
    public static func waypoint(listen: String, tls: TLSFiles, trustDomain: String,
                                destination: String, destinationIP: String, destinationIdentity: String) -> String {
        """
        bootstrap_extensions:
        - name: envoy.bootstrap.internal_listener
          typed_config:
            "@type": type.googleapis.com/envoy.extensions.bootstrap.internal_listener.v3.InternalListener
        static_resources:
          listeners:
        \(connectListener(name: "waypoint_inbound", listen: listen, port: 15008, tls: tls, trustDomain: trustDomain,
                          cluster: "to_originate", windows: false))
          - name: originate
            internal_listener: {}
        \(tunnelingProxy(cluster: "destination_hbone", target: destination))
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
        \(hboneCluster(name: "destination_hbone", peer: destinationIP, peerPort: 15008, tls: tls,
                       expectIdentity: destinationIdentity, windows: false))
        """
    }

    /// A listener (indented as a list item of `listeners:`) that terminates mTLS and routes
    /// every CONNECT to `cluster` with upgrade on and no route timeout.
    static func connectListener(name: String, listen: String, port: UInt16, tls: TLSFiles, trustDomain: String,
                                cluster: String, windows: Bool) -> String {
        let h2 = windows ? "\n" + indent(Self.windows, 10) : " {}"
        return indent("""
        - name: \(name)
          address:
            socket_address: { address: "\(listen)", port_value: \(port) }
          filter_chains:
          - transport_socket:
              name: envoy.transport_sockets.tls
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
                require_client_certificate: true
                common_tls_context:
        \(commonTLS(tls, matchSAN: "prefix: \"spiffe://\(trustDomain)/\"", indent: 10))
            filters:
            - name: envoy.filters.network.http_connection_manager
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                stat_prefix: \(name)
                codec_type: HTTP2
                http2_protocol_options:\(windows ? "\n" + indent("allow_connect: true", 10) + h2 : " { allow_connect: true }")
                upgrade_configs:
                - upgrade_type: CONNECT
                route_config:
                  virtual_hosts:
                  - name: all
                    domains: ["*"]
                    routes:
                    - match: { connect_matcher: {} }
                      route:
                        cluster: \(cluster)
                        timeout: 0s
                        upgrade_configs:
                        - upgrade_type: CONNECT
                          connect_config: {}
                http_filters:
                - name: envoy.filters.http.router
                  typed_config:
                    "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
        """, 2)
    }

    /// The filter chain of a listener that tunnels each TCP connection as one CONNECT to `target`.
    static func tunnelingProxy(cluster: String, target: String) -> String {
        indent("""
        filter_chains:
        - filters:
          - name: envoy.filters.network.tcp_proxy
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
              stat_prefix: \(cluster)
              cluster: \(cluster)
              tunneling_config:
                hostname: "\(target)"
        """, 4)
    }

    /// A cluster (as a list item of `clusters:`) speaking HTTP/2 over mTLS to one HBONE peer.
    static func hboneCluster(name: String, peer: String, peerPort: UInt16, tls: TLSFiles, expectIdentity: String,
                             windows: Bool) -> String {
        indent("""
        - name: \(name)
          type: STATIC
          connect_timeout: 5s
          load_assignment:
            cluster_name: \(name)
            endpoints:
            - lb_endpoints:
              - endpoint:
                  address:
                    socket_address: { address: "\(peer)", port_value: \(peerPort) }
          typed_extension_protocol_options:
            envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
              "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
              explicit_http_config:
                http2_protocol_options:\(windows ? "\n" + indent(Self.windows, 10) : " {}")
          transport_socket:
            name: envoy.transport_sockets.tls
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
              common_tls_context:
        \(commonTLS(tls, matchSAN: "exact: \"\(expectIdentity)\"", indent: 8))
        """, 2)
    }

    /// TLS 1.3 only, ALPN h2, our certificate, the trust roots and a URI SAN matcher for the peer.
    static func commonTLS(_ tls: TLSFiles, matchSAN: String, indent width: Int) -> String {
        indent("""
        tls_params:
          tls_minimum_protocol_version: TLSv1_3
          tls_maximum_protocol_version: TLSv1_3
        alpn_protocols: ["h2"]
        tls_certificates:
        - certificate_chain: { filename: "\(tls.certificate)" }
          private_key: { filename: "\(tls.privateKey)" }
        validation_context:
          trusted_ca: { filename: "\(tls.trustedCA)" }
          match_typed_subject_alt_names:
          - san_type: URI
            matcher: { \(matchSAN) }
        """, width)
    }

    /// Prefixes every line of `text` with `width` spaces (lines already indented keep theirs on top).
    static func indent(_ text: String, _ width: Int) -> String {
        let pad = String(repeating: " ", count: width)
        return text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.isEmpty ? "" : pad + $0 }
            .joined(separator: "\n")
    }
}
