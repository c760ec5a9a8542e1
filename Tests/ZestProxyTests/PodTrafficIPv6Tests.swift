import Glibc
import Testing
import ZestCore
import ZestPolicy
import ZestProxy
import ZestReactor
import ZestTelemetry
import ZestTestSupport

/// Enrolled pods with IPv6 addresses beyond the plain IPv6-only pair (which PodTrafficTests
/// runs for both families): a dual-stack mesh (each pod has one address per family), each
/// family carried over HBONE with the client's real address preserved, as on dual-stack
/// Kubernetes clusters.
@Suite(.enabled(if: Privilege.canRunPrivilegedTests, Comment(rawValue: Privilege.skipReason)))
struct PodTrafficIPv6Tests {
    @Test func dualStackPodsTunnelEachFamilyAndTheAppSeesThatFamilysClientAddress() throws {
        let t = try MeshTopology("ds", families: .dualStack)
        defer { t.destroy() }
        try t.startApp(in: t.podB)
        let (proxiesA, proxiesB) = try t.enrollBoth()
        defer { proxiesA.stop(); proxiesB.stop() }

        let pairs = [(to: MeshFamilies.bIPv4, from: MeshFamilies.aIPv4), (to: MeshFamilies.bIPv6, from: MeshFamilies.aIPv6)]
        for pair in pairs {
            let wire = try PacketCapture(t.node, interface: t.nodeVethTowardsA)
            let marker = "ZEST-PLAINTEXT-MARKER-\(UInt64.random(in: 0...UInt64.max))"
            let payload = EchoApp.payload(count: 256 << 10, marker: marker)
            let client = try t.connect(from: t.aHandle, to: SocketAddress(ip: pair.to, port: MeshTopology.appPort))
            let greeting = try EchoApp.greeting(client)
            let echoed = try EchoApp.echo(client, payload: payload)
            let captured = wire.stop()
            #expect(greeting.peer == "\(pair.from)", "pod A's own address of the family it dialled")
            #expect(echoed.count == payload.count && echoed.echoed == echoed.sent)
            #expect(!captured.isEmpty && !captured.contains(bytes: Array(marker.utf8)), "no plaintext to \(pair.to)")
        }
        let a = proxiesA.counters(), b = proxiesB.counters()
        #expect(a.outboundAccepted == 2 && a.outboundHBONE == 2 && a.outboundPassthrough == 0)
        #expect(b.inboundHBONEConnections == 2 && b.inboundTunnelsOpened == 2 && b.inboundPlaintextAccepted == 0)
        let log = t.logText()
        #expect(log.contains("dst.hbone_addr=10.60.2.2:8080") && log.contains("dst.hbone_addr=[fd60:2::2]:8080"))

        // Plaintext from the node is captured on each family too, the client's address kept.
        for (to, from) in [(MeshFamilies.bIPv4, MeshFamilies.nodeIPv4TowardsB), (MeshFamilies.bIPv6, MeshFamilies.nodeIPv6TowardsB)] {
            let plain = try t.connect(from: t.nodeHandle, to: SocketAddress(ip: to, port: MeshTopology.appPort))
            #expect(try EchoApp.greeting(plain).peer == "\(from)")
            let echoed = try EchoApp.echo(plain, payload: EchoApp.payload(count: 8192, marker: "plain"))
            #expect(echoed.echoed == echoed.sent)
        }
        #expect(proxiesB.counters().inboundPlaintextAccepted == 2)
    }

    /// The node agent enrolls a pod with the addresses the mesh knows at that moment: none when
    /// the workload is not listed yet, or only its IPv4 one. Capture covers both families
    /// regardless, so the proxies must listen on both too.
    @Test func podsEnrolledWithoutTheirIPv6AddressStillTunnelIPv6() throws {
        let t = try MeshTopology("un", families: .dualStack)
        defer { t.destroy() }
        try t.startApp(in: t.podB)
        var describedA = t.podDescriptionA, describedB = t.podDescriptionB
        describedA.addresses = [MeshFamilies.aIPv4]
        describedB.addresses = []
        let proxiesB = try t.enroll(describedB, t.bHandle)
        let proxiesA = try t.enroll(describedA, t.aHandle)
        defer { proxiesA.stop(); proxiesB.stop() }

        for (to, from) in [(MeshFamilies.bIPv6, MeshFamilies.aIPv6), (MeshFamilies.bIPv4, MeshFamilies.aIPv4)] {
            let client = try t.connect(from: t.aHandle, to: SocketAddress(ip: to, port: MeshTopology.appPort))
            #expect(try EchoApp.greeting(client).peer == "\(from)")
            let echoed = try EchoApp.echo(client, payload: EchoApp.payload(count: 65536, marker: "unlisted"))
            #expect(echoed.echoed == echoed.sent)
        }
        #expect(proxiesA.counters().outboundHBONE == 2 && proxiesB.counters().inboundTunnelsOpened == 2)
    }

    /// A dual-stack Service: each VIP leads to the endpoint's address of the same family,
    /// tunnelled with that family's `:authority`.
    @Test func aDualStackServiceVIPReachesTheEndpointInTheFamilyDialled() throws {
        let t = try MeshTopology("sv", families: .dualStack)
        defer { t.destroy() }
        try t.startApp(in: t.podB)
        let key = NamespacedHostname(namespace: "ns-b", hostname: "svc-b.ns-b.svc.cluster.local")
        var workloadB = t.workloadB
        workloadB.services = [key: [80: 8080]]
        let vip4 = IPAddress("10.96.0.10")!, vip6 = IPAddress("fd96::10")!
        let service = Service(name: "svc-b", namespace: "ns-b", hostname: key.hostname,
                              vips: [NetworkAddress(ip: vip4), NetworkAddress(ip: vip6)], ports: [80: 8080], ipFamilies: .dual)
        t.mesh.publish(MeshState(workloads: [t.workloadA, workloadB], services: [service]))
        let (proxiesA, proxiesB) = try t.enrollBoth()
        defer { proxiesA.stop(); proxiesB.stop() }

        for (vip, from) in [(vip6, MeshFamilies.aIPv6), (vip4, MeshFamilies.aIPv4)] {
            let client = try t.connect(from: t.aHandle, to: SocketAddress(ip: vip, port: 80))
            #expect(try EchoApp.greeting(client).peer == "\(from)", "the VIP \(vip) led to the same family")
            let echoed = try EchoApp.echo(client, payload: EchoApp.payload(count: 65536, marker: "service"))
            #expect(echoed.echoed == echoed.sent)
        }
        #expect(proxiesA.counters().outboundHBONE == 2 && proxiesB.counters().inboundTunnelsOpened == 2)
        let log = t.logText()
        #expect(log.contains("dst.hbone_addr=[fd60:2::2]:8080") && log.contains("dst.hbone_addr=10.60.2.2:8080"))
        let bothCounted = waitUntil(timeout: .seconds(5)) {
            t.metrics.totals().filter { $0.key.reporter == .destination && $0.key.destinationService == key.hostname }
                .values.reduce(0) { $0 + $1.closed } == 2
        }
        #expect(bothCounted, "both families count for the Service at the destination")
    }

    /// Where the kernel has no IPv6 at all, the `[::]` listeners cannot exist: the proxies
    /// fall back to `0.0.0.0` and IPv4 works as before.
    @Test func podsInANamespaceWithoutIPv6ListenOnIPv4Only() throws {
        let t = try MeshTopology("n6", families: .ipv4)
        defer { t.destroy() }
        try t.startApp(in: t.podB)
        let networkB = IPv4OnlyPodNetwork(base: NetnsPodNetwork(thread: t.thread, namespace: t.bHandle))
        let networkA = IPv4OnlyPodNetwork(base: NetnsPodNetwork(thread: t.thread, namespace: t.aHandle))
        let proxiesB = try t.enroll(t.podDescriptionB, t.bHandle, network: networkB)
        let proxiesA = try t.enroll(t.podDescriptionA, t.aHandle, network: networkA)
        defer { proxiesA.stop(); proxiesB.stop() }

        let client = try t.connect(from: t.aHandle, to: SocketAddress(ip: MeshFamilies.bIPv4, port: MeshTopology.appPort))
        #expect(try EchoApp.greeting(client).peer == "\(MeshFamilies.aIPv4)")
        #expect(proxiesA.counters().outboundHBONE == 1 && proxiesB.counters().inboundTunnelsOpened == 1)
        let listeners = try t.podA.exec(["ss", "-Hltn", "sport = :15001"])
        #expect(listeners.contains("0.0.0.0:15001") && !listeners.contains("[::]"))
    }

    /// IPv4 pods whose IPv6 is switched off (`disable_ipv6=1`, as container runtimes often
    /// leave them) are enrolled, and the dual-stack listeners take their IPv4 traffic.
    @Test func ipv4PodsWithIPv6SwitchedOffAreEnrolledAndTunnelled() throws {
        let t = try MeshTopology("d6", families: .ipv4)
        defer { t.destroy() }
        for pod in [t.podA, t.podB] {
            try pod.exec(["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"])
        }
        try t.startApp(in: t.podB)
        let (proxiesA, proxiesB) = try t.enrollBoth()
        defer { proxiesA.stop(); proxiesB.stop() }

        let appB = SocketAddress(ip: MeshFamilies.bIPv4, port: MeshTopology.appPort)
        let client = try t.connect(from: t.aHandle, to: appB)
        #expect(try EchoApp.greeting(client).peer == "\(MeshFamilies.aIPv4)")
        let echoed = try EchoApp.echo(client, payload: EchoApp.payload(count: 65536, marker: "no-ipv6"))
        #expect(echoed.echoed == echoed.sent)
        let plain = try t.connect(from: t.nodeHandle, to: appB)
        #expect(try EchoApp.greeting(plain).peer == "\(MeshFamilies.nodeIPv4TowardsB)")
        #expect(proxiesA.counters().outboundHBONE == 1 && proxiesB.counters().inboundTunnelsOpened == 1)
        #expect(proxiesB.counters().inboundPlaintextAccepted == 1)
    }
}
