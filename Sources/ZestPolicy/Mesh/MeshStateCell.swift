import Synchronization

/// Holds the current `MeshState` and publishes replacements atomically: a reader sees the
/// whole old snapshot or the whole new one, never a mixture.
///
/// Readers on data-plane workers use a `MeshStateReader`, which checks a generation counter
/// (one atomic load, no lock) and takes the mutex only on the first read after a publish.
/// A plain `Atomic<Unmanaged<MeshState>>` swap would need deferred reclamation (a reader can
/// load the pointer just before the writer releases it); the generation check gives the same
/// lock-free common path without that hazard. `docs/bench/policy.md` has the measured costs.
public final class MeshStateCell: Sendable {
    private let state: Mutex<MeshState>
    private let counter: Atomic<UInt64>

    public init(_ initial: MeshState = MeshState()) {
        state = Mutex(initial)
        counter = Atomic(0)
    }

    /// Replaces the snapshot; later reads see `next`.
    public func publish(_ next: MeshState) {
        state.withLock { $0 = next }
        counter.add(1, ordering: .releasing)
    }

    /// The current snapshot (takes the mutex briefly).
    public func load() -> MeshState { state.withLock { $0 } }

    /// Increases by one on every publish; lets holders of a snapshot notice that it is stale
    /// (for example to re-authorize open connections).
    public var generation: UInt64 { counter.load(ordering: .acquiring) }
}

/// A worker's view of a `MeshStateCell`: returns a cached snapshot while the generation is
/// unchanged. Not shared between threads: each worker owns one.
public struct MeshStateReader {
    private let cell: MeshStateCell
    private var seen: UInt64
    private var cached: MeshState

    public init(_ cell: MeshStateCell) {
        self.cell = cell
        seen = cell.generation
        cached = cell.load()
    }

    /// The newest published snapshot. Read the generation before the state, so a publish in
    /// between only causes one extra reload later, never a stale cache.
    public mutating func current() -> MeshState {
        let generation = cell.generation
        if generation != seen {
            cached = cell.load()
            seen = generation
        }
        return cached
    }
}
