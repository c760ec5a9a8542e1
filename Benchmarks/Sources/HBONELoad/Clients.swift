import Glibc
import LoadConsole

/// Sends `total` bytes of SinkPattern in sink mode (writes of up to 1 MiB), half-closes, and
/// checks the backend received exactly those bytes. Prints the seconds from connect to the
/// answer's arrival, then this process's CPU seconds (user + system), so the generator's own
/// cost is visible.
func runThroughput(_ endpoint: Endpoint, total: Int) {
    let pattern = SinkPattern(chunk: 1 << 20)
    let start = monotonicNanos()
    let client = Client(to: endpoint)
    var mode = UInt8(ascii: "S")
    client.sendAll(&mode, 1)
    var sent = 0
    while sent < total {
        let n = min(total - sent, pattern.chunk)
        client.sendAll(pattern.at(UInt64(sent)), n)
        sent += n
    }
    client.shutdownWrite()
    var answer: UInt64 = 0
    client.receiveExactly(&answer, 8)
    let elapsed = Double(monotonicNanos() - start) / 1e9
    client.close()
    let counted = UInt64(bigEndian: answer)
    if counted == SinkPattern.mismatch {
        fail("the backend received different bytes than were sent through \(endpoint.text) (corrupted, lost or reordered)")
    }
    if counted != UInt64(total) {
        fail("the backend counted \(counted) bytes through \(endpoint.text), \(total) were sent")
    }
    say("\(fixed(elapsed, 6)) \(fixed(ownCPUSeconds(), 3))")
}

/// Echo round trips of `size` bytes on one connection after 10 unmeasured ones; each reply is
/// compared with what was sent (the pattern changes every round). Prints p50 and p99 in µs.
func runPingPong(_ endpoint: Endpoint, rounds: Int, size: Int) {
    guard rounds > 0, size > 0 else { fail("pingpong needs ROUNDS > 0 and SIZE > 0") }
    let client = Client(to: endpoint)
    var mode = UInt8(ascii: "E")
    client.sendAll(&mode, 1)
    let message = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 64)
    let reply = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 64)
    var samples = [UInt64](repeating: 0, count: rounds)
    let warmUp = 10
    for round in 0..<(warmUp + rounds) {
        message.initializeMemory(as: UInt8.self, repeating: UInt8(truncatingIfNeeded: round &* 31 &+ 7))
        let start = monotonicNanos()
        client.sendAll(message.baseAddress!, size)
        client.receiveExactly(reply.baseAddress!, size)
        let took = monotonicNanos() - start
        if memcmp(message.baseAddress!, reply.baseAddress!, size) != 0 {
            fail("echo through \(endpoint.text) differs from what was sent in round \(round)")
        }
        if round >= warmUp { samples[round - warmUp] = took }
    }
    client.close()
    samples.sort()
    let p50 = Double(samples[rounds / 2]) / 1e3
    let p99 = Double(samples[min(rounds - 1, rounds * 99 / 100)]) / 1e3
    say("\(fixed(p50, 1)) \(fixed(p99, 1))")
}

/// Opens `count` echo connections (each checked with a one-byte echo), prints "held", waits for
/// EOF on stdin, then checks every connection still echoes before closing them all.
func runHold(_ endpoint: Endpoint, count: Int) {
    raiseDescriptorLimit(atLeast: count + 64)
    var clients: [Client] = []
    clients.reserveCapacity(count)
    for i in 0..<count {
        let client = Client(to: endpoint)
        client.echoOneByte(UInt8(truncatingIfNeeded: i), withMode: true)
        clients.append(client)
    }
    say("held")
    var sink = [UInt8](repeating: 0, count: 256)
    while true {
        let n = read(0, &sink, sink.count)
        if n == 0 || (n < 0 && errno != EINTR) { break }
    }
    for (i, client) in clients.enumerated() {
        client.echoOneByte(UInt8(truncatingIfNeeded: i &+ 1), withMode: false)
        client.close()
    }
    say("released")
}
