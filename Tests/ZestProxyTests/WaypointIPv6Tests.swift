import Foundation
import Glibc
import Testing
import ZestCore
import ZestPolicy
import ZestProxy
import ZestReactor
import ZestTelemetry
import ZestTestSupport

/// `WaypointTests` on the IPv6-only topology: the Service VIP, the waypoint (a real Envoy)
/// and both pods have IPv6 addresses only, so every CONNECT names `[IPv6]:port`.
@Suite(.enabled(if: Privilege.canRunPrivilegedTests, Comment(rawValue: Privilege.skipReason)))
struct WaypointIPv6Tests {
    @Test func ipv6ServiceTrafficGoesThroughTheEnvoyWaypointAndTheDestinationPolicySeesItsIdentity() throws {
        try #require(FileManager.default.isExecutableFile(atPath: WaypointEnvoy.binary),
                     "Envoy not found at \(WaypointEnvoy.binary); run scripts/setup.sh or set ZEST_VENV")
        let t = try MeshTopology("wp6", families: .ipv6)
        defer { t.destroy() }
        let w = try TestNamespace("wp6w")
        defer { w.destroy() }
        let waypointIP = IPAddress("fd60:3::2")!, vip = IPAddress("fd96::10")!
        try MeshTopology.link(w, [("fd60:3::2/64", "fd60:3::1/64")], to: t.node)
        try MeshTopology.addDefaultRoute(w, via: IPAddress("fd60:3::1")!)
        let appB = SocketAddress(ip: MeshFamilies.bIPv6, port: MeshTopology.appPort)

        let waypointID = try SpiffeID(trustDomain: "cluster.local", namespace: "ns-b", serviceAccount: "waypoint")
        let envoy = try WaypointEnvoy.start(in: w, of: t, identity: waypointID, listen: waypointIP, destination: appB,
                                            destinationIdentity: try t.podDescriptionB.identity())
        defer { envoy.stop() }
        try t.startApp(in: t.podB)

        t.mesh.publish(WaypointMesh.state(t, waypointIP: waypointIP, waypointID: waypointID, vip: vip).state)
        let proxiesB = try t.enroll(t.podDescriptionB, t.bHandle)
        let proxiesA = try t.enroll(t.podDescriptionA, t.aHandle)
        defer { proxiesA.stop(); proxiesB.stop() }

        let viaService = try t.connect(from: t.aHandle, to: SocketAddress(ip: vip, port: 80))
        #expect(try EchoApp.greeting(viaService).peer == "\(waypointIP)", "the app sees the waypoint as its client")
        let echoed = try EchoApp.echo(viaService, payload: EchoApp.payload(count: 300_000, marker: "via-waypoint-6"))
        #expect(echoed.echoed == echoed.sent && echoed.count == 300_000)
        #expect(proxiesA.counters().outboundHBONE == 1 && proxiesB.counters().inboundTunnelsOpened == 1)
        #expect(t.logText().contains("dst.hbone_addr=[fd96::10]:80"), "the waypoint is asked for the VIP, in brackets")
        let atB = t.metrics.totals().keys.filter { $0.reporter == .destination }
        #expect(atB.contains { $0.sourcePrincipal == waypointID.uri }, "the destination saw the waypoint's identity")

        let direct = try t.connect(from: t.aHandle, to: appB)
        #expect(throws: (any Error).self) { try EchoApp.greeting(direct) }
        #expect(waitUntil(timeout: .seconds(5)) { proxiesB.counters().inboundTunnelsDenied == 1 })
    }
}
