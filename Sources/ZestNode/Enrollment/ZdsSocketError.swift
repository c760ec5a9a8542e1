import Glibc

/// A failure of the ZDS socket itself (as opposed to a bad message on it).
public enum ZdsSocketError: Error, Equatable, Sendable, CustomStringConvertible {
    case badPath(String, limit: Int)
    case connect(path: String, errno: Int32)
    case bind(path: String, errno: Int32)
    case call(String, errno: Int32)
    case tooManyDescriptors(Int)

    public var description: String {
        switch self {
        case .badPath(let p, let limit):
            return "socket path '\(p)' must be 1...\(limit) bytes without NUL; choose a shorter path"
        case .connect(let p, let e) where e == ENOENT || e == ECONNREFUSED:
            return "no ZDS server is listening at \(p) (\(describe(e))); is istio-cni or `zest cni serve` running on this node?"
        case .connect(let p, let e):
            return "cannot connect to the ZDS socket \(p): \(describe(e))"
        case .bind(let p, let e) where e == EADDRINUSE:
            return "cannot listen at \(p): something other than a socket exists there; remove it or choose another path"
        case .bind(let p, let e):
            return "cannot listen at \(p): \(describe(e))"
        case .call(let name, let e):
            return "\(name) failed on the ZDS socket: \(describe(e))"
        case .tooManyDescriptors(let n):
            return "cannot pass \(n) descriptors in one datagram; the limit is \(SeqpacketSocket.maxSentDescriptors)"
        }
    }
}

func describe(_ code: Int32) -> String { String(cString: strerror(code)) }
