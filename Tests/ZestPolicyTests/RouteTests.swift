import Testing
import ZestTestSupport
import ZestCore
@testable import ZestPolicy

struct RouteCase: CustomTestStringConvertible, Sendable {
    var name: String
    var source: Workload = RouteMesh.client
    var dial: String
    var expected: RouteDecision
    var testDescription: String { name }
}

private func hbone(_ dial: String, _ authority: String, _ ids: [SpiffeID], waypoint: Bool = false,
                   service: String? = nil, next: String) -> RouteDecision {
    .hbone(HBONERoute(dial: Fx.sock(dial), authority: Fx.sock(authority), expectedIdentities: ids, viaWaypoint: waypoint,
                      service: service.map { RouteMesh.svc($0) }, nextHopUID: "c//v1/Pod/payments/\(next)"))
}

private let api = Fx.id("payments", "payments-api")
private let wp = Fx.id("payments", "waypoint")

let routeCases: [RouteCase] = [
    RouteCase(name: "unknown destination passes through", dial: "192.168.50.1:443",
              expected: .passthrough(Fx.sock("192.168.50.1:443"))),
    RouteCase(name: "pod IP of an HBONE workload: HBONE to pod:15008, authority pod:port", dial: "10.0.1.5:8080",
              expected: hbone("10.0.1.5:15008", "10.0.1.5:8080", [api], next: "api-1")),
    RouteCase(name: "pod IP of a TCP workload: plain TCP", dial: "10.0.1.7:8080",
              expected: .tcp(Fx.sock("10.0.1.7:8080"), workloadUID: "c//v1/Pod/payments/legacy")),
    RouteCase(name: "service VIP: endpoint pod with target port, identities include the Service SANs",
              dial: "10.96.0.10:80",
              expected: hbone("10.0.1.5:15008", "10.0.1.5:8080", [api, Fx.id("payments", "payments-legacy-sa")],
                              service: "payments-api", next: "api-1")),
    RouteCase(name: "service VIP, undeclared port: failure", dial: "10.96.0.10:81",
              expected: .failure(.servicePortNotDeclared(RouteMesh.svc("payments-api"), port: 81))),
    RouteCase(name: "service without endpoints: failure", dial: "10.96.0.11:80",
              expected: .failure(.noHealthyEndpoint(RouteMesh.svc("empty"), port: 80))),
    RouteCase(name: "service with only unhealthy endpoints: failure", dial: "10.96.0.21:80",
              expected: .failure(.noHealthyEndpoint(RouteMesh.svc("unhealthy-only"), port: 80))),
    RouteCase(name: "health policy AllowAll admits an unhealthy endpoint", dial: "10.96.0.22:80",
              expected: hbone("10.0.1.6:15008", "10.0.1.6:8080", [api], service: "allow-all-health", next: "api-2")),
    RouteCase(name: "service whose endpoint is a TCP workload: plain TCP to the endpoint", dial: "10.96.0.12:80",
              expected: .tcp(Fx.sock("10.0.1.7:8080"), workloadUID: "c//v1/Pod/payments/legacy")),
    RouteCase(name: "service with a waypoint: HBONE to the waypoint, authority VIP:port", dial: "10.96.0.13:80",
              expected: hbone("10.0.5.1:15008", "10.96.0.13:80", [wp], waypoint: true, service: "with-waypoint",
                              next: "waypoint")),
    RouteCase(name: "the waypoint itself dialing its service goes straight to the endpoint (no loop)",
              source: RouteMesh.waypoint, dial: "10.96.0.13:80",
              expected: hbone("10.0.1.5:15008", "10.0.1.5:8080", [api], service: "with-waypoint", next: "api-1")),
    RouteCase(name: "pod IP of a workload with a waypoint: HBONE to the waypoint, authority pod:port",
              dial: "10.0.1.8:8080",
              expected: hbone("10.0.5.1:15008", "10.0.1.8:8080", [wp], waypoint: true, next: "waypoint")),
    RouteCase(name: "the waypoint dialing that pod goes straight to it (no loop)", source: RouteMesh.waypoint,
              dial: "10.0.1.8:8080",
              expected: hbone("10.0.1.8:15008", "10.0.1.8:8080", [Fx.id("payments", "wl")], next: "wl-wp")),
    RouteCase(name: "a Service VIP ignores the endpoint's workload waypoint", dial: "10.96.0.23:80",
              expected: hbone("10.0.1.8:15008", "10.0.1.8:8080", [Fx.id("payments", "wl")], service: "to-wl-wp",
                              next: "wl-wp")),
    RouteCase(name: "waypoint by hostname: HBONE to a waypoint endpoint, identities include its SANs",
              dial: "10.96.0.24:80",
              expected: hbone("10.0.5.1:15008", "10.96.0.24:80", [wp, Fx.id("payments", "waypoint-alt")],
                              waypoint: true, service: "host-waypoint", next: "waypoint")),
    RouteCase(name: "waypoint address that is no known workload: failure", dial: "10.96.0.25:80",
              expected: .failure(.waypointNotFound(Waypoint(.address(RouteMesh.vip("10.0.5.99")))))),
    RouteCase(name: "passthrough service: plain TCP to the VIP", dial: "10.96.0.14:5432",
              expected: .passthrough(Fx.sock("10.96.0.14:5432"))),
    RouteCase(name: "named port: the endpoint's port wins over target port 0", dial: "10.96.0.15:80",
              expected: hbone("10.0.1.5:15008", "10.0.1.5:9090", [api], service: "named", next: "api-1")),
    RouteCase(name: "dual-stack service, IPv4 VIP: IPv4 endpoint address", dial: "10.96.0.16:80",
              expected: hbone("10.0.1.9:15008", "10.0.1.9:8080", [Fx.id("payments", "dual")], service: "dual", next: "dual")),
    RouteCase(name: "dual-stack service, IPv6 VIP: IPv6 endpoint address", dial: "[fd00:96::16]:80",
              expected: hbone("[fd00:1::9]:15008", "[fd00:1::9]:8080", [Fx.id("payments", "dual")], service: "dual",
                              next: "dual")),
    RouteCase(name: "IPv4 VIP whose only endpoint is IPv6: no endpoint of the family", dial: "10.96.0.17:80",
              expected: .failure(.noHealthyEndpoint(RouteMesh.svc("v6-backend"), port: 80))),
    RouteCase(name: "CIDR VIP: any address in the range reaches the service", dial: "10.200.3.4:80",
              expected: hbone("10.0.1.5:15008", "10.0.1.5:8080", [api], service: "cidr", next: "api-1")),
    RouteCase(name: "two services on one VIP: the client's namespace wins", dial: "10.96.0.20:80",
              expected: .hbone(HBONERoute(dial: Fx.sock("10.0.3.1:15008"), authority: Fx.sock("10.0.3.1:8080"),
                                          expectedIdentities: [Fx.id("shop", "shop")], viaWaypoint: false,
                                          service: RouteMesh.svc("shop-dup", ns: "shop"),
                                          nextHopUID: "c//v1/Pod/shop/shop-backend"))),
    RouteCase(name: "endpoint only on another network: failure naming it", dial: "10.96.0.26:80",
              expected: .failure(.otherNetwork(workloadUID: "c//v1/Pod/payments/remote", network: "net2"))),
    RouteCase(name: "a pod IP on another network is unknown from this one: passthrough", dial: "10.0.9.9:8080",
              expected: .passthrough(Fx.sock("10.0.9.9:8080"))),
]

@Suite struct RouteTests {
    @Test(arguments: routeCases)
    func decision(_ c: RouteCase) {
        var rng = SplitMix(seed: 7)
        let d = RouteMesh.state.route(from: c.source, to: Fx.sock(c.dial), using: &rng)
        #expect(d == c.expected, "\(d)")
    }

    @Test func tableHasAtLeastTwentyCases() { #expect(routeCases.count >= 20) }

    @Test func endpointChoiceFollowsCapacityAndSkipsZero() {
        var rng = SplitMix(seed: 42)
        var picks: [String: Int] = [:]
        for _ in 0..<4000 {
            guard case .hbone(let r) = RouteMesh.state.route(from: RouteMesh.client, to: Fx.sock("10.96.0.27:80"), using: &rng)
            else { Issue.record("expected HBONE"); return }
            picks[r.nextHopUID, default: 0] += 1
        }
        let light = picks["c//v1/Pod/payments/w-light"] ?? 0, heavy = picks["c//v1/Pod/payments/w-heavy"] ?? 0
        #expect(picks["c//v1/Pod/payments/w-drained"] == nil)
        #expect(light + heavy == 4000)
        // Capacity 3 : 1 → about 3000 : 1000; ±10 % is far outside SplitMix64's deviation.
        #expect((2700...3300).contains(heavy), "heavy \(heavy), light \(light)")
    }

    @Test func serviceLookupPrefersLongestCIDRPrefix() {
        let wide = RouteMesh.service("wide", cidr: ["10.0.0.0/8"]), narrow = RouteMesh.service("narrow", cidr: ["10.1.0.0/16"])
        let state = MeshState(services: [wide, narrow])
        #expect(state.service(at: RouteMesh.vip("10.1.2.3"), clientNamespace: nil)?.name == "narrow")
        #expect(state.service(at: RouteMesh.vip("10.2.2.3"), clientNamespace: nil)?.name == "wide")
    }

    @Test func addressConflictPrefersPodOverOtherKinds() {
        let entry = Workload(uid: "c/networking.istio.io/WorkloadEntry/x/e", name: "e", namespace: "x",
                             addresses: [Fx.ip("10.9.9.9")])
        let pod = Workload(uid: "c//v1/Pod/x/p", name: "p", namespace: "x", addresses: [Fx.ip("10.9.9.9")])
        let state = MeshState(workloads: [entry, pod])
        #expect(state.workload(at: RouteMesh.vip("10.9.9.9"))?.uid == pod.uid)
    }
}

@Suite struct MeshStateCellTests {
    @Test func readerSeesEachPublishedSnapshotWhole() {
        let cell = MeshStateCell()
        var reader = MeshStateReader(cell)
        #expect(reader.current().workloads.isEmpty)
        cell.publish(RouteMesh.state)
        #expect(reader.current() === RouteMesh.state)
        #expect(cell.generation == 1)
        let next = MeshState(workloads: [RouteMesh.client])
        cell.publish(next)
        #expect(reader.current() === next)
    }

    @Test func concurrentReadersNeverSeeATornOrFreedSnapshot() async {
        let cell = MeshStateCell(MeshState(workloads: [RouteMesh.client]))
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                for i in 0..<2000 {
                    cell.publish(MeshState(workloads: Array(repeating: RouteMesh.client, count: 1 + i % 3)
                        .enumerated().map { var w = $1; w.uid += "-\($0)"; return w }))
                }
                return true
            }
            for _ in 0..<3 {
                group.addTask {
                    var reader = MeshStateReader(cell)
                    for _ in 0..<20000 {
                        let s = reader.current()
                        // Every snapshot holds 1…3 workloads with distinct uids, all indexed.
                        guard (1...3).contains(s.workloads.count),
                              s.workloads.allSatisfy({ s.workload(uid: $0.uid) != nil }) else { return false }
                    }
                    return true
                }
            }
            for await ok in group { #expect(ok) }
        }
    }
}
