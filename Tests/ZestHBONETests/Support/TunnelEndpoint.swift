import ZestHBONE
import ZestTestSupport

/// The application side of a tunnel in tests: sends `outgoing` from a buffer with headroom,
/// in chunks like the reactor's pool slots, and records everything it receives.
final class TunnelEndpoint: HBONETunnelHandler {
    let headroom: Int
    let chunk: Int
    private let slot: UnsafeMutableRawPointer
    private var outgoing: [UInt8]
    private var offset = 0          // next byte of `outgoing` to load into the slot
    private var slotStart = 0, slotEnd = 0
    var finishWhenSent: Bool
    var received: [UInt8] = []
    /// How many bytes `receive` takes per call; 0 simulates an application that stopped reading.
    var receiveLimit = Int.max
    var opened = false, receivedEnd = false
    var closed = false
    var closeError: HBONETunnelError?
    var sentBytes = 0
    weak var tunnel: HBONETunnel?
    var streamID: Int32?

    init(sending outgoing: [UInt8] = [], finish: Bool = true, headroom: Int = 9, chunk: Int = 16_375) {
        self.outgoing = outgoing
        self.finishWhenSent = finish
        self.headroom = headroom
        self.chunk = chunk
        slot = .allocate(byteCount: headroom + chunk, alignment: 16)
    }

    deinit { slot.deallocate() }

    /// Queues more bytes to send (a late answer).
    func send(_ more: [UInt8], finish: Bool) {
        outgoing += more
        finishWhenSent = finish
        tunnel?.resumeSending()
        if finish, offset == outgoing.count, slotStart == slotEnd { tunnel?.finishSending() }
    }

    func tunnelDidOpen(_ tunnel: HBONETunnel) {
        opened = true
        self.tunnel = tunnel
        streamID = tunnel.streamID
        if finishWhenSent, outgoing.isEmpty { tunnel.finishSending() }
    }

    func tunnel(_ tunnel: HBONETunnel, receive bytes: UnsafeRawBufferPointer) -> Int {
        let n = min(bytes.count, receiveLimit)
        received.append(contentsOf: bytes.prefix(n))
        return n
    }

    func tunnelDidReceiveEnd(_ tunnel: HBONETunnel) { receivedEnd = true }

    func tunnelOutbound(_ tunnel: HBONETunnel) -> OutboundBytes? {
        if slotStart == slotEnd {
            guard offset < outgoing.count else { return nil }
            let n = min(chunk, outgoing.count - offset)
            outgoing.withUnsafeBytes { src in
                (slot + headroom).copyMemory(from: src.baseAddress! + offset, byteCount: n)
            }
            offset += n
            slotStart = 0
            slotEnd = n
        }
        return OutboundBytes(start: slot + headroom + slotStart, count: slotEnd - slotStart, headroom: headroom + slotStart)
    }

    func tunnel(_ tunnel: HBONETunnel, didSend count: Int) {
        slotStart += count
        sentBytes += count
        if finishWhenSent, slotStart == slotEnd, offset == outgoing.count { tunnel.finishSending() }
    }

    func tunnel(_ tunnel: HBONETunnel, didCloseWith error: HBONETunnelError?) {
        closed = true
        closeError = error
    }

    var receivedDigest: String { sha256(received) }
}

func sha256(_ bytes: [UInt8]) -> String {
    var d = SHA256Digest()
    d.update(bytes)
    return d.finalize()
}

/// Deterministic test payload of `count` bytes.
func payload(_ count: Int, seed: UInt64) -> [UInt8] {
    var g = SplitMix(seed: seed)
    var out = [UInt8](repeating: 0, count: count)
    var i = 0
    while i < count {
        var v = g.next()
        for _ in 0..<8 where i < count { out[i] = UInt8(truncatingIfNeeded: v); v >>= 8; i += 1 }
    }
    return out
}
