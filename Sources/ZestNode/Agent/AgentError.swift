/// Why the node agent could not start or could not serve a pod; the text tells the operator
/// what to do.
public enum AgentError: Error, CustomStringConvertible, Equatable {
    case draining
    case invalidIdentity(info: String, trustDomain: String)
    case capture(uid: String, reason: String)
    case missingCapabilities([String])
    case unsupported(setting: String, reason: String)
    case configuration(String)
    case certificates(String)
    case listen(String)

    public var description: String {
        switch self {
        case .draining:
            return "Zest is shutting down and takes no new pods; the next Zest process will enroll it"
        case .invalidIdentity(let info, let td):
            return "pod \(info) does not form a valid SPIFFE identity in trust domain \(td); check its namespace and service account"
        case .capture(let uid, let reason):
            return "installing the capture rules of pod \(uid) failed: \(reason)"
        case .missingCapabilities(let list):
            return "Zest lacks \(list.joined(separator: "; ")). Run it as root or grant these capabilities (the DaemonSet and systemd unit in docs/ do)"
        case .unsupported(let setting, let reason):
            return "\(setting): \(reason)"
        case .configuration(let text):
            return "the mesh configuration is invalid: \(text)"
        case .certificates(let text):
            return "certificates: \(text)"
        case .listen(let text):
            return "cannot open the telemetry ports: \(text); another Zest or ztunnel may hold them — set ZEST_ADMIN_ADDRESS, ZEST_METRICS_ADDRESS, ZEST_READINESS_ADDRESS"
        }
    }
}
