import ZestReactor

/// Decides, from edge-triggered events, whether one copy direction has work, so a wake-up
/// runs only the direction it concerns and no call is made just to hear EAGAIN.
///
/// - An incoming edge on the source (data, FIN, hang-up, error) makes the direction ready,
///   unless it is blocked on a full destination: then only the destination's writable edge
///   resumes it (errors still wake it, so a reset is passed on while blocked).
/// - A short read is trusted as "drained" only while no FIN/hang-up was ever seen on the source
///   and no input arrived since the read: the edge for either came already and will not repeat.
struct DirectionGate {
    private(set) var ready = true
    private var blocked = false
    private var sourceMayHaveEnded = false
    private var inputWhileBlocked = false

    /// Whether a short read may be taken to mean the source is drained.
    var trustShortRead: Bool { !sourceMayHaveEnded && !inputWhileBlocked }

    /// An edge on the source socket.
    mutating func sourceEvent(_ events: IOEvents) {
        let ended = !events.isDisjoint(with: [.readHangup, .hangup, .error])
        if ended { sourceMayHaveEnded = true }
        guard !events.isDisjoint(with: [.readable, .readHangup, .hangup, .error]) else { return }
        if blocked {
            inputWhileBlocked = true
            if !events.isDisjoint(with: [.hangup, .error]) { ready = true }
        } else {
            ready = true
        }
    }

    /// An edge on the destination socket.
    mutating func destinationEvent(_ events: IOEvents) {
        if blocked && !events.isDisjoint(with: [.writable, .hangup, .error]) { ready = true }
    }

    /// Records how a pass ended.
    mutating func passEnded(_ progress: CopyProgress) {
        switch progress {
        case .starved:
            blocked = false
        case .blocked:
            blocked = true
            ready = false
        default:
            blocked = false
            inputWhileBlocked = false
            ready = false
        }
    }
}
