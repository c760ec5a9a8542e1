import ZestCore

/// What makes two outbound tunnels share an HBONE connection (ztunnel's `WorkloadKey`): the
/// source identity presented, the identities accepted from the server, the source IP, and
/// the server's address.
public struct HBONEPoolKey: Hashable, Sendable {
    public var sourceIdentity: SpiffeID
    public var destinationIdentities: Set<SpiffeID>
    public var sourceIP: IPAddress?
    public var destination: SocketAddress

    public init(sourceIdentity: SpiffeID, destinationIdentities: Set<SpiffeID>, sourceIP: IPAddress?, destination: SocketAddress) {
        self.sourceIdentity = sourceIdentity
        self.destinationIdentities = destinationIdentities
        self.sourceIP = sourceIP
        self.destination = destination
    }
}
