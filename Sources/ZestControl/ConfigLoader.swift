import Foundation
import Yams
import ZestPolicy

/// Loads Zest's configuration files: ztunnel local-config documents (`workloads`,
/// `services`, `policies`) and Istio `security.istio.io` AuthorizationPolicy and
/// PeerAuthentication resources, any number of YAML documents per file. `zest run`,
/// `zest config check` and `zest policy check` all load through here.
public struct ConfigLoader: Sendable {
    /// Istio's root namespace: policies there apply mesh-wide.
    public var rootNamespace: String

    public init(rootNamespace: String = "istio-system") {
        self.rootNamespace = rootNamespace
    }

    /// Reads and decodes every file. Throws every error found (each with file, line and
    /// field); nothing is returned unless all files are valid.
    public func load(files: [String]) throws(ConfigErrors) -> LoadedConfig {
        var config = LoadedConfig(), errors: [ConfigError] = []
        for file in files {
            guard let data = FileManager.default.contents(atPath: file) else {
                errors.append(ConfigError(file: file, message: "cannot read the file; does it exist and is it readable?"))
                continue
            }
            guard let text = String(data: data, encoding: .utf8) else {
                errors.append(ConfigError(file: file, message: "the file is not UTF-8 text"))
                continue
            }
            load(text: text, file: file, into: &config, errors: &errors)
        }
        errors += validate(config)
        guard errors.isEmpty else { throw ConfigErrors(errors) }
        return config
    }

    /// Decodes one file's text into `config`, appending errors instead of stopping at the first.
    public func load(text: String, file: String, into config: inout LoadedConfig, errors: inout [ConfigError]) {
        var documents: [Node] = []
        do {
            // Yams' `compose_all` sequence stops silently at a syntax error; the parser throws.
            let parser = try Parser(yaml: text)
            while let node = try parser.nextRoot() { documents.append(node) }
        } catch let error as YamlError {
            errors.append(ConfigLoader.syntaxError(error, file: file))
            return
        } catch {
            errors.append(ConfigError(file: file, message: "\(error)"))
            return
        }
        for (index, node) in documents.enumerated() {
            let doc = YAMLValue(node: node, file: file, path: documents.count > 1 ? "document[\(index)]" : "")
            do throws(ConfigError) {
                try loadDocument(doc, file: file, into: &config, errors: &errors)
            } catch {
                errors.append(error)
            }
        }
    }

    private func loadDocument(_ doc: YAMLValue, file: String, into config: inout LoadedConfig,
                              errors: inout [ConfigError]) throws(ConfigError) {
        if doc.isNull { return }
        if let kind = try doc.optional("kind")?.string() {
            let api = try doc.optional("apiVersion")?.string() ?? ""
            guard api.hasPrefix("security.istio.io/") else {
                config.warnings.append(ConfigWarning(file: file, line: doc.line, policy: kind,
                                                     message: "apiVersion '\(api)' kind \(kind) is not an Istio security resource; ignored"))
                return
            }
            switch kind {
            case "AuthorizationPolicy":
                var converter = AuthorizationPolicyConverter(file: file, rootNamespace: rootNamespace)
                let converted = try converter.convert(doc)
                config.warnings += converter.warnings
                if let policy = converted {
                    config.policies.append(policy)
                    config.origins[policy.key] = "\(file):\(doc.line)"
                }
            case "PeerAuthentication":
                let pa = try PeerAuthenticationDecoder.decode(doc, file: file, warnings: &config.warnings)
                config.peerAuthentications.append(pa)
                config.origins["PeerAuthentication \(pa.key)"] = "\(file):\(doc.line)"
            default:
                config.warnings.append(ConfigWarning(file: file, line: doc.line, policy: kind,
                                                     message: "kind \(kind) has no L4 effect in Zest; ignored"))
            }
            return
        }
        _ = try doc.mapping(allowed: ["workloads", "services", "policies"])
        collect(try doc.optional("workloads")?.sequence() ?? [], into: &config.workloads, errors: &errors,
                LocalWorkloadDecoder.decode)
        collect(try doc.optional("services")?.sequence() ?? [], into: &config.services, errors: &errors,
                LocalServiceDecoder.decode)
        let before = config.policies.count
        collect(try doc.optional("policies")?.sequence() ?? [], into: &config.policies, errors: &errors,
                LocalPolicyDecoder.decode)
        for p in config.policies[before...] { config.origins[p.key] = config.origins[p.key] ?? file }
    }

    private func collect<T>(_ items: [YAMLValue], into out: inout [T], errors: inout [ConfigError],
                            _ decode: (YAMLValue) throws(ConfigError) -> T) {
        for item in items {
            do throws(ConfigError) { out.append(try decode(item)) } catch { errors.append(error) }
        }
    }

    /// Checks that span documents and files: unique workload uids, services and policies.
    private func validate(_ config: LoadedConfig) -> [ConfigError] {
        var errors: [ConfigError] = [], uids = Set<String>(), services = Set<NamespacedHostname>(), policies = Set<String>()
        for w in config.workloads where !uids.insert(w.uid).inserted {
            errors.append(ConfigError(file: "configuration", field: "workloads", message: "workload uid '\(w.uid)' is defined twice"))
        }
        for s in config.services where !services.insert(s.key).inserted {
            errors.append(ConfigError(file: "configuration", field: "services", message: "service '\(s.key)' is defined twice"))
        }
        for p in config.policies where !policies.insert(p.key).inserted {
            errors.append(ConfigError(file: config.origins[p.key] ?? "configuration", field: "policies",
                                      message: "policy '\(p.key)' is defined twice"))
        }
        return errors
    }

    static func syntaxError(_ error: YamlError, file: String) -> ConfigError {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            let detail = context.map { "\(problem) (\($0.text))" } ?? problem
            return ConfigError(file: file, line: mark.line, column: mark.column, message: "YAML syntax: \(detail)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            return ConfigError(file: file, line: context.mark.line, column: context.mark.column,
                               message: "duplicated keys: \(duplicates.joined(separator: ", "))")
        default:
            return ConfigError(file: file, message: "YAML: \(error)")
        }
    }
}
