import Glibc
import LoadConsole

/// One connect-per-request client: `count` times connect, send "E" and one byte, check the
/// echoed byte, close. Records each request's time from connect to the echo.
final class ConnectWorker {
    let endpoint: Endpoint
    let count: Int
    var latencies: [UInt64] = []

    init(_ endpoint: Endpoint, count: Int) {
        self.endpoint = endpoint
        self.count = count
    }

    func run() {
        latencies.reserveCapacity(count)
        for i in 0..<count {
            let start = monotonicNanos()
            let client = Client(to: endpoint)
            client.echoOneByte(UInt8(truncatingIfNeeded: i), withMode: true)
            latencies.append(monotonicNanos() - start)
            client.close()
        }
    }
}

/// pthread body: runs the ConnectWorker passed (unretained) as the argument.
func connectWorkerMain(_ raw: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    Unmanaged<ConnectWorker>.fromOpaque(raw!).takeUnretainedValue().run()
    return nil
}

/// `count` requests over `concurrency` clients (one pthread each; the calling thread when 1).
/// Prints requests per second, then the p50 and p99 of one request (µs).
func runConnects(_ endpoint: Endpoint, count: Int, concurrency: Int) {
    guard count > 0, concurrency > 0, concurrency <= count else { fail("connect needs 0 < concurrency <= COUNT") }
    raiseDescriptorLimit(atLeast: concurrency + 64)
    let workers = (0..<concurrency).map { i in
        ConnectWorker(endpoint, count: count / concurrency + (i < count % concurrency ? 1 : 0))
    }
    let start = monotonicNanos()
    if concurrency == 1 {
        workers[0].run()
    } else {
        var threads: [pthread_t] = []
        for worker in workers {
            var thread = pthread_t()
            let rc = pthread_create(&thread, nil, connectWorkerMain, Unmanaged.passUnretained(worker).toOpaque())
            if rc != 0 { fail("pthread_create: \(String(cString: strerror(rc)))") }
            threads.append(thread)
        }
        for thread in threads { pthread_join(thread, nil) }
    }
    let elapsed = Double(monotonicNanos() - start) / 1e9
    var all = workers.flatMap(\.latencies)
    all.sort()
    let p50 = Double(all[all.count / 2]) / 1e3
    let p99 = Double(all[min(all.count - 1, all.count * 99 / 100)]) / 1e3
    say("\(fixed(Double(count) / elapsed, 1)) \(fixed(p50, 1)) \(fixed(p99, 1))")
}
