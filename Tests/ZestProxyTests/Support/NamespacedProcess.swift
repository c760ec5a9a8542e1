import Glibc
import ZestCore
import ZestReactor
import ZestTestSupport

/// A child process started inside a test namespace with `nsenter --net=<path>` (which execs,
/// so the pid is the program's own), output to a log file, stopped and reaped by its pid.
/// `posix_spawn` + `waitpid` rather than Foundation's `Process`, whose reaping did not notice
/// children exiting here.
final class NamespacedProcess {
    let pid: pid_t
    let logPath: String
    private var reaped = false

    init(in ns: TestNamespace, _ argv: [String], log: String) throws {
        logPath = log
        let full = ["/usr/bin/nsenter", "--net=" + ns.path] + argv
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let cArgs = full.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, full[0], &actions, nil, cArgs, environ)
        guard rc == 0 else { throw SyscallError("posix_spawn", errno: rc) }
        pid = child
    }

    /// What the process wrote so far.
    var output: String {
        guard let f = fopen(logPath, "r") else { return "" }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = fread(&buffer, 1, buffer.count, f)
            if n <= 0 { break }
            bytes += buffer[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Whether the process has not exited (`waitpid(WNOHANG)`).
    var isRunning: Bool {
        guard !reaped else { return false }
        var status: Int32 = 0
        if waitpid(pid, &status, WNOHANG) == pid { reaped = true }
        return !reaped
    }

    /// Sends `signal`, waits up to 5 s, then SIGKILL; always reaps.
    func stop(_ signal: Int32 = SIGTERM) {
        guard isRunning else { return }
        kill(pid, signal)
        if !waitUntil(timeout: .seconds(5), poll: .milliseconds(10), { !isRunning }) {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
            reaped = true
        }
    }
}
