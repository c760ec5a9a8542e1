import ZestCore

enum EndpointPick {
    /// Nothing eligible; carries the uid of an endpoint skipped only for being on another
    /// network, so the failure can say so.
    case none(otherNetworkUID: String?)
    case picked(workload: Int, ip: IPAddress, port: UInt16)
}

extension MeshState {
    /// Chooses an endpoint of service `si` at random, weighted by workload capacity, among
    /// those that are healthy (unless the Service allows all), have an address of the wanted
    /// family, are on `network` (when given) and resolve a target port.
    func pickEndpoint<R: RandomNumberGenerator>(of si: Int, family ipv4: Bool, network: String?, using rng: inout R,
                                                port: (Endpoint) -> UInt16?) -> EndpointPick {
        let healthPolicy = services[si].healthPolicy, families = services[si].ipFamilies
        // Buffer pointers: subscripting the arrays copied each workload (a dozen retains).
        return workloads.withUnsafeBufferPointer { workloads in
            endpoints(ofServiceAt: si).withUnsafeBufferPointer { endpoints in
                var otherNetwork: String?
                func eligible(_ ep: Endpoint) -> (IPAddress, UInt16, UInt64)? {
                    let w = Int(ep.workload)
                    guard ep.status == .healthy || healthPolicy == .allowAll, workloads[w].capacity > 0,
                          let ip = workloads[w].addresses.first(where: { $0.isIPv4 == ipv4 && familyAllowed($0, families) }),
                          let p = port(ep) else { return nil }
                    if let network, workloads[w].network != network {
                        otherNetwork = otherNetwork ?? workloads[w].uid
                        return nil
                    }
                    return (ip, p, UInt64(workloads[w].capacity))
                }
                var total: UInt64 = 0
                for ep in endpoints { total += eligible(ep)?.2 ?? 0 }
                guard total > 0 else { return .none(otherNetworkUID: otherNetwork) }
                var ticket = rng.next(upperBound: total)
                for ep in endpoints {
                    guard let (ip, p, weight) = eligible(ep) else { continue }
                    if ticket < weight { return .picked(workload: Int(ep.workload), ip: ip, port: p) }
                    ticket -= weight
                }
                return .none(otherNetworkUID: otherNetwork)
            }
        }
    }

    private func familyAllowed(_ ip: IPAddress, _ families: Service.IPFamilies?) -> Bool {
        switch families {
        case .ipv4Only: return ip.isIPv4
        case .ipv6Only: return ip.isIPv6
        case .dual, nil: return true
        }
    }
}
