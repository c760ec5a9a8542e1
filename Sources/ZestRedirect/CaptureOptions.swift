import ZestCore

/// Settings of the capture rules Zest installs in each pod namespace.
public struct CaptureOptions: Sendable, Hashable {
    /// Name of the `inet` table Zest owns in every pod namespace; leftover cleanup looks for it.
    public var tableName = "zest"
    public var ports = CapturePorts()
    /// Redirect UDP and TCP port 53 to the DNS proxy port.
    public var captureDNS = false
    /// Source addresses of kubelet health probes (istio-cni SNATs them to these) that bypass capture.
    public var probeSources: [IPAddress] = [
        IPAddress("169.254.7.127")!, IPAddress("fd16:9254:7127:1337:ffff:ffff:ffff:ffff")!,
    ]
    /// Install the policy route (fwmark 0x111 → table 100) with the rules.
    public var installPolicyRoute = true

    public init() {}
}

/// Who installs the capture rules in pod namespaces.
public enum CaptureMode: Sendable, Hashable {
    /// Zest installs and removes its own nftables table and policy route.
    case zest(CaptureOptions)
    /// A stock istio-cni already installs the in-pod rules; Zest touches nothing.
    case external
}
