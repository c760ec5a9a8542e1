import Foundation
import Glibc
import Synchronization
import Testing
import ZestCore
import ZestIdentity
import ZestTestSupport
@testable import ZestTLS

@Suite struct RenewalIntegrationTests {
    /// Certificate manager → context holder: a renewal on the control thread rotates the
    /// server's context, and the next handshake presents the renewed certificate.
    @Test func renewalThreadRotatesTheServerContext() throws {
        let pki = try ZestPKI()
        let provider = EmbeddedCA(authority: pki.ca, leafLifetime: .seconds(4))
        let holderBox = Mutex<TLSContextHolder?>(nil)
        let manager = CertificateManager(provider: provider) { _, cert in
            if let holder = holderBox.withLock({ $0 }) { try? holder.rotate(to: cert) }
        }
        let first = try manager.certificate(for: ZestPKI.server)
        let holder = try TLSContextHolder(role: .server, certificate: first)
        holderBox.withLock { $0 = holder }
        let renewal = CertificateRenewalThread(manager: manager, maximumSleep: .milliseconds(50))
        defer { renewal.stop() }

        // A 4 s leaf (backdated 60 s for clock skew) is already past half-life: renewed at once, and again
        // every time the new one passes half-life.
        #expect(waitUntil(timeout: .seconds(10)) {
            holder.context.certificate.leaf.serialNumberHex != first.leaf.serialNumberHex
        })
        let renewed = holder.context.certificate
        let clientCtx = try TLSContext(role: .client, certificate: pki.issue(ZestPKI.client))
        let sockets = SocketPair()
        let client = try TLSConnection(context: clientCtx, fd: sockets.a, expectedPeerIdentities: [ZestPKI.server])
        let server = try TLSConnection(context: holder.context, fd: sockets.b)
        #expect(handshake(client, server) == (.completed, .completed))
        #expect(client.peerCertificate?.serialNumberHex != first.leaf.serialNumberHex)
        #expect(renewed.identity == ZestPKI.server)
        renewal.stop()
        #expect(waitUntil(timeout: .seconds(5)) { renewal.isFinished })
    }
}

@Suite struct ConnectionLifecycleTests {
    func connectedPair() throws -> (TLSConnection, TLSConnection, SocketPair) {
        let pki = try ZestPKI()
        let sockets = SocketPair()
        let client = try TLSConnection(context: TLSContext(role: .client, certificate: pki.issue(ZestPKI.client)),
                                       fd: sockets.a, expectedPeerIdentities: [ZestPKI.server])
        let server = try TLSConnection(context: TLSContext(role: .server, certificate: pki.issue(ZestPKI.server)), fd: sockets.b)
        #expect(handshake(client, server) == (.completed, .completed))
        return (client, server, sockets)
    }

    @Test func closeNotifyIsSeenAsClosedAfterTheData() throws {
        let (client, server, sockets) = try connectedPair()
        _ = sockets
        #expect(writeAll(client, Array("last words".utf8)))
        #expect(try client.shutdown() == .closed)
        #expect(readSome(server, count: 10) == .data(Array("last words".utf8)))
        #expect(readSome(server, count: 1) == .closed)
    }

    @Test func eofWithoutCloseNotifyIsClosed() throws {
        let (client, server, sockets) = try connectedPair()
        _ = client
        Glibc.shutdown(sockets.a.rawValue, Int32(SHUT_RDWR))
        #expect(readSome(server, count: 1) == .closed)
    }

    @Test func clientConnectionWithoutExpectedIdentitiesIsRefused() throws {
        let pki = try ZestPKI()
        let sockets = SocketPair()
        #expect(throws: TLSError.self) {
            _ = try TLSConnection(context: TLSContext(role: .client, certificate: pki.issue(ZestPKI.client)), fd: sockets.a)
        }
    }
}
