import ArgumentParser

/// Event-loop options of the HBONE commands.
struct LoopOptions: ParsableArguments {
    @Option(help: """
        Busy-poll each worker's epoll for this many microseconds before it sleeps (0: off, the \
        default). Cuts wake-up latency; costs a CPU spinning after every burst of traffic.
        """)
    var busyPollUs: Int = 0

    func validate() throws {
        guard (0...10_000).contains(busyPollUs) else { throw ValidationError("--busy-poll-us must be between 0 and 10000") }
    }

    var busyPoll: Duration { .microseconds(busyPollUs) }
}
