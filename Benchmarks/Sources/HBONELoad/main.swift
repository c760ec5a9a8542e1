// Native load generator and backend for Benchmarks/hbone/hbone_bench.py (plain Glibc sockets,
// blocking clients, an epoll backend), so the figures measure the proxies, not the generator.
//   HBONELoad backend HOST PORT                      echo ("E") / sink-and-count ("S") server
//   HBONELoad throughput HOST PORT BYTES             -> seconds cpu_seconds (content and count checked)
//   HBONELoad pingpong HOST PORT ROUNDS SIZE         -> p50_us p99_us (every echo compared)
//   HBONELoad connect HOST PORT COUNT [--concurrency N]  -> conn_per_s p50_us p99_us
//   HBONELoad hold HOST PORT COUNT                   -> "held"; keeps COUNT echo connections
//                                                      until stdin closes, then re-checks them
//   HBONELoad relay HOST PORT TARGET_HOST TARGET_PORT  minimal plain TCP relay (the floor of a proxy hop)
// Any failed check prints "HBONELoad: …" to stderr and exits 2.
import Glibc
import LoadConsole

let usage = """
    usage: HBONELoad backend HOST PORT | throughput HOST PORT BYTES | pingpong HOST PORT ROUNDS SIZE
           | connect HOST PORT COUNT [--concurrency N] | hold HOST PORT COUNT
           | relay HOST PORT TARGET_HOST TARGET_PORT
    """

let arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.count >= 3 else { fail(usage) }
let endpoint = Endpoint(host: arguments[1], port: arguments[2])

/// The positional argument at `index` as a positive integer.
func number(_ index: Int) -> Int {
    guard index < arguments.count, let value = Int(arguments[index]), value > 0 else { fail(usage) }
    return value
}

switch arguments[0] {
case "backend":
    Backend(listenOn: endpoint).run()
case "throughput":
    runThroughput(endpoint, total: number(3))
case "pingpong":
    runPingPong(endpoint, rounds: number(3), size: number(4))
case "connect":
    var concurrency = 1
    if let flag = arguments.firstIndex(of: "--concurrency") { concurrency = number(flag + 1) }
    runConnects(endpoint, count: number(3), concurrency: concurrency)
case "hold":
    runHold(endpoint, count: number(3))
case "relay":
    guard arguments.count == 5 else { fail(usage) }
    Relay(listenOn: endpoint, forwardTo: Endpoint(host: arguments[3], port: arguments[4])).run()
default:
    fail(usage)
}
