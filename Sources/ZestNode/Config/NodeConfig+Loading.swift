import Yams

extension NodeConfig {
    /// Builds the effective configuration: defaults, then `file` (a YAML mapping of the same
    /// keys as the environment variables), then `environment`, then `overrides` (flags).
    /// Unknown keys in the file are errors (a typo must not pass silently); unknown
    /// environment variables are ignored, as the environment holds much else.
    public static func load(file: (path: String, text: String)? = nil,
                            environment: [String: String],
                            overrides: [String: String] = [:]) throws -> NodeConfig {
        var config = NodeConfig()
        let byKey = Dictionary(uniqueKeysWithValues: settings.map { ($0.key, $0) })
        for s in settings { config.origins[s.key] = "default" }

        if let file {
            for (key, value, line) in try fileEntries(path: file.path, text: file.text) {
                let source = "\(file.path):\(line)"
                guard let setting = byKey[key] else {
                    throw NodeConfigError(source: source, key: key, value: value,
                                          expected: "one of \(settings.map(\.key).joined(separator: ", "))")
                }
                try apply(setting, value, source: source, to: &config)
            }
        }
        var env = environment
        if let cluster = environment["ISTIO_META_CLUSTER_ID"] { env["CLUSTER_ID"] = cluster }
        if env["CONNECTION_TERMINATION_DEADLINE"] == nil,
           let grace = environment["TERMINATION_GRACE_PERIOD_SECONDS"], let g = Int(grace) {
            // ztunnel's rule: leave 5 s of the pod's grace period (1 s when it is short).
            env["CONNECTION_TERMINATION_DEADLINE"] = "\(max(1, g > 10 ? g - 5 : g - 1))s"
        }
        for s in settings {
            if let v = env[s.key] { try apply(s, v, source: "env", to: &config) }
        }
        for (key, value) in overrides.sorted(by: { $0.key < $1.key }) {
            guard let s = byKey[key] else {
                throw NodeConfigError(source: "flag", key: key, value: value, expected: "a known setting")
            }
            try apply(s, value, source: "flag", to: &config)
        }
        return config
    }

    /// One `KEY = value (origin)` line per setting, sorted, for the start-up log.
    public var effectiveSummary: [String] {
        NodeConfig.settings.map { "\($0.key)=\($0.render(self)) (\(origins[$0.key] ?? "default"))" }.sorted()
    }

    /// Settings as key → rendered value, for the admin config dump.
    public var rendered: [String: String] {
        Dictionary(uniqueKeysWithValues: NodeConfig.settings.map { ($0.key, $0.render(self)) })
    }

    private static func apply(_ s: NodeSetting, _ value: String, source: String, to config: inout NodeConfig) throws {
        guard s.apply(&config, value) else {
            throw NodeConfigError(source: source, key: s.key, value: value, expected: s.expected)
        }
        config.origins[s.key] = source
    }

    private static func fileEntries(path: String, text: String) throws -> [(String, String, Int)] {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch let e as YamlError {
            throw NodeConfigError(source: path, key: "(file)", value: "", expected: "valid YAML (\(e))")
        }
        guard let node else { return [] }
        guard let mapping = node.mapping else {
            throw NodeConfigError(source: "\(path):\(node.mark?.line ?? 1)", key: "(file)", value: "",
                                  expected: "a mapping of setting names to values")
        }
        return try mapping.map { k, v in
            let line = k.mark?.line ?? 0
            guard let key = k.string, let value = v.scalar?.string else {
                throw NodeConfigError(source: "\(path):\(line)", key: k.string ?? "?", value: "",
                                      expected: "a plain scalar value")
            }
            return (key, value, line)
        }
    }
}
