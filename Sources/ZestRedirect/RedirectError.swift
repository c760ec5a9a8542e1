import Glibc

/// What went wrong while entering a network namespace, opening a socket there, or
/// installing or removing capture rules. Each text says what failed and what to check.
public enum RedirectError: Error, Sendable, CustomStringConvertible, Equatable {
    /// `open()` of a network namespace path failed.
    case namespaceOpen(path: String, errno: Int32)
    /// The descriptor given as a network namespace is not one (`fstat`/`setns` refused it).
    case notANetworkNamespace(String, errno: Int32)
    /// `setns(CLONE_NEWNET)` into a pod namespace, or back to the agent's own, failed.
    case enterNamespace(String, errno: Int32)
    /// The dedicated namespace thread could not be started.
    case threadStart(errno: Int32)
    /// A socket call inside a pod namespace failed.
    case socket(call: String, address: String, errno: Int32)
    /// Opening, binding or configuring a netlink socket failed.
    case netlinkSocket(call: String, errno: Int32)
    /// The messages do not fit in one netlink batch buffer.
    case batchTooLarge(messages: Int)
    /// The kernel rejected one or more messages. An nftables batch then commits nothing;
    /// `PodCapture.install` also takes back the policy-route parts it had added.
    case rejected([NetlinkFailure])
    /// Some messages were never acknowledged before the receive timeout.
    case unacknowledged([String], timeout: Duration)

    public var description: String {
        switch self {
        case .namespaceOpen(let path, let e):
            return "cannot open network namespace \(path): \(errnoText(e)); is the pod still running and the path under /var/run/netns or /proc/<pid>/ns/net?"
        case .notANetworkNamespace(let what, let e):
            return "\(what) is not a network namespace (\(errnoText(e))); pass the pod's netns fd or path"
        case .enterNamespace(let what, let e):
            return "setns into \(what) failed: \(errnoText(e)); Zest needs CAP_SYS_ADMIN and the namespace must still exist"
        case .threadStart(let e):
            return "cannot start a network-namespace thread: \(errnoText(e))"
        case .socket(let call, let address, let e):
            let hint = e == EADDRINUSE ? "; is another proxy still listening on that port in the pod?" : ""
            return "\(call) for \(address) in the pod namespace failed: \(errnoText(e))\(hint)"
        case .netlinkSocket(let call, let e):
            return "netlink \(call) failed: \(errnoText(e)); Zest needs CAP_NET_ADMIN in the pod namespace"
        case .batchTooLarge(let n):
            return "a netlink batch of \(n) messages does not fit in Zest's batch buffer"
        case .rejected(let failures):
            return "the kernel rejected the change: "
                + failures.map(\.description).joined(separator: "; ")
        case .unacknowledged(let pending, let timeout):
            return "no netlink acknowledgement within \(timeout) for: \(pending.joined(separator: ", "))"
        }
    }
}

/// One rejected netlink message: what it was meant to do, the errno the kernel returned
/// and the kernel's extended-ack text when it gave one.
public struct NetlinkFailure: Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public let errno: Int32
    public let kernelText: String?

    public var description: String {
        "\(message): \(errnoText(errno))" + (kernelText.map { " (kernel: \($0))" } ?? "")
    }
}

func errnoText(_ e: Int32) -> String {
    guard let s = strerror(e) else { return "errno \(e)" }
    return "\(String(cString: s)) (errno \(e))"
}
