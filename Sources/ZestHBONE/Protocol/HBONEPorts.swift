/// Zest's (and ztunnel's) own ports. A tunnel may never target them: the connection would
/// come straight back into the proxy.
public enum HBONEPorts {
    public static let outbound: UInt16 = 15001
    public static let inboundPlaintext: UInt16 = 15006
    public static let inboundHBONE: UInt16 = 15008
    public static let illegalTargets: Set<UInt16> = [outbound, inboundPlaintext, inboundHBONE]
}
