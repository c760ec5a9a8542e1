import Foundation
import Glibc
import Synchronization

/// Watches a `ConfigStore`'s files by polling their modification time, size and inode on a
/// thread of its own, and reloads the store when any of them changes. Polling (rather than
/// inotify) also catches files replaced by rename, as Kubernetes ConfigMap mounts do.
public final class ConfigWatcher: Sendable {
    private let store: ConfigStore
    private let interval: Duration
    private let onReload: @Sendable (ConfigStore.ReloadResult) -> Void
    private let stopped = Atomic<Bool>(false)
    private let exited = DispatchSemaphore(value: 0)

    /// Starts watching at once; `onReload` runs on the watcher thread after every reload.
    /// Changes made after this returns are seen (the files are fingerprinted here, not when
    /// the thread gets to run).
    public init(store: ConfigStore, interval: Duration = .seconds(1),
                onReload: @escaping @Sendable (ConfigStore.ReloadResult) -> Void) {
        self.store = store
        self.interval = interval
        self.onReload = onReload
        let initial = ConfigWatcher.fingerprint(store.files)
        let thread = Thread { [self] in run(from: initial) }
        thread.name = "zest-config-watch"
        thread.start()
    }

    /// Stops the watcher and waits for its thread to finish.
    public func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        exited.wait()
    }

    private func run(from initial: [[Int]]) {
        var last = initial
        let micros = interval.components.seconds * 1_000_000 + interval.components.attoseconds / 1_000_000_000_000
        while !stopped.load(ordering: .acquiring) {
            usleep(useconds_t(max(1000, micros)))
            let now = ConfigWatcher.fingerprint(store.files)
            if now != last {
                last = now
                onReload(store.reload())
            }
        }
        exited.signal()
    }

    /// (mtime seconds, mtime nanoseconds, size, inode) per file; zeros for a missing file.
    private static func fingerprint(_ files: [String]) -> [[Int]] {
        files.map { path in
            var st = stat()
            guard stat(path, &st) == 0 else { return [0, 0, 0, 0] }
            return [Int(st.st_mtim.tv_sec), Int(st.st_mtim.tv_nsec), Int(st.st_size), Int(st.st_ino)]
        }
    }
}
