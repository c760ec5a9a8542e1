import Foundation
import Glibc
import Testing
import ZestCore
import ZestPolicy
import ZestProxy
import ZestReactor
import ZestTelemetry
import ZestTestSupport

/// A Service with a waypoint, the waypoint being a real Envoy (1.40) in its own namespace:
/// the source pod's proxy sends Service traffic to it over HBONE, Envoy terminates that and
/// opens its own HBONE tunnel to the destination pod with the waypoint's identity. On the
/// IPv6-only topology the VIP, the waypoint and both pods have IPv6 addresses only, so every
/// CONNECT names `[IPv6]:port`.
@Suite(.enabled(if: Privilege.canRunPrivilegedTests, Comment(rawValue: Privilege.skipReason)))
struct WaypointTests {
    @Test(arguments: [MeshFamilies.ipv4, .ipv6])
    func serviceTrafficGoesThroughTheEnvoyWaypointAndTheDestinationPolicySeesItsIdentity(_ family: MeshFamilies) throws {
        try #require(FileManager.default.isExecutableFile(atPath: WaypointEnvoy.binary),
                     "Envoy not found at \(WaypointEnvoy.binary); run scripts/setup.sh or set ZEST_VENV")
        let label = family == .ipv4 ? "wp" : "wp6"
        let t = try MeshTopology(label, families: family)
        defer { t.destroy() }
        let w = try TestNamespace(label + "w")
        defer { w.destroy() }
        let ipv4 = family == .ipv4
        let waypointIP = IPAddress(ipv4 ? "10.60.3.2" : "fd60:3::2")!, vip = IPAddress(ipv4 ? "10.96.0.10" : "fd96::10")!
        let gateway = IPAddress(ipv4 ? "10.60.3.1" : "fd60:3::1")!
        let prefix = ipv4 ? "/24" : "/64"
        try MeshTopology.link(w, [("\(waypointIP)" + prefix, "\(gateway)" + prefix)], to: t.node)
        try MeshTopology.addDefaultRoute(w, via: gateway)
        let appB = SocketAddress(ip: family.podB[0], port: MeshTopology.appPort)

        let waypointID = try SpiffeID(trustDomain: "cluster.local", namespace: "ns-b", serviceAccount: "waypoint")
        let envoy = try WaypointEnvoy.start(in: w, of: t, identity: waypointID, listen: waypointIP, destination: appB,
                                            destinationIdentity: try t.podDescriptionB.identity())
        defer { envoy.stop() }
        try t.startApp(in: t.podB)

        let (state, waypoint) = WaypointMesh.state(t, waypointIP: waypointIP, waypointID: waypointID, vip: vip)
        t.mesh.publish(state)
        let (proxiesA, proxiesB) = try t.enrollBoth()
        defer { proxiesA.stop(); proxiesB.stop() }

        // Through the Service VIP: A → waypoint (Envoy) → B, B's policy admits the waypoint.
        let viaService = try t.connect(from: t.aHandle, to: SocketAddress(ip: vip, port: 80))
        let greeting = try EchoApp.greeting(viaService)
        #expect(greeting.peer == "\(waypointIP)", "the app sees the waypoint as its client, as with ztunnel")
        let echoed = try EchoApp.echo(viaService, payload: EchoApp.payload(count: 300_000, marker: "via-waypoint"))
        #expect(echoed.echoed == echoed.sent && echoed.count == 300_000)
        #expect(proxiesA.counters().outboundHBONE == 1)
        #expect(proxiesB.counters().inboundTunnelsOpened == 1)
        #expect(t.logText().contains("dst.hbone_addr=\(SocketAddress(ip: vip, port: 80))"),
                "the waypoint is asked for the VIP (an IPv6 one in brackets)")
        let atB = t.metrics.totals().keys.filter { $0.reporter == .destination }
        #expect(atB.contains { $0.sourcePrincipal == waypointID.uri }, "the destination saw the waypoint's identity")

        // Dialing the pod directly skips the waypoint; the policy then sees pod A and denies it.
        let direct = try t.connect(from: t.aHandle, to: appB)
        #expect(throws: (any Error).self) { try EchoApp.greeting(direct) }
        #expect(waitUntil(timeout: .seconds(5)) { proxiesB.counters().inboundTunnelsDenied == 1 })

        // The waypoint's own traffic to the Service is not sent back to the waypoint.
        guard case .hbone(let fromWaypoint) = state.route(from: waypoint, to: SocketAddress(ip: vip, port: 80)) else {
            Issue.record("no HBONE route from the waypoint")
            return
        }
        #expect(!fromWaypoint.viaWaypoint && fromWaypoint.dial == SocketAddress(ip: family.podB[0], port: 15008))
    }
}
