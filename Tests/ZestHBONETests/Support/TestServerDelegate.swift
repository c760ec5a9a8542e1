import ZestHBONE

/// A server delegate for tests: authorizes by closure and accepts each tunnel with an
/// endpoint the test chose, or keeps it pending to answer later.
final class TestServerDelegate: HBONEServerDelegate {
    var deny: (ConnectRequest) -> String? = { _ in nil }
    /// Decides the fate of each tunnel; nil keeps it pending in `pending`.
    var decide: (HBONETunnel) -> Decision? = { _ in .accept(TunnelEndpoint()) }
    var requests: [ConnectRequest] = []
    var pending: [HBONETunnel] = []
    var endpoints: [TunnelEndpoint] = []

    enum Decision { case accept(TunnelEndpoint), reject(ConnectRejection) }

    func hboneServer(_ connection: HBONEConnection, authorize request: ConnectRequest) -> String? {
        deny(request)
    }

    func hboneServer(_ connection: HBONEConnection, didReceive tunnel: HBONETunnel) {
        requests.append(tunnel.request)
        switch decide(tunnel) {
        case .accept(let e)?:
            endpoints.append(e)
            tunnel.accept(handler: e)
        case .reject(let r)?:
            tunnel.reject(r)
        case nil:
            pending.append(tunnel)
        }
    }
}
