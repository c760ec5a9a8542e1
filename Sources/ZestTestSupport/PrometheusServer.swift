import Foundation
import Testing

/// Whether a tool the interop tests need is installed. Outside CI a missing tool skips the
/// test; in CI (`CI=true`) the test runs and fails, because setup.sh must have installed it.
public enum Tool {
    public static func available(_ path: String) -> Bool {
        FileManager.default.isExecutableFile(atPath: path)
    }

    public static func enabled(_ path: String) -> Bool {
        available(path) || Privilege.isCI
    }

    public static func skipReason(_ path: String, package: String) -> Comment {
        Comment(rawValue: "\(path) is not installed (Debian package \(package); scripts/setup.sh installs it)")
    }
}

/// A real Prometheus server for one test: config and TSDB in a fresh temp dir, listening on
/// a free loopback port, scraping `target` every second. `stop()` kills it by pid and
/// removes the directory.
public final class PrometheusServer {
    public let directory: URL
    public let port: UInt16
    private let process = Process()
    /// The last raw HTTP answer of `query`, for failure messages.
    public private(set) var lastAnswer = ""

    public init(scraping target: String, metricsPath: String) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("zest-prom-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        port = try freeLoopbackPort()
        let config = """
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
              evaluation_interval: 1s
            scrape_configs:
              - job_name: zest
                metrics_path: \(metricsPath)
                static_configs:
                  - targets: ['\(target)']
            """
        let configPath = directory.appendingPathComponent("prometheus.yml")
        try config.write(to: configPath, atomically: true, encoding: .utf8)
        let logPath = directory.appendingPathComponent("prometheus.log")
        _ = FileManager.default.createFile(atPath: logPath.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/prometheus")
        process.arguments = [
            "--config.file=\(configPath.path)",
            "--storage.tsdb.path=\(directory.appendingPathComponent("data").path)",
            "--web.listen-address=127.0.0.1:\(port)",
            "--log.level=warn",
        ]
        let log = try FileHandle(forWritingTo: logPath)
        process.standardOutput = log
        process.standardError = log
        try process.run()
    }

    /// The server's own log, for failure messages.
    public var log: String {
        (try? String(contentsOf: directory.appendingPathComponent("prometheus.log"), encoding: .utf8)) ?? ""
    }

    /// Runs an instant PromQL query through `/api/v1/query`; returns `[(labels, value)]`,
    /// or nil while the server is not answering yet.
    public func query(_ promql: String) -> [([String: String], Double)]? {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        guard let q = promql.addingPercentEncoding(withAllowedCharacters: allowed),
              let r = try? httpRequest(port: port, "/api/v1/query?query=\(q)") else { return nil }
        lastAnswer = r.raw
        guard r.status == 200, let json = try? JSONSerialization.jsonObject(with: Data(r.body.utf8)) as? [String: Any],
              json["status"] as? String == "success",
              let data = json["data"] as? [String: Any], let result = data["result"] as? [[String: Any]] else { return nil }
        return result.compactMap { item in
            guard let metric = item["metric"] as? [String: String], let value = item["value"] as? [Any],
                  value.count == 2, let text = value[1] as? String, let v = Double(text) else { return nil }
            return (metric, v)
        }
    }

    public func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: directory)
    }
}
