/// Istio's PeerAuthentication reduced to what matters at L4: whether a destination accepts
/// connections without a peer identity (plaintext arriving on 15006).
public struct PeerAuthentication: Hashable, Sendable {
    public enum Mode: String, Hashable, Sendable {
        /// Inherit from the enclosing level (namespace, then mesh).
        case unset = "UNSET"
        /// Accept plaintext; Zest still sends HBONE to mesh destinations.
        case disable = "DISABLE"
        case permissive = "PERMISSIVE"
        /// Refuse connections that carry no peer identity.
        case strict = "STRICT"
    }

    public var name: String
    public var namespace: String
    /// `spec.selector.matchLabels`; nil for a namespace-wide (or, in the root namespace,
    /// mesh-wide) policy.
    public var selector: [String: String]?
    public var mode: Mode
    /// Per target-port overrides (`portLevelMtls`); honoured only on selector policies, as in Istio.
    public var portModes: [UInt16: Mode]

    public init(name: String, namespace: String, selector: [String: String]? = nil, mode: Mode = .unset,
                portModes: [UInt16: Mode] = [:]) {
        self.name = name
        self.namespace = namespace
        self.selector = selector
        self.mode = mode
        self.portModes = portModes
    }

    public var key: String { "\(namespace)/\(name)" }
}
