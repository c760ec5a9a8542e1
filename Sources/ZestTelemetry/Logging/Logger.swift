import Glibc
import Synchronization

/// Severity of a log line, most severe first.
public enum LogLevel: UInt8, Comparable, CaseIterable, Sendable, CustomStringConvertible {
    case error = 1, warn, info, debug, trace

    public static func < (a: LogLevel, b: LogLevel) -> Bool { a.rawValue < b.rawValue }

    public var description: String {
        switch self {
        case .error: "error"
        case .warn: "warn"
        case .info: "info"
        case .debug: "debug"
        case .trace: "trace"
        }
    }
}

/// How lines are written: ztunnel's plain text (tab-separated) or one JSON object per line.
public enum LogFormat: Sendable, Equatable {
    case plain, json

    /// `json` when `LOG_FORMAT=json` (ztunnel's variable), else `plain`.
    public static func fromEnvironment() -> LogFormat {
        parse(getenv("LOG_FORMAT").map { String(cString: $0) })
    }

    /// `json` for `json` (any case), `plain` for anything else or nothing.
    public static func parse(_ value: String?) -> LogFormat {
        value?.lowercased() == "json" ? .json : .plain
    }
}

/// A refused log level, with the accepted spellings.
public struct LogLevelError: Error, CustomStringConvertible, Equatable {
    public let given: String
    public var description: String {
        "unknown log level '\(given)'; use one of off, error, warn, info, debug, trace"
    }
}

/// One field of a log line.
public struct LogField: Sendable {
    public enum Value: Sendable {
        /// Quoted in plain text (`src.workload="orders-api"`).
        case string(String)
        /// Written bare in plain text (`src.addr=10.0.0.1:80`).
        case bare(String)
        case int(Int64)
    }

    public let name: String
    public let value: Value

    public init(_ name: String, _ value: String) { self.init(name, .string(value)) }
    public init(_ name: String, _ value: Int) { self.init(name, .int(Int64(value))) }
    public init(_ name: String, _ value: Value) {
        self.name = name
        self.value = value
    }
}

/// A leveled logger whose level changes at runtime (`/logging?level=`). Lines below the
/// level cost one relaxed atomic load; the others are formatted on the caller's thread and
/// handed to the `LogSink`.
public final class Logger: Sendable {
    public let format: LogFormat
    private let sink: LogSink
    private let threshold: Atomic<UInt8>
    private let initial: UInt8

    /// `level` nil means off.
    public init(sink: LogSink, format: LogFormat = .fromEnvironment(), level: LogLevel? = .info) {
        self.sink = sink
        self.format = format
        initial = level?.rawValue ?? 0
        threshold = Atomic(initial)
    }

    /// Parses `off|error|warn|info|debug|trace`; nil means off.
    public static func parseLevel(_ text: String) throws(LogLevelError) -> LogLevel? {
        let t = text.trimmingSpaces().lowercased()
        if t == "off" { return nil }
        guard let l = LogLevel.allCases.first(where: { $0.description == t }) else { throw LogLevelError(given: text) }
        return l
    }

    /// The start-up level from `RUST_LOG`, ztunnel's variable: its first item without `=`
    /// (`info` in `info,access=debug`). Per-target directives are not supported and are ignored.
    /// Unset or empty gives `defaultLevel`.
    public static func levelFromEnvironment(default defaultLevel: LogLevel? = .info) throws(LogLevelError) -> LogLevel? {
        try level(rustLog: getenv("RUST_LOG").map { String(cString: $0) }, default: defaultLevel)
    }

    /// The level a `RUST_LOG` value selects (see `levelFromEnvironment`).
    public static func level(rustLog: String?, default defaultLevel: LogLevel? = .info) throws(LogLevelError) -> LogLevel? {
        guard let rustLog else { return defaultLevel }
        let items = rustLog.split(separator: ",").map(String.init).filter { !$0.contains("=") }
        guard let first = items.first, !first.trimmingSpaces().isEmpty else { return defaultLevel }
        return try parseLevel(first)
    }

    /// The current level; nil when logging is off.
    public var level: LogLevel? { LogLevel(rawValue: threshold.load(ordering: .relaxed)) }

    public func setLevel(_ level: LogLevel?) {
        threshold.store(level?.rawValue ?? 0, ordering: .relaxed)
    }

    /// Restores the level the logger was created with.
    public func resetLevel() {
        threshold.store(initial, ordering: .relaxed)
    }

    public func isEnabled(_ level: LogLevel) -> Bool {
        level.rawValue <= threshold.load(ordering: .relaxed)
    }

    /// Writes one line when `level` is enabled. `scope` is the component (`access`, `xds`, …).
    public func log(_ level: LogLevel, scope: String, _ message: String, _ fields: [LogField] = []) {
        guard isEnabled(level) else { return }
        sink.write(format == .json
            ? Self.jsonLine(level, scope, message, fields)
            : Self.plainLine(level, scope, message, fields))
    }

    public func error(_ scope: String, _ message: String, _ fields: [LogField] = []) { log(.error, scope: scope, message, fields) }
    public func warn(_ scope: String, _ message: String, _ fields: [LogField] = []) { log(.warn, scope: scope, message, fields) }
    public func info(_ scope: String, _ message: String, _ fields: [LogField] = []) { log(.info, scope: scope, message, fields) }
    public func debug(_ scope: String, _ message: String, _ fields: [LogField] = []) { log(.debug, scope: scope, message, fields) }
    public func trace(_ scope: String, _ message: String, _ fields: [LogField] = []) { log(.trace, scope: scope, message, fields) }

    /// Waits until every line logged so far is written.
    public func flush() {
        sink.flush()
    }

    /// `2026-11-27T00:13:15.123456Z\tinfo\taccess\tconnection complete\tsrc.addr=… src.workload="…"`
    static func plainLine(_ level: LogLevel, _ scope: String, _ message: String, _ fields: [LogField]) -> String {
        var line = Timestamp.rfc3339Micros(Timestamp.now()) + "\t\(level)\t\(scope)\t\(message)"
        for (i, f) in fields.enumerated() {
            line += i == 0 ? "\t" : " "
            line += f.name + "="
            switch f.value {
            case .string(let s): JSONValue.appendQuoted(s, to: &line)
            case .bare(let s): line += s.contains(where: { $0 == " " || $0 == "\n" || $0 == "\"" }) ? "\"\(s)\"" : s
            case .int(let n): line += String(n)
            }
        }
        return line
    }

    /// `{"level":"info","time":"…","scope":"access","message":"…","src.addr":"…",…}`
    static func jsonLine(_ level: LogLevel, _ scope: String, _ message: String, _ fields: [LogField]) -> String {
        var members: [(String, JSONValue)] = [
            ("level", .string(level.description)),
            ("time", .string(Timestamp.rfc3339Micros(Timestamp.now()))),
            ("scope", .string(scope)),
            ("message", .string(message)),
        ]
        for f in fields {
            switch f.value {
            case .string(let s), .bare(let s): members.append((f.name, .string(s)))
            case .int(let n): members.append((f.name, .int(n)))
            }
        }
        return JSONValue.object(members).compact
    }
}
