import Foundation
import Synchronization

/// A network namespace made for one test with `ip netns add`, removed by `destroy()`.
/// Names carry the test process id and a counter so parallel tests and leftover runs
/// never collide, and cleanup removes exactly what this test made.
public final class TestNamespace: Sendable {
    public let name: String
    private static let counter = Atomic<Int>(0)

    public init(_ label: String) throws {
        let n = TestNamespace.counter.add(1, ordering: .relaxed).newValue
        name = "zt\(getpid() % 100000)\(label.prefix(4))\(n)"
        try runChecked(["ip", "netns", "add", name])
        try runChecked(["ip", "-n", name, "link", "set", "lo", "up"])
    }

    public var path: String { "/var/run/netns/\(name)" }

    /// Runs a command inside the namespace.
    @discardableResult
    public func exec(_ argv: [String]) throws -> String {
        try runChecked(["ip", "netns", "exec", name] + argv)
    }

    public func destroy() {
        _ = try? runCommand(["ip", "netns", "del", name])
    }
}

/// Joins two namespaces with a veth pair and gives each end an address.
/// `a` and `b` are "address/prefix" strings such as "10.77.0.1/24".
public func connectNamespaces(_ left: TestNamespace, _ leftAddress: String,
                              _ right: TestNamespace, _ rightAddress: String) throws {
    let l = "v\(left.name.suffix(10))", r = "w\(right.name.suffix(10))"
    try runChecked(["ip", "link", "add", l, "netns", left.name, "type", "veth", "peer", "name", r, "netns", right.name])
    try runChecked(["ip", "-n", left.name, "addr", "add", leftAddress, "dev", l])
    try runChecked(["ip", "-n", right.name, "addr", "add", rightAddress, "dev", r])
    try runChecked(["ip", "-n", left.name, "link", "set", l, "up"])
    try runChecked(["ip", "-n", right.name, "link", "set", r, "up"])
}
