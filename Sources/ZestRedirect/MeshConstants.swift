/// The packet and connection marks shared with Istio's in-pod capture rules. The values must
/// match istio-cni and ztunnel exactly so either side can install the rules.
public struct PacketMark: Hashable, Sendable, CustomStringConvertible {
    public let value: UInt32
    /// Bits of the mark that belong to the mesh; other bits are left to the pod.
    public static let mask: UInt32 = 0xfff

    public init(_ value: UInt32) { self.value = value }

    /// Carried by every socket Zest opens in a pod namespace, so capture rules skip it (1337).
    public static let zestSocket = PacketMark(0x539)
    /// Connection mark of connections Zest opened with a preserved client address; restored
    /// onto the app's replies so the policy route brings them back to Zest.
    public static let spoofedReply = PacketMark(0x111)

    public var description: String { "0x" + String(value, radix: 16) }
}

/// The policy route that delivers replies of source-preserved connections back to Zest:
/// `ip rule fwmark 0x111/0xfff lookup 100` and `local default dev lo table 100`.
public enum PolicyRouteConstants {
    public static let table: UInt32 = 100
    public static let rulePriority: UInt32 = 32764
}

/// The ports of Zest's per-pod listeners that capture rules redirect to.
public struct CapturePorts: Hashable, Sendable {
    public var outbound: UInt16 = 15001
    public var inboundPlaintext: UInt16 = 15006
    public var inboundHBONE: UInt16 = 15008
    public var dns: UInt16 = 15053
    public init() {}
}
