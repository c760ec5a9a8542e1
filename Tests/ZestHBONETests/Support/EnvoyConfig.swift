/// Envoy 1.40 bootstrap configurations for HBONE interop, rendered as YAML (JSON-compatible
/// flow style avoided so the files stay readable when a test keeps them for debugging).
enum EnvoyConfig {
    /// Paths of one side's PEM files.
    struct TLSFiles {
        var certificate: String
        var privateKey: String
        var trustedCA: String
    }

    /// HBONE terminator (what a waypoint or ztunnel's 15008 does): TLS 1.3 mTLS with ALPN h2,
    /// an HTTP/2 connection manager that accepts CONNECT and routes it to an ORIGINAL_DST
    /// cluster that dials the `:authority`. Client certificates must carry a SPIFFE URI SAN of
    /// `trustDomain`.
    static func terminator(listen: String, port: UInt16, tls: TLSFiles, trustDomain: String) -> String {
        """
        static_resources:
          listeners:
          - name: hbone_terminate
            address:
              socket_address: { address: "\(listen)", port_value: \(port) }
            filter_chains:
            - transport_socket:
                name: envoy.transport_sockets.tls
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
                  require_client_certificate: true
                  common_tls_context:
        \(commonTLS(tls, matchSAN: "prefix: \"spiffe://\(trustDomain)/\"", indent: 12))
              filters:
              - name: envoy.filters.network.http_connection_manager
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                  stat_prefix: hbone_terminate
                  codec_type: HTTP2
                  http2_protocol_options:
                    allow_connect: true
                    initial_stream_window_size: 4194304
                    initial_connection_window_size: 16777216
                  upgrade_configs:
                  - upgrade_type: CONNECT
                  route_config:
                    virtual_hosts:
                    - name: all
                      domains: ["*"]
                      routes:
                      - match: { connect_matcher: {} }
                        route:
                          cluster: original_dst
                          timeout: 0s
                          upgrade_configs:
                          - upgrade_type: CONNECT
                            connect_config: {}
                  http_filters:
                  - name: envoy.filters.http.router
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
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
    static func originator(listen: String, port: UInt16, peer: String, peerPort: UInt16, target: String,
                           tls: TLSFiles, expectIdentity: String) -> String {
        """
        static_resources:
          listeners:
          - name: hbone_originate
            address:
              socket_address: { address: "\(listen)", port_value: \(port) }
            filter_chains:
            - filters:
              - name: envoy.filters.network.tcp_proxy
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                  stat_prefix: hbone_originate
                  cluster: hbone_peer
                  tunneling_config:
                    hostname: "\(target)"
          clusters:
          - name: hbone_peer
            type: STATIC
            connect_timeout: 5s
            load_assignment:
              cluster_name: hbone_peer
              endpoints:
              - lb_endpoints:
                - endpoint:
                    address:
                      socket_address: { address: "\(peer)", port_value: \(peerPort) }
            typed_extension_protocol_options:
              envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
                "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
                explicit_http_config:
                  http2_protocol_options:
                    initial_stream_window_size: 4194304
                    initial_connection_window_size: 16777216
            transport_socket:
              name: envoy.transport_sockets.tls
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
                common_tls_context:
        \(commonTLS(tls, matchSAN: "exact: \"\(expectIdentity)\"", indent: 10))
        """
    }

    /// TLS 1.3 only, AES-128-GCM first as in the benchmarks, ALPN h2, our certificate, the
    /// trust roots and a URI SAN matcher for the peer.
    private static func commonTLS(_ tls: TLSFiles, matchSAN: String, indent: Int) -> String {
        let pad = String(repeating: " ", count: indent)
        return """
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
        """.split(separator: "\n", omittingEmptySubsequences: false).map { pad + $0 }.joined(separator: "\n")
    }
}
