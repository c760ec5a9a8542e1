import Glibc
import Testing
import ZestCore
import ZestReactor
import ZestTestSupport

/// Waits (bounded) for one connection on a nonblocking listener.
func acceptOne(_ listener: ListeningSocket) throws -> Socket {
    try listener.accept(timeout: .seconds(5))
}

/// Reads exactly `count` bytes from a blocking socket.
func readExactly(_ socket: Socket, _ count: Int) throws -> [UInt8] {
    var out = [UInt8](repeating: 0, count: count)
    var got = 0
    while got < count {
        let r = try out.withUnsafeMutableBytes { try socket.read(into: $0.baseAddress! + got, count: count - got) }
        guard case .processed(let n) = r, n > 0 else { break }
        got += n
    }
    return Array(out[0..<got])
}

@Suite struct SocketTests {
    @Test(arguments: ["127.0.0.1:0", "[::1]:0"])
    func listenConnectAcceptReportAddressesBothFamilies(_ text: String) throws {
        let listener = try ListeningSocket(listeningOn: SocketAddress(text)!)
        let bound = try listener.localAddress()
        #expect(bound.port != 0)
        let client = try Socket.connectBlocking(to: bound)
        let server = try acceptOne(listener)
        #expect(try server.localAddress() == bound)
        #expect(try server.peerAddress() == client.localAddress())
        #expect(try client.peerAddress() == bound)
    }

    @Test func refusedConnectThrowsAnErrorNamingTheSyscallAndErrno() throws {
        let port = try ListeningSocket(listeningOn: SocketAddress("127.0.0.1:0")!).localAddress()
        do {
            _ = try Socket.connectBlocking(to: port)
            Issue.record("connect to a closed port succeeded")
        } catch {
            #expect(error.syscall.description == "connect")
            #expect(error.errno == ECONNREFUSED)
            #expect(error.isRefused)
            #expect(error.description.contains("connect()"))
        }
    }

    @Test func emptyNonblockingReadIsWouldBlockNotAnError() throws {
        let listener = try ListeningSocket(listeningOn: SocketAddress("127.0.0.1:0")!)
        let client = try Socket.connectBlocking(to: listener.localAddress())
        let server = try acceptOne(listener)
        var byte: UInt8 = 0
        #expect(try server.read(into: &byte, count: 1) == .wouldBlock)
        _ = client
    }

    @Test func halfCloseEndsOneDirectionOnly() throws {
        let listener = try ListeningSocket(listeningOn: SocketAddress("127.0.0.1:0")!)
        let client = try Socket.connectBlocking(to: listener.localAddress())
        let server = try acceptOne(listener)
        try server.setBlocking(true)
        try client.shutdownWrite()
        #expect(try readExactly(server, 1).isEmpty)
        let reply: [UInt8] = [1, 2, 3]
        try reply.withUnsafeBytes { try server.writeAll($0.baseAddress!, count: 3) }
        #expect(try readExactly(client, 3) == reply)
    }

    @Test func closeWithResetMakesThePeerSeeConnectionReset() throws {
        let listener = try ListeningSocket(listeningOn: SocketAddress("127.0.0.1:0")!)
        let client = try Socket.connectBlocking(to: listener.localAddress())
        let server = try acceptOne(listener)
        server.closeWithReset()
        #expect(!server.isOpen)
        try client.setReceiveTimeout(.seconds(5))
        do {
            _ = try readExactly(client, 1)
            Issue.record("read after RST did not fail")
        } catch {
            #expect((error as? SyscallError)?.isReset == true)
        }
    }

    @Test func reusePortListenersShareOnePort() throws {
        let (fds, address) = try ListeningSocket.bindGroup(SocketAddress("127.0.0.1:0")!, count: 3)
        let listeners = fds.map { ListeningSocket(adopting: $0) }
        #expect(listeners.count == 3)
        for l in listeners { #expect(try l.localAddress() == address) }
    }
}
