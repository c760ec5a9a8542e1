import ArgumentParser
import Glibc
import ZestCore
import ZestHBONE
import ZestIdentity
import ZestReactor
import ZestTLS

/// Loads a certificate, key and trust roots from PEM files into a TLS context.
func loadTLSContext(role: TLSRole, cert: String, key: String, ca: String, aes128Only: Bool) throws -> TLSContext {
    do {
        let chain = try Certificate.load(chainFile: cert)
        guard let leaf = chain.first else { throw ValidationError("--cert \(cert) holds no certificate") }
        let workload = try WorkloadCertificate(leaf: leaf, privateKey: PrivateKey(file: key), intermediates: Array(chain.dropFirst()),
                                               roots: Certificate.load(chainFile: ca), keySource: key, certificateSource: cert)
        let settings = aes128Only ? TLSSettings(cipherSuites: [.aes128GCM]) : TLSSettings()
        return try TLSContext(role: role, certificate: workload, settings: settings)
    } catch let e as ValidationError {
        throw e
    } catch {
        throw ValidationError("cannot load TLS material: \(error)")
    }
}

/// Gives back the code pages only start-up used (`StartupPages.release()`), then waits for a
/// stop signal.
func waitReleasingStartupPages(_ signals: SignalWaiter) -> Int32 {
    StartupPages.release()
    return signals.wait()
}

/// The PEM options both HBONE commands take.
struct TLSFileOptions: ParsableArguments {
    @Option(help: "PEM certificate chain presented to the peer (leaf first; one SPIFFE URI SAN).")
    var cert: String
    @Option(help: "PEM private key of the certificate (PKCS#8 or traditional).")
    var key: String
    @Option(help: "PEM trust roots the peer's chain must lead to.")
    var ca: String
    @Flag(help: "Offer only TLS_AES_128_GCM_SHA256 (benchmarks compare ciphers like for like).")
    var aes128Only = false
}

struct TunnelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tunnel",
        abstract: "Carry every TCP connection accepted on --listen as one HBONE tunnel to --authority via --peer.",
        discussion: """
        HBONE without traffic capture, for debugging and benchmarks: each accepted connection
        becomes an HTTP/2 CONNECT stream (authority --authority) on a pooled mutual-TLS
        connection to --peer, which must present --expect-identity.
        Example: zest tunnel --listen 127.0.0.1:9000 --peer 10.0.0.2:15008 --authority 10.0.0.2:8080 \\
                   --cert a.pem --key a.key --ca ca.pem --expect-identity spiffe://cluster.local/ns/default/sa/b
        """
    )

    @Option(help: "Address to accept plain TCP on, IPv4:port or [IPv6]:port.")
    var listen: String
    @Option(help: "HBONE server to dial, IPv4:port or [IPv6]:port (usually port 15008).")
    var peer: String
    @Option(help: "Target of every tunnel, IP:port (IPv6 in brackets), sent as :authority.")
    var authority: String
    @Option(help: "SPIFFE identity the peer must present; repeat to accept several.")
    var expectIdentity: [String]
    @OptionGroup var tlsFiles: TLSFileOptions
    @OptionGroup var loopOptions: LoopOptions
    @Option(help: "Worker threads (default: the CPU limit of this cgroup, else online CPUs).")
    var workers: Int?

    func validate() throws {
        for (name, v) in [("--listen", listen), ("--peer", peer), ("--authority", authority)] where SocketAddress(v) == nil {
            throw ValidationError("\(name) '\(v)' is not IPv4:port or [IPv6]:port")
        }
        guard !expectIdentity.isEmpty else { throw ValidationError("give at least one --expect-identity") }
        for id in expectIdentity where SpiffeID(id) == nil {
            throw ValidationError("--expect-identity '\(id)' is not spiffe://<trust-domain>/ns/<ns>/sa/<sa>")
        }
        if let workers, !(1...1024).contains(workers) { throw ValidationError("--workers must be between 1 and 1024") }
    }

    func run() throws {
        EagerBinding.reexecOnce()
        // SSL_write goes through write(2), which raises SIGPIPE on a peer that already closed;
        // the error must come back as EPIPE instead of killing the process.
        signal(SIGPIPE, SIG_IGN)
        let signals = SignalWaiter(blocking: [SIGINT, SIGTERM])
        let tls = try loadTLSContext(role: .client, cert: tlsFiles.cert, key: tlsFiles.key, ca: tlsFiles.ca, aes128Only: tlsFiles.aes128Only)
        var config = HBONETunnelClient.Configuration(listen: SocketAddress(listen)!, peer: SocketAddress(peer)!,
                                                     target: SocketAddress(authority)!, tls: tls,
                                                     expectedIdentities: Set(expectIdentity.compactMap { SpiffeID($0) }))
        config.workers = workers
        config.busyPoll = loopOptions.busyPoll
        let client: HBONETunnelClient
        do {
            client = try HBONETunnelClient(config)
        } catch {
            throw ValidationError("cannot listen on \(listen): \(error)")
        }
        Console.out("zest tunnel: listening on \(client.listenAddress), tunnelling to \(authority) via \(peer) as \(tls.certificate.identity)")
        let signal = waitReleasingStartupPages(signals)
        let dials = client.dialCount()
        client.shutdown()
        Console.out("zest tunnel: stopped by signal \(signal); \(dials) HBONE connection(s) dialed")
    }
}

struct TunnelServerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tunnel-server",
        abstract: "Terminate HBONE on --listen and forward each CONNECT stream to its :authority.",
        discussion: """
        Accepts mutual TLS (clients must share the trust domain of --cert), serves HTTP/2 CONNECT
        and answers 200 once the TCP connect to the authority succeeded (503 if it failed, 400 for
        a malformed request). SIGTERM drains: GOAWAY, tunnels in flight finish, then exit.
        Example: zest tunnel-server --listen 0.0.0.0:15008 --cert b.pem --key b.key --ca ca.pem
        """
    )

    @Option(help: "Address to accept HBONE on, IPv4:port or [IPv6]:port.")
    var listen: String
    @OptionGroup var tlsFiles: TLSFileOptions
    @OptionGroup var loopOptions: LoopOptions
    @Option(help: "Only accept authorities with this IP (ztunnel answers 400 for others).")
    var localAddress: String?
    @Option(help: "Worker threads (default: the CPU limit of this cgroup, else online CPUs).")
    var workers: Int?
    @Option(help: "Seconds tunnels in flight may keep running after SIGTERM before they are cut.")
    var drainSeconds: Int = 5

    func validate() throws {
        guard SocketAddress(listen) != nil else { throw ValidationError("--listen '\(listen)' is not IPv4:port or [IPv6]:port") }
        if let localAddress, IPAddress(localAddress) == nil { throw ValidationError("--local-address '\(localAddress)' is not an IP") }
        if let workers, !(1...1024).contains(workers) { throw ValidationError("--workers must be between 1 and 1024") }
    }

    func run() throws {
        EagerBinding.reexecOnce()
        // SSL_write goes through write(2), which raises SIGPIPE on a peer that already closed;
        // the error must come back as EPIPE instead of killing the process.
        signal(SIGPIPE, SIG_IGN)
        let signals = SignalWaiter(blocking: [SIGINT, SIGTERM])
        let tls = try loadTLSContext(role: .server, cert: tlsFiles.cert, key: tlsFiles.key, ca: tlsFiles.ca, aes128Only: tlsFiles.aes128Only)
        var config = HBONEServer.Configuration(listen: SocketAddress(listen)!, tls: tls)
        config.workers = workers
        config.busyPoll = loopOptions.busyPoll
        config.settings.localAddress = localAddress.flatMap { IPAddress($0) }
        let server: HBONEServer
        do {
            server = try HBONEServer(config)
        } catch {
            throw ValidationError("cannot listen on \(listen): \(error)")
        }
        Console.out("zest tunnel-server: listening on \(server.listenAddress) as \(tls.certificate.identity)")
        let signal = waitReleasingStartupPages(signals)
        server.drain()
        // Tunnels in flight run to their end, up to the drain deadline.
        let deadline = ContinuousClock.now + .seconds(drainSeconds)
        while ContinuousClock.now < deadline, server.connectionCount() > 0 {
            var ts = timespec(tv_sec: 0, tv_nsec: 50_000_000)
            nanosleep(&ts, nil)
        }
        let c = server.counters()
        server.shutdown()
        Console.out("zest tunnel-server: stopped by signal \(signal); \(c.tunnelsOpened) tunnels served, rejected \(c.rejectedByStatus), \(c.protocolErrors) protocol errors, \(c.floods) floods")
    }
}
