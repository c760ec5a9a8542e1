/// A configuration error at a place in a file: `file:line:column: field: message`.
public struct ConfigError: Error, Hashable, Sendable, CustomStringConvertible {
    public var file: String
    /// 1-based; 0 when the error concerns the file as a whole.
    public var line: Int
    public var column: Int
    /// Path of the offending field, e.g. `workloads[2].workloadIps[0]`.
    public var field: String
    public var message: String

    public init(file: String, line: Int = 0, column: Int = 0, field: String = "", message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.field = field
        self.message = message
    }

    public var description: String {
        let place = line > 0 ? "\(file):\(line):\(column)" : file
        return field.isEmpty ? "\(place): \(message)" : "\(place): \(field): \(message)"
    }
}

/// Every error found while loading a set of files; nothing from them was applied.
public struct ConfigErrors: Error, Sendable, CustomStringConvertible {
    public var errors: [ConfigError]
    public init(_ errors: [ConfigError]) { self.errors = errors }
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}

/// Something that loads but does not do what its author may expect at L4 (an HTTP-only
/// condition dropped, an AUDIT policy ignored …). Names the policy.
public struct ConfigWarning: Hashable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    /// `namespace/name` of the policy concerned.
    public var policy: String
    public var message: String

    public init(file: String, line: Int, policy: String, message: String) {
        self.file = file
        self.line = line
        self.policy = policy
        self.message = message
    }

    public var description: String { "\(file):\(line): warning: \(policy): \(message)" }
}
