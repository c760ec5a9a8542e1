import Foundation
import Testing
import ZestCore
import ZestIdentity
@testable import ZestTLS

@Suite struct RotationTests {
    @Test func rotationKeepsOpenConnectionsAndNewHandshakesPresentTheNewCertificate() throws {
        let pki = try ZestPKI()
        let first = try pki.issue(ZestPKI.server)
        let holder = try TLSContextHolder(role: .server, certificate: first)
        let clientCtx = try TLSContext(role: .client, certificate: pki.issue(ZestPKI.client))

        let oldSockets = SocketPair()
        let oldClient = try TLSConnection(context: clientCtx, fd: oldSockets.a, expectedPeerIdentities: [ZestPKI.server])
        let oldServer = try TLSConnection(context: holder.context, fd: oldSockets.b)
        #expect(handshake(oldClient, oldServer) == (.completed, .completed))
        #expect(oldClient.peerCertificate?.serialNumberHex == first.leaf.serialNumberHex)

        let second = try pki.issue(ZestPKI.server)
        #expect(second.leaf.serialNumberHex != first.leaf.serialNumberHex)
        try holder.rotate(to: second)
        #expect(holder.context.certificate.leaf.serialNumberHex == second.leaf.serialNumberHex)

        // The open connection still carries data both ways.
        #expect(writeAll(oldClient, Array("before-and-after".utf8)))
        #expect(readSome(oldServer, count: 16) == .data(Array("before-and-after".utf8)))
        #expect(writeAll(oldServer, Array("reply".utf8)))
        #expect(readSome(oldClient, count: 5) == .data(Array("reply".utf8)))
        #expect(oldServer.context.certificate.leaf.serialNumberHex == first.leaf.serialNumberHex)

        // A new handshake sees the new certificate.
        let newSockets = SocketPair()
        let newClient = try TLSConnection(context: clientCtx, fd: newSockets.a, expectedPeerIdentities: [ZestPKI.server])
        let newServer = try TLSConnection(context: holder.context, fd: newSockets.b)
        #expect(handshake(newClient, newServer) == (.completed, .completed))
        #expect(newClient.peerCertificate?.serialNumberHex == second.leaf.serialNumberHex)
        #expect(newClient.peerIdentity == ZestPKI.server)
        #expect(holder.counters.completedHandshakes == 2, "counters survive rotation")
    }

    @Test func rotationKeepsRoleSettingsAndCounters() throws {
        let pki = try ZestPKI()
        let settings = TLSSettings(cipherSuites: [.aes128GCM], groups: ["P-256"])
        let holder = TLSContextHolder(try TLSContext(role: .server, certificate: pki.issue(ZestPKI.server), settings: settings))
        try holder.rotate(to: pki.issue(ZestPKI.server))
        #expect(holder.context.role == .server)
        #expect(holder.context.settings == settings)
        #expect(holder.context.counters === holder.counters)
    }

    @Test func emptyCipherSuiteListIsAConfigurationError() throws {
        let pki = try ZestPKI()
        #expect(throws: TLSError.self) {
            _ = try TLSContext(role: .server, certificate: pki.issue(ZestPKI.server), settings: TLSSettings(cipherSuites: []))
        }
    }
}

@Suite struct PeerPolicyTests {
    typealias Leaf = OpenSSLCLIPKI.Leaf
    static func cliLeaf(_ l: Leaf) throws -> Certificate {
        try Certificate.load(chainFile: OpenSSLCLIPKI.shared.cert(l))[0]
    }
    static let server = SpiffeID(OpenSSLCLIPKI.serverID)!

    @Test func leafNotCARejectsOnlyCALeaves() throws {
        #expect(PeerPolicy.leafNotCA.check(try Self.cliLeaf(.caLeaf)) == .leafIsCA)
        #expect(PeerPolicy.leafNotCA.check(try Self.cliLeaf(.serverGood)) == nil)
    }

    @Test func singleSpiffeURISANCountsAndParses() throws {
        #expect(PeerPolicy.singleSpiffeURISAN.check(try Self.cliLeaf(.twoURISANs)) == .uriSANCount(2))
        #expect(PeerPolicy.singleSpiffeURISAN.check(try Self.cliLeaf(.dnsOnly)) == .uriSANCount(0))
        #expect(PeerPolicy.singleSpiffeURISAN.check(try Self.cliLeaf(.serverGood)) == nil)
    }

    @Test func singleSpiffeURISANRejectsNonIstioURIs() throws {
        let pki = OpenSSLCLIPKI.shared
        let leaf = try pki.extraLeaf(name: "spiffeNoSA", san: "URI:spiffe://cluster.local/workload/x")
        if case .notSpiffeID(let uri, _)? = PeerPolicy.singleSpiffeURISAN.check(leaf) {
            #expect(uri == "spiffe://cluster.local/workload/x")
        } else {
            Issue.record("a non-Istio SPIFFE path was accepted")
        }
    }

    @Test func trustDomainMustMatch() throws {
        #expect(PeerPolicy.trustDomain("cluster.local").check(try Self.cliLeaf(.clientGood)) == nil)
        #expect(PeerPolicy.trustDomain("cluster.local").check(try Self.cliLeaf(.clientForeignTD))
                == .trustDomainMismatch(expected: "cluster.local", got: "other.example"))
    }

    @Test func expectedIdentityMatchesAnyOfTheSet() throws {
        let payments = SpiffeID("spiffe://cluster.local/ns/default/sa/payments")!
        #expect(PeerPolicy.expectedIdentity([payments, Self.server]).check(try Self.cliLeaf(.serverGood)) == nil)
        #expect(PeerPolicy.expectedIdentity([payments]).check(try Self.cliLeaf(.serverGood))
                == .identityNotExpected(expected: [payments.uri], got: Self.server.uri))
    }

    @Test func serverAndClientPolicyListsRunInOrder() throws {
        #expect(PeerPolicy.evaluate(PeerPolicy.server(trustDomain: "cluster.local"), on: try Self.cliLeaf(.caLeaf)) == .leafIsCA)
        #expect(PeerPolicy.evaluate(PeerPolicy.client(expecting: [Self.server]), on: try Self.cliLeaf(.serverGood)) == nil)
    }
}
