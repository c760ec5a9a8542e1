/// `metadata` and `spec.selector` of an Istio resource.
struct IstioMetadata {
    var name: String
    var namespace: String
    var line: Int
    var key: String { "\(namespace)/\(name)" }

    static func decode(_ doc: YAMLValue, file: String, warnings: inout [ConfigWarning]) throws(ConfigError) -> IstioMetadata {
        let meta = try doc.required("metadata")
        let name = try meta.required("name").string()
        var namespace = try meta.optional("namespace")?.string() ?? ""
        if namespace.isEmpty {
            namespace = "default"
            warnings.append(ConfigWarning(file: file, line: meta.line, policy: "default/\(name)",
                                          message: "metadata.namespace is missing; using 'default' as kubectl would"))
        }
        return IstioMetadata(name: name, namespace: namespace, line: doc.line)
    }

    /// `spec.selector.matchLabels`, nil when the policy has no selector.
    static func selector(_ spec: YAMLValue) throws(ConfigError) -> [String: String]? {
        guard let selector = try spec.optional("selector") else { return nil }
        _ = try selector.mapping(allowed: ["matchLabels"])
        return try selector.optional("matchLabels")?.stringMap() ?? [:]
    }
}
