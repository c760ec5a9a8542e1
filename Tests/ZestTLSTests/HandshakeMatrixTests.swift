import Foundation
import Testing
import ZestCore
import ZestIdentity
import ZestTestSupport
@testable import ZestTLS

/// The handshake matrix against independent peers: `openssl s_client` / `s_server` with
/// certificates made by the openssl CLI. Each case says which side refuses, with which
/// alert, and checks that no application byte crossed.
@Suite struct HandshakeMatrixTests {
    typealias Leaf = OpenSSLCLIPKI.Leaf
    static let serverMark = "ZEST-SERVER-MARK"
    static let clientMark = "OPENSSL-CLIENT-MARK"

    /// A Zest side whose own certificate and roots come from the openssl CLI PKI.
    static func zestCertificate(_ leaf: Leaf) throws -> WorkloadCertificate {
        let pki = OpenSSLCLIPKI.shared
        return try WorkloadCertificate(leaf: Certificate.load(chainFile: pki.cert(leaf))[0],
                                       privateKey: PrivateKey(file: pki.key(leaf)), intermediates: [],
                                       roots: Certificate.load(chainFile: pki.rootA))
    }

    struct ServerCase: Sendable, CustomTestStringConvertible {
        let name: String
        /// The certificate s_client presents; nil for none.
        let clientLeaf: Leaf?
        let extraArgs: [String]
        /// Zest server's refusal (nil: the handshake must succeed).
        let rejection: HandshakeFailureKind?
        /// The alert s_client must report receiving.
        let alert: Int?
        var testDescription: String { name }
    }

    static let serverCases: [ServerCase] = [
        .init(name: "good pair", clientLeaf: .clientGood, extraArgs: ["-alpn", "h2"], rejection: nil, alert: nil),
        .init(name: "h2 among other protocols", clientLeaf: .clientGood, extraArgs: ["-alpn", "http/1.1,h2"], rejection: nil, alert: nil),
        .init(name: "client cert from another root", clientLeaf: .clientOtherRoot, extraArgs: ["-alpn", "h2"], rejection: .chainInvalid, alert: TLSAlert.unknownCA),
        .init(name: "foreign trust domain", clientLeaf: .clientForeignTD, extraArgs: ["-alpn", "h2"], rejection: .trustDomainMismatch, alert: TLSAlert.handshakeFailure),
        .init(name: "expired client leaf", clientLeaf: .expired, extraArgs: ["-alpn", "h2"], rejection: .chainInvalid, alert: TLSAlert.certificateExpired),
        .init(name: "not-yet-valid client leaf", clientLeaf: .notYetValid, extraArgs: ["-alpn", "h2"], rejection: .chainInvalid, alert: TLSAlert.badCertificate),
        .init(name: "client leaf is a CA", clientLeaf: .caLeaf, extraArgs: ["-alpn", "h2"], rejection: .leafIsCA, alert: TLSAlert.handshakeFailure),
        .init(name: "two URI SANs", clientLeaf: .twoURISANs, extraArgs: ["-alpn", "h2"], rejection: .uriSANCount, alert: TLSAlert.handshakeFailure),
        .init(name: "DNS-only SAN", clientLeaf: .dnsOnly, extraArgs: ["-alpn", "h2"], rejection: .uriSANCount, alert: TLSAlert.handshakeFailure),
        .init(name: "no client certificate", clientLeaf: nil, extraArgs: ["-alpn", "h2"], rejection: .noPeerCertificate, alert: TLSAlert.certificateRequired),
        .init(name: "TLS 1.2 offered", clientLeaf: .clientGood, extraArgs: ["-alpn", "h2", "-tls1_2"], rejection: .protocolError, alert: TLSAlert.protocolVersion),
        .init(name: "no ALPN", clientLeaf: .clientGood, extraArgs: [], rejection: .alpnNotNegotiated, alert: TLSAlert.noApplicationProtocol),
        .init(name: "only http/1.1", clientLeaf: .clientGood, extraArgs: ["-alpn", "http/1.1"], rejection: .alpnNotNegotiated, alert: TLSAlert.noApplicationProtocol),
    ]

    @Test(arguments: serverCases)
    func zestServerAgainstOpenSSLClient(_ c: ServerCase) throws {
        let pki = OpenSSLCLIPKI.shared
        let context = try TLSContext(role: .server, certificate: Self.zestCertificate(.serverGood))
        let listener = LoopbackListener()
        var args = ["s_client", "-connect", "127.0.0.1:\(listener.port)", "-CAfile", pki.rootA,
                    "-verify_return_error", "-noservername", "-ign_eof"] + c.extraArgs
        if let leaf = c.clientLeaf { args += ["-cert", pki.cert(leaf), "-key", pki.key(leaf)] }
        let peer = try OpenSSLPeer(args, input: Self.clientMark + "\n")
        defer { peer.stop() }
        let socket = try #require(listener.accept())
        let connection = try TLSConnection(context: context, fd: socket.fd)
        let outcome = drive(connection)

        if let kind = c.rejection {
            let error = try #require(outcome.error, "Zest server accepted \(c.name)")
            #expect(error.failureKind == kind, "\(error)")
            #expect(connection.peerIdentity == nil)
            #expect(context.counters.failures(kind) == 1)
            #expect(connection.alertSent?.code == c.alert)
            #expect(waitUntil(timeout: .seconds(5)) { peer.alertReceived != nil || !peer.isRunning })
            #expect(peer.alertReceived == c.alert, "s_client output: \(peer.text)")
            #expect(!peer.text.contains(Self.serverMark))
            // s_client may have sent its line right after its own Finished (TLS 1.3); none of it
            // reaches Zest's application.
            #expect(readSome(connection, count: 1, timeout: .milliseconds(200)) != .data(Array((Self.clientMark + "\n").utf8)))
        } else {
            #expect(outcome == .completed, "\(outcome) / \(peer.text)")
            #expect(connection.peerIdentity?.uri == OpenSSLCLIPKI.clientID)
            #expect(writeAll(connection, Array((Self.serverMark + "\n").utf8)))
            #expect(readSome(connection, count: Self.clientMark.count + 1) == .data(Array((Self.clientMark + "\n").utf8)))
            #expect(waitUntil(timeout: .seconds(5)) { peer.text.contains(Self.serverMark) }, "s_client output: \(peer.text)")
            #expect(peer.text.contains("ALPN protocol: h2"))
            #expect(peer.text.contains("TLSv1.3"))
        }
    }

    struct ClientCase: Sendable, CustomTestStringConvertible {
        let name: String
        let serverLeaf: Leaf
        let extraArgs: [String]
        let expected: [String]
        let rejection: HandshakeFailureKind?
        /// The alert Zest sends (its own refusal) or receives (s_server's).
        let alertSent: Int?
        let alertReceived: Int?
        var testDescription: String { name }
    }

    static let good = [OpenSSLCLIPKI.serverID]
    static let clientCases: [ClientCase] = [
        .init(name: "good pair", serverLeaf: .serverGood, extraArgs: ["-alpn", "h2"], expected: good, rejection: nil, alertSent: nil, alertReceived: nil),
        .init(name: "server cert from another root", serverLeaf: .serverOtherRoot, extraArgs: ["-alpn", "h2"], expected: good, rejection: .chainInvalid, alertSent: TLSAlert.unknownCA, alertReceived: nil),
        .init(name: "server identity not expected", serverLeaf: .serverGood, extraArgs: ["-alpn", "h2"], expected: ["spiffe://cluster.local/ns/default/sa/payments"], rejection: .identityNotExpected, alertSent: TLSAlert.handshakeFailure, alertReceived: nil),
        .init(name: "server in foreign trust domain", serverLeaf: .serverForeignTD, extraArgs: ["-alpn", "h2"], expected: good, rejection: .identityNotExpected, alertSent: TLSAlert.handshakeFailure, alertReceived: nil),
        .init(name: "expired server leaf", serverLeaf: .expired, extraArgs: ["-alpn", "h2"], expected: good, rejection: .chainInvalid, alertSent: TLSAlert.certificateExpired, alertReceived: nil),
        .init(name: "not-yet-valid server leaf", serverLeaf: .notYetValid, extraArgs: ["-alpn", "h2"], expected: good, rejection: .chainInvalid, alertSent: TLSAlert.badCertificate, alertReceived: nil),
        .init(name: "server leaf is a CA", serverLeaf: .caLeaf, extraArgs: ["-alpn", "h2"], expected: good, rejection: .leafIsCA, alertSent: TLSAlert.handshakeFailure, alertReceived: nil),
        .init(name: "two URI SANs", serverLeaf: .twoURISANs, extraArgs: ["-alpn", "h2"], expected: good, rejection: .uriSANCount, alertSent: TLSAlert.handshakeFailure, alertReceived: nil),
        .init(name: "DNS-only SAN", serverLeaf: .dnsOnly, extraArgs: ["-alpn", "h2"], expected: good, rejection: .uriSANCount, alertSent: TLSAlert.handshakeFailure, alertReceived: nil),
        .init(name: "server speaks only TLS 1.2", serverLeaf: .serverGood, extraArgs: ["-alpn", "h2", "-tls1_2"], expected: good, rejection: .peerAlert, alertSent: nil, alertReceived: TLSAlert.protocolVersion),
        .init(name: "server selects no ALPN", serverLeaf: .serverGood, extraArgs: [], expected: good, rejection: .alpnNotNegotiated, alertSent: TLSAlert.handshakeFailure, alertReceived: nil),
        // s_server itself refuses a client that offers no protocol it knows.
        .init(name: "server offers only http/1.1", serverLeaf: .serverGood, extraArgs: ["-alpn", "http/1.1"], expected: good, rejection: .peerAlert, alertSent: nil, alertReceived: TLSAlert.noApplicationProtocol),
    ]

    @Test(arguments: clientCases)
    func zestClientAgainstOpenSSLServer(_ c: ClientCase) throws {
        let pki = OpenSSLCLIPKI.shared
        let context = try TLSContext(role: .client, certificate: Self.zestCertificate(.clientGood))
        let args = ["s_server", "-accept", "127.0.0.1:0", "-naccept", "1", "-cert", pki.cert(c.serverLeaf),
                    "-key", pki.key(c.serverLeaf), "-CAfile", pki.rootA, "-Verify", "2", "-verify_return_error",
                    "-num_tickets", "0", "-tlsextdebug"] + c.extraArgs
        let peer = try OpenSSLPeer(args, input: Self.serverMark + "\n")
        defer { peer.stop() }
        let port = try #require(peer.acceptPort(), "s_server did not start: \(peer.text)")
        let socket = try #require(OwnedSocket.connect(port: port))
        let expected = Set(c.expected.compactMap { SpiffeID($0) })
        let connection = try TLSConnection(context: context, fd: socket.fd, expectedPeerIdentities: expected)
        let outcome = drive(connection)

        if let kind = c.rejection {
            let error = try #require(outcome.error, "Zest client accepted \(c.name)")
            #expect(error.failureKind == kind, "\(error)")
            #expect(connection.peerIdentity == nil)
            #expect(context.counters.failures(kind) == 1)
            #expect(connection.alertSent?.code == c.alertSent)
            #expect(connection.alertReceived?.code == c.alertReceived)
            if let sent = c.alertSent {
                #expect(waitUntil(timeout: .seconds(5)) { peer.alertReceived != nil }, "s_server output: \(peer.text)")
                #expect(peer.alertReceived == sent)
            }
            #expect(readSome(connection, count: 1, timeout: .milliseconds(200)) != .data(Array(Self.serverMark.utf8)))
        } else {
            #expect(outcome == .completed, "\(outcome) / \(peer.text)")
            #expect(connection.peerIdentity?.uri == OpenSSLCLIPKI.serverID)
            // What Zest's ClientHello carried, as s_server saw it: ALPN, no SNI, no resumption.
            // s_server prints what it saw as it goes: wait (bounded) for its output to arrive.
            #expect(waitUntil(timeout: .seconds(5)) {
                peer.text.contains("TLS client extension \"application layer protocol negotiation\"")
            }, "\(peer.text)")
            #expect(!peer.text.contains("TLS client extension \"server name\""))
            #expect(!peer.text.contains("(id=41)"), "a pre_shared_key (resumption) extension was sent")
            #expect(readSome(connection, count: Self.serverMark.count + 1) == .data(Array((Self.serverMark + "\n").utf8)))
            #expect(writeAll(connection, Array((Self.clientMark + "\n").utf8)))
            #expect(waitUntil(timeout: .seconds(5)) { peer.text.contains(Self.clientMark) }, "s_server output: \(peer.text)")
        }
    }
}
