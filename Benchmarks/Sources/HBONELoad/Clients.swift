import Glibc

/// Sends `total` bytes in sink mode from a 1 MiB buffer, half-closes, and checks the backend
/// counted exactly `total`. Prints the seconds from connect to the count's arrival, then this
/// process's CPU seconds (user + system), so the generator's own cost is visible.
func runThroughput(_ endpoint: Endpoint, total: Int) {
    let block = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 4096)
    block.initializeMemory(as: UInt8.self, repeating: 0x5a)
    let start = monotonicNanos()
    let client = Client(to: endpoint)
    var mode = UInt8(ascii: "S")
    client.sendAll(&mode, 1)
    var left = total
    while left > 0 {
        let n = min(left, block.count)
        client.sendAll(block.baseAddress!, n)
        left -= n
    }
    client.shutdownWrite()
    var counted: UInt64 = 0
    client.receiveExactly(&counted, 8)
    let elapsed = Double(monotonicNanos() - start) / 1e9
    client.close()
    if UInt64(bigEndian: counted) != UInt64(total) {
        fail("the backend counted \(UInt64(bigEndian: counted)) bytes through \(endpoint.text), \(total) were sent")
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
