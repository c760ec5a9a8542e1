import Foundation
import Glibc
import Synchronization
import Testing
import ZestNode
import ZestTestSupport

/// `zest cni serve`'s engine driving a real ZDS client over the socket.
@Suite("Directory-driven enrollment server")
struct DirectoryEnrollmentServerTests {
    /// A running server on its own thread, stopped and joined by `stop()`.
    final class RunningServer: Sendable {
        let stopSignal = StopSignal()
        let done = DispatchSemaphore(value: 0)
        let log = LogLines()

        init(socket: String, pods: String) throws {
            var config = DirectoryEnrollmentServer.Configuration()
            config.socketPath = socket
            config.podsDirectory = pods
            config.scanInterval = .milliseconds(20)
            config.ackTimeout = .seconds(5)
            let log = self.log
            config.log = { line in log.lines.withLock { $0.append(line) } }
            let server = try DirectoryEnrollmentServer(configuration: config)
            let stop = stopSignal, done = self.done
            Thread {
                server.run(stop: stop)
                done.signal()
            }.start()
        }

        /// Stops the server and waits for its thread; safe to call more than once.
        func stop() {
            stopSignal.stop()
            done.wait()
            done.signal()
        }

        func logged(_ fragment: String) -> Bool { log.lines.withLock { $0.contains { $0.contains(fragment) } } }
    }

    final class LogLines: Sendable {
        let lines = Mutex<[String]>([])
    }

    /// Pod files written by `seed`, a running server over them and a started client.
    func withDirectoryServer(seed: [PodFile] = [], _ body: (TempDirectory, PodDirectory, RunningServer,
                                                           RecordingDelegate, ZdsClient) throws -> Void) throws {
        let dir = TempDirectory()
        defer { dir.destroy() }
        let pods = PodDirectory(path: dir.path + "/pods")
        for pod in seed { try pods.write(pod) }
        let server = try RunningServer(socket: dir.socketPath, pods: pods.path)
        defer { server.stop() }
        let delegate = RecordingDelegate()
        let client = makeClient(dir.socketPath, delegate: delegate)
        client.start()
        defer { client.stop() }
        #expect(waitUntil(timeout: .seconds(5)) { client.status.isReady })
        try body(dir, pods, server, delegate, client)
    }

    func ownPod(_ uid: String) -> PodFile { PodFile(uid: PodUID(uid), info: info(uid), netnsPath: "/proc/self/ns/net") }

    @Test func podFilesAreEnrolledAndRemovedAsTheDirectoryChanges() throws {
        try withDirectoryServer(seed: [ownPod("a")]) { _, pods, server, delegate, client in
            #expect(delegate.events == ["enroll a shop/a/sa-a", "snapshot"])
            #expect(delegate.handle("a")?.identity == (try ownNetns()))

            try pods.write(ownPod("b"))
            #expect(waitUntil(timeout: .seconds(5)) { client.status.enrolled[PodUID("b")] == info("b") })
            #expect(pods.remove(uid: PodUID("a")) == 1)
            #expect(waitUntil(timeout: .seconds(5)) { client.status.enrolled[PodUID("a")] == nil })
            #expect(delegate.events == ["enroll a shop/a/sa-a", "snapshot", "enroll b shop/b/sa-b", "remove a"])
            #expect(waitUntil(timeout: .seconds(5)) { server.logged("DelWorkload a: ACK") })
            #expect(server.logged("AddWorkload b shop/b (service account sa-b): ACK"))
            // The answers are recorded for `zest cni add --wait`, and dropped with the pod.
            #expect(waitUntil(timeout: .seconds(5)) { pods.acknowledgement(for: PodUID("b")) == .ack })
            #expect(waitUntil(timeout: .seconds(5)) { pods.acknowledgement(for: PodUID("a")) == nil })
        }
    }

    @Test func badPodFilesAreReportedAndSkipped() throws {
        let unopenable = PodFile(uid: PodUID("gone"), info: info("gone"), netnsPath: "/nonexistent/netns")
        try withDirectoryServer(seed: [unopenable]) { _, pods, server, delegate, client in
            try "name: [unclosed".write(toFile: pods.path + "/broken.yaml", atomically: true, encoding: .utf8)
            try "name: x\nnamespace: y\n".write(toFile: pods.path + "/nonetns.json", atomically: true, encoding: .utf8)
            #expect(waitUntil(timeout: .seconds(5)) { server.logged("nonetns.json lacks 'netns'") })
            #expect(server.logged("pod gone (shop/gone (service account sa-gone)): cannot open network namespace"))
            #expect(server.logged("cannot read pod file \(pods.path)/broken.yaml"))
            #expect(delegate.events == ["snapshot"])
            #expect(client.status.enrolled.isEmpty)
        }
    }

    @Test func restartedServerSnapshotRemovesPodsWhoseFilesWentAway() throws {
        try withDirectoryServer(seed: [ownPod("a"), ownPod("b")]) { dir, pods, server, delegate, client in
            #expect(client.status.enrolled.count == 2)
            server.stop()
            #expect(waitUntil(timeout: .seconds(5)) { !client.status.connected })
            pods.remove(uid: PodUID("b"))
            let restarted = try RunningServer(socket: dir.socketPath, pods: pods.path)
            defer { restarted.stop() }

            #expect(waitUntil(timeout: .seconds(5)) { client.status.connections == 2 && client.status.isReady })
            #expect(Set(client.status.enrolled.keys) == [PodUID("a")])
            #expect(delegate.count("enroll a shop/a/sa-a") == 1)
            #expect(delegate.events.suffix(2) == ["remove b", "snapshot"])
        }
    }

    @Test(.enabled(if: Privilege.canRunPrivilegedTests, Comment(rawValue: Privilege.skipReason)))
    func recreatedPodNamespaceIsSentAgain() throws {
        let pod = try TestNamespace("zdsd")
        defer { pod.destroy() }
        let replacement = try TestNamespace("zdsd")
        defer { replacement.destroy() }
        let first = try NetNamespaceHandle.identity(atPath: pod.path)
        try withDirectoryServer(seed: [PodFile(uid: PodUID("p"), info: info("p"), netnsPath: pod.path)]) { _, pods, _, delegate, _ in
            #expect(delegate.handle("p")?.identity == first)
            // The sandbox is recreated under a new namespace; the pod file points at it.
            try pods.write(PodFile(uid: PodUID("p"), info: info("p"), netnsPath: replacement.path))
            #expect(waitUntil(timeout: .seconds(5)) { delegate.handle("p")?.identity != first })
            #expect(delegate.handle("p")?.identity == (try NetNamespaceHandle.identity(atPath: replacement.path)))
            #expect(delegate.events == ["enroll p shop/p/sa-p", "snapshot", "remove p", "enroll p shop/p/sa-p"])
        }
    }

    @Test func duringAnUpgradeNewPodsGoToTheNewestProxyAndDeletionsToAll() throws {
        try withDirectoryServer(seed: [ownPod("a")]) { dir, pods, _, oldDelegate, old in
            let newDelegate = RecordingDelegate()
            let new = makeClient(dir.socketPath, delegate: newDelegate)
            new.start()
            defer { new.stop() }
            #expect(waitUntil(timeout: .seconds(5)) { new.status.isReady })
            #expect(newDelegate.events == ["enroll a shop/a/sa-a", "snapshot"])

            try pods.write(ownPod("b"))
            #expect(waitUntil(timeout: .seconds(5)) { new.status.enrolled[PodUID("b")] != nil })
            pods.remove(uid: PodUID("a"))
            #expect(waitUntil(timeout: .seconds(5)) { new.status.enrolled[PodUID("a")] == nil })
            #expect(waitUntil(timeout: .seconds(5)) { old.status.enrolled.isEmpty })
            #expect(oldDelegate.events == ["enroll a shop/a/sa-a", "snapshot", "remove a"])
            #expect(newDelegate.events == ["enroll a shop/a/sa-a", "snapshot", "enroll b shop/b/sa-b", "remove a"])

            // When the old proxy goes away the new one keeps being served.
            old.stop()
            pods.remove(uid: PodUID("b"))
            #expect(waitUntil(timeout: .seconds(5)) { new.status.enrolled.isEmpty })
        }
    }

    @Test(.enabled(if: Privilege.canRunPrivilegedTests, Comment(rawValue: Privilege.skipReason)))
    func podWhoseNamespacePathIsGoneIsKeptAcrossAServerRestart() throws {
        let pod = try TestNamespace("zdsk")
        defer { pod.destroy() }
        try withDirectoryServer(seed: [PodFile(uid: PodUID("k"), info: info("k"), netnsPath: pod.path)]) { dir, pods, server, delegate, client in
            #expect(client.status.enrolled[PodUID("k")] != nil)
            server.stop()
            // The netns path disappears, but the pod (and the proxy's handle on it) remain.
            pod.destroy()
            let restarted = try RunningServer(socket: dir.socketPath, pods: pods.path)
            defer { restarted.stop() }
            #expect(waitUntil(timeout: .seconds(5)) { client.status.connections == 2 && client.status.isReady })
            #expect(restarted.logged("KeepWorkload k: ACK"))
            #expect(delegate.events == ["enroll k shop/k/sa-k", "snapshot", "keep k", "snapshot"])
            #expect(client.status.enrolled[PodUID("k")] != nil)
        }
    }
}
