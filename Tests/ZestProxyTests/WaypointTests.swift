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
/// opens its own HBONE tunnel to the destination pod with the waypoint's identity.
@Suite(.enabled(if: Privilege.canRunPrivilegedTests, Comment(rawValue: Privilege.skipReason)))
struct WaypointTests {
    @Test func serviceTrafficGoesThroughTheEnvoyWaypointAndTheDestinationPolicySeesItsIdentity() throws {
        try #require(FileManager.default.isExecutableFile(atPath: WaypointEnvoy.binary),
                     "Envoy not found at \(WaypointEnvoy.binary); run scripts/setup.sh or set ZEST_VENV")
        let t = try MeshTopology("wp")
        defer { t.destroy() }
        let w = try TestNamespace("wpw")
        defer { w.destroy() }
        try MeshTopology.link(w, "10.60.3.2/24", to: t.node, "10.60.3.1/24")
        try runChecked(["ip", "-n", w.name, "route", "add", "default", "via", "10.60.3.1"])
        let waypointIP = IPAddress("10.60.3.2")!, vip = IPAddress("10.96.0.10")!
        let appB = SocketAddress(ip: MeshTopology.bIP, port: MeshTopology.appPort)

        let waypointID = try SpiffeID(trustDomain: "cluster.local", namespace: "ns-b", serviceAccount: "waypoint")
        let envoy = try WaypointEnvoy.start(in: w, of: t, identity: waypointID, listen: waypointIP, destination: appB,
                                            destinationIdentity: try t.podDescriptionB.identity())
        defer { envoy.stop() }
        try t.startApp(in: t.podB)

        let (state, waypoint) = WaypointMesh.state(t, waypointIP: waypointIP, waypointID: waypointID, vip: vip)
        t.mesh.publish(state)
        let proxiesB = try t.enroll(t.podDescriptionB, t.bHandle)
        let proxiesA = try t.enroll(t.podDescriptionA, t.aHandle)
        defer { proxiesA.stop(); proxiesB.stop() }

        // Through the Service VIP: A → waypoint (Envoy) → B, B's policy admits the waypoint.
        let viaService = try t.connect(from: t.aHandle, to: SocketAddress(ip: vip, port: 80))
        let greeting = try EchoApp.greeting(viaService)
        #expect(greeting.peer == "\(waypointIP)", "the app sees the waypoint as its client, as with ztunnel")
        let echoed = try EchoApp.echo(viaService, payload: EchoApp.payload(count: 300_000, marker: "via-waypoint"))
        #expect(echoed.echoed == echoed.sent && echoed.count == 300_000)
        #expect(proxiesA.counters().outboundHBONE == 1)
        #expect(proxiesB.counters().inboundTunnelsOpened == 1)
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
        #expect(!fromWaypoint.viaWaypoint && fromWaypoint.dial == SocketAddress(ip: MeshTopology.bIP, port: 15008))
    }
}
