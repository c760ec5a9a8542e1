/// Writes the Prometheus text exposition format, version 0.0.4: `# HELP` and `# TYPE` lines
/// before each family, one sample per line, no `# EOF` (that belongs to OpenMetrics).
public struct PrometheusWriter: Sendable {
    /// The content type a scrape answer carries.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    public enum MetricType: String, Sendable {
        case counter, gauge
    }

    public private(set) var text = ""

    public init() {}

    /// Starts a metric family. Call once per family, before its samples.
    public mutating func family(_ name: String, help: String, type: MetricType) {
        text += "# HELP \(name) \(Self.escapeHelp(help))\n# TYPE \(name) \(type.rawValue)\n"
    }

    /// Appends one sample with an integer value.
    public mutating func sample(_ name: String, labels: [(String, String)] = [], _ value: UInt64) {
        appendSeries(name, labels)
        text += "\(value)\n"
    }

    /// Appends one sample with a signed integer value.
    public mutating func sample(_ name: String, labels: [(String, String)] = [], _ value: Int64) {
        appendSeries(name, labels)
        text += "\(value)\n"
    }

    /// Appends one sample with a floating-point value (`+Inf`, `-Inf`, `NaN` as Prometheus spells them).
    public mutating func sample(_ name: String, labels: [(String, String)] = [], _ value: Double) {
        appendSeries(name, labels)
        text += Self.formatDouble(value) + "\n"
    }

    private mutating func appendSeries(_ name: String, _ labels: [(String, String)]) {
        text += name
        if !labels.isEmpty {
            text += "{"
            for (i, (k, v)) in labels.enumerated() {
                if i > 0 { text += "," }
                text += k
                text += "=\""
                text += Self.escapeLabelValue(v)
                text += "\""
            }
            text += "}"
        }
        text += " "
    }

    /// Escapes a label value: backslash, double quote and line feed, as the format requires.
    public static func escapeLabelValue(_ value: String) -> String {
        guard value.utf8.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\"") || $0 == 10 })
        else { return value }
        var out = ""
        for ch in value.unicodeScalars {
            switch ch {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out
    }

    /// Escapes HELP text: backslash and line feed (double quotes stay as they are).
    public static func escapeHelp(_ help: String) -> String {
        var out = ""
        for ch in help.unicodeScalars {
            switch ch {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out
    }

    static func formatDouble(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v == .infinity { return "+Inf" }
        if v == -.infinity { return "-Inf" }
        return "\(v)"
    }
}

/// Something that appends metric families to a scrape.
public protocol MetricsCollector: Sendable {
    func collect(into writer: inout PrometheusWriter)
}
