internal import CMnl
import Glibc

/// Installs and removes a pod's capture rules (one nftables table, one atomic batch) and the
/// policy route, inside the pod's network namespace, on a `NetnsThread`.
///
/// Installing twice changes nothing; removing restores the namespace to how it was before the
/// install (the table and the policy route are Zest's alone). In `.external` mode a stock
/// istio-cni owns capture and every call is a no-op.
public final class PodCapture: Sendable {
    public let mode: CaptureMode
    private let thread: NetnsThread

    public init(mode: CaptureMode, thread: NetnsThread) {
        self.mode = mode
        self.thread = thread
    }

    /// Installs the policy route, then the nftables table in one transaction. When any part is
    /// rejected, the parts of the policy route this call added are taken back (and the table
    /// transaction commits nothing), so a failed install leaves the namespace as it was.
    public func install(in namespace: NetNamespace) throws {
        guard case .zest(let options) = mode else { return }
        try thread.run(in: namespace) {
            let ruleset = CaptureRuleset(options)
            let added = options.installPolicyRoute ? try PodCapture.addPolicyRoute() : []
            do {
                let socket = try NetlinkSocket(bus: NETLINK_NETFILTER)
                let batch = NetlinkBatch()
                try NftablesProgram.appendInstall(ruleset, to: batch, socket: socket)
                try socket.transact(batch)
            } catch {
                PodCapture.deletePolicyRoute(added)
                throw error
            }
        }
    }

    /// Removes the table and the policy route; already absent parts count as removed.
    public func remove(from namespace: NetNamespace) throws {
        guard case .zest(let options) = mode else { return }
        try thread.run(in: namespace) {
            try PodCapture.removeAll(options)
        }
    }

    /// Whether Zest's table exists in `namespace`.
    public func isInstalled(in namespace: NetNamespace) throws -> Bool {
        guard case .zest(let options) = mode else { return false }
        return try thread.run(in: namespace) {
            try NftablesProgram.tableExists(options.tableName, socket: NetlinkSocket(bus: NETLINK_NETFILTER))
        }
    }

    /// Finds Zest tables left in namespaces Zest no longer serves (after a crash, say) and
    /// removes them with their policy routes, so no pod stays redirected to listeners that
    /// are gone. Returns, per namespace, whether something was removed or what failed.
    public func removeLeftovers(in namespaces: [NetNamespace]) -> [LeftoverCleanup] {
        guard case .zest(let options) = mode else { return [] }
        return namespaces.map { namespace in
            do {
                let removed = try thread.run(in: namespace) {
                    let found = try NftablesProgram.tableExists(options.tableName,
                                                                socket: NetlinkSocket(bus: NETLINK_NETFILTER))
                    // Also when the table is absent: a crash between the policy route and the
                    // table leaves the route alone.
                    try PodCapture.removeAll(options)
                    return found
                }
                return LeftoverCleanup(namespace: namespace.label, outcome: removed ? .removed : .nothingFound)
            } catch {
                return LeftoverCleanup(namespace: namespace.label, outcome: .failed("\(error)"))
            }
        }
    }

    /// Sends a transaction that is valid except for one rule aimed at a missing chain; the
    /// kernel must reject all of it. Exists to prove atomicity and error reporting.
    func installDeliberatelyBroken(in namespace: NetNamespace) throws {
        guard case .zest(let options) = mode else { return }
        try thread.run(in: namespace) {
            let socket = try NetlinkSocket(bus: NETLINK_NETFILTER)
            let batch = NetlinkBatch()
            try NftablesProgram.appendBrokenInstall(CaptureRuleset(options), to: batch, socket: socket)
            try socket.transact(batch)
        }
    }

    private static func removeAll(_ options: CaptureOptions) throws {
        let socket = try NetlinkSocket(bus: NETLINK_NETFILTER)
        let batch = NetlinkBatch()
        try NftablesProgram.appendRemove(table: options.tableName, to: batch, socket: socket)
        let tableResult = Result { try socket.transact(batch) }
        if options.installPolicyRoute { try removePolicyRoute() }
        _ = try tableResult.get()
    }

    /// Adds the policy route in the calling thread's namespace, one acknowledged message per
    /// step, and returns the steps it actually added (not those already present). When a step
    /// is rejected, the ones added before it are deleted again and the error is thrown.
    private static func addPolicyRoute() throws -> [PolicyRouteProgram.Step] {
        let socket = try NetlinkSocket(bus: NETLINK_ROUTE)
        let loopback = if_nametoindex("lo")
        var added: [PolicyRouteProgram.Step] = []
        for step in PolicyRouteProgram.Step.allCases {
            do {
                let batch = NetlinkBatch(limit: 4096)
                try PolicyRouteProgram.append(step, install: true, to: batch, socket: socket, loopbackIndex: loopback)
                if try socket.transact(batch).isEmpty { added.append(step) }
            } catch {
                deletePolicyRoute(added)
                throw error
            }
        }
        return added
    }

    /// Deletes `steps` of the policy route, best effort (used to undo a failed install).
    private static func deletePolicyRoute(_ steps: [PolicyRouteProgram.Step]) {
        guard !steps.isEmpty, let socket = try? NetlinkSocket(bus: NETLINK_ROUTE) else { return }
        let batch = NetlinkBatch(limit: 4096)
        for step in steps.reversed() {
            try? PolicyRouteProgram.append(step, install: false, to: batch, socket: socket,
                                           loopbackIndex: if_nametoindex("lo"))
        }
        _ = try? socket.transact(batch)
    }

    /// Deletes every part of the policy route; parts already gone count as deleted.
    private static func removePolicyRoute() throws {
        let socket = try NetlinkSocket(bus: NETLINK_ROUTE)
        let batch = NetlinkBatch(limit: 4096)
        for step in PolicyRouteProgram.Step.allCases.reversed() {
            try PolicyRouteProgram.append(step, install: false, to: batch, socket: socket,
                                          loopbackIndex: if_nametoindex("lo"))
        }
        try socket.transact(batch)
    }
}

/// The result of looking for a leftover Zest table in one namespace.
public struct LeftoverCleanup: Sendable, Equatable {
    public enum Outcome: Sendable, Equatable {
        case removed
        case nothingFound
        case failed(String)
    }
    public let namespace: String
    public let outcome: Outcome
}
