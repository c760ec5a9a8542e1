import ZestPolicy

/// Decodes `security.istio.io` PeerAuthentication resources.
enum PeerAuthenticationDecoder {
    static let modes: KeyValuePairs<String, PeerAuthentication.Mode> = [
        "UNSET": .unset, "DISABLE": .disable, "PERMISSIVE": .permissive, "STRICT": .strict,
    ]

    static func decode(_ doc: YAMLValue, file: String, warnings: inout [ConfigWarning]) throws(ConfigError) -> PeerAuthentication {
        let meta = try IstioMetadata.decode(doc, file: file, warnings: &warnings)
        var pa = PeerAuthentication(name: meta.name, namespace: meta.namespace)
        guard let spec = try doc.optional("spec") else { return pa }
        _ = try spec.mapping(allowed: ["selector", "mtls", "portLevelMtls"])
        pa.selector = try IstioMetadata.selector(spec)
        if let mtls = try spec.optional("mtls") {
            _ = try mtls.mapping(allowed: ["mode"])
            pa.mode = try mtls.optional("mode")?.choice(modes) ?? .unset
        }
        if let ports = try spec.optional("portLevelMtls") {
            for (key, value) in try ports.mapping() {
                guard let port = UInt16(key), port > 0 else { throw value.error("'\(key)' is not a port number") }
                _ = try value.mapping(allowed: ["mode"])
                pa.portModes[port] = try value.optional("mode")?.choice(modes) ?? .unset
            }
            if pa.selector == nil, !pa.portModes.isEmpty {
                warnings.append(ConfigWarning(file: file, line: ports.line, policy: meta.key,
                                              message: "portLevelMtls needs a selector (as in Istio); the port settings are ignored"))
                pa.portModes = [:]
            }
        }
        return pa
    }
}
