import Glibc
import Synchronization
import Testing
import ZestCore
import ZestTestSupport
import ZestIdentity
import ZestReactor
import ZestTLS
@testable import ZestHBONE

/// The pool dials each key from the key's source IP, and two keys that differ only in source
/// IP never share a connection (ZTUNNEL-REFERENCE: the pool key includes the source address).
/// The peer here is a bare TCP listener on loopback: what matters is the address the dial
/// comes from, seen by `accept(2)`, not the handshake.
@Suite struct PoolSourceAddressTests {
    @Test func eachKeyDialsFromItsSourceIPAndKeysDifferingOnlyInSourceIPDoNotShare() throws {
        let listener = LoopbackListener()
        var accepted: [OwnedSocket] = []   // kept open: their handshakes just wait, no dial fails early
        func acceptPeer(within ms: Int32) -> IPAddress? {
            guard let (socket, peer) = listener.acceptWithPeer(ms: ms) else { return nil }
            accepted.append(socket)
            return peer.ip
        }
        let (root, key) = try CertificateAuthority.generateRoot(trustDomain: "cluster.local")
        let ca = try CertificateAuthority(signingCertificate: root, signingKey: key, intermediates: [],
                                          roots: [root], trustDomain: "cluster.local", source: "test root")
        let client = SpiffeID("spiffe://cluster.local/ns/a/sa/client")!
        let server = SpiffeID("spiffe://cluster.local/ns/b/sa/server")!
        let tls = try TLSContext(role: .client, certificate: ca.issue(for: client))
        let group = try WorkerGroup(workers: 1, bufferPool: .init(slotCount: 16, payloadCapacity: 1 << 16)) { _ in }
        defer { group.shutdown() }
        let dials = Mutex(0)
        let box = PoolBox()

        func open(from source: String) {
            let sourceIP = IPAddress(source)!
            let destination = listener.address
            group.execute(onWorker: 0) { loop in
                if box.pool == nil {
                    box.pool = HBONEOutboundPool(loop: loop, tls: tls) { destination, source in
                        try Socket.connect(to: destination, from: source)
                    }
                }
                let pool = box.pool!
                var fds: [Int32] = [0, 0]
                _ = socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0, &fds)
                box.appEnds.append(fds[1])
                guard let endpoint = try? ZestHBONE.TunnelEndpoint(loop: loop, socket: Socket(owning: FileDescriptor(rawValue: fds[0])),
                                                         connecting: false, onBytes: { _, _ in }, onClose: { _ in }) else { return }
                box.endpoints.append(endpoint)
                let key = HBONEPoolKey(sourceIdentity: client, destinationIdentities: [server],
                                       sourceIP: sourceIP, destination: destination)
                pool.openTunnel(key, ConnectRequest(target: SocketAddress("10.0.0.9:8080")!), for: endpoint)
                dials.withLock { $0 = pool.dialCount }
            }
        }

        open(from: "127.0.0.7")
        #expect(acceptPeer(within: 5_000) == IPAddress("127.0.0.7"))
        open(from: "127.0.0.8")
        #expect(acceptPeer(within: 5_000) == IPAddress("127.0.0.8"),
                "a second source IP to the same destination and identities dials its own connection")
        open(from: "127.0.0.7")
        #expect(waitUntil(timeout: .seconds(5)) { dials.withLock { $0 } == 2 && box.opened == 3 },
                "the third caller shares the first key's dial in flight")
        #expect(acceptPeer(within: 300) == nil, "no third dial")
        group.execute(onWorker: 0) { _ in
            box.pool?.close()
            box.pool = nil
            box.endpoints.removeAll()
            for fd in box.appEnds { Glibc.close(fd) }
        }
    }
}

/// State that lives on the worker's loop thread; the test only reads counts after a hop.
private final class PoolBox: @unchecked Sendable {
    var pool: HBONEOutboundPool?
    var endpoints: [ZestHBONE.TunnelEndpoint] = []
    var appEnds: [Int32] = []
    var opened: Int { endpoints.count }
}
