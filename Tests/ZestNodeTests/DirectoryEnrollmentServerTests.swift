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

        func stop() {
            stopSignal.stop()
            done.wait()
        }

        func logged(_ fragment: String) -> Bool { log.lines.withLock { $0.contains { $0.contains(fragment) } } }
    }

    final class LogLines: Sendable {
        let lines = Mutex<[String]>([])
    }

    @Test func podFilesAreEnrolledAndRemovedAsTheDirectoryChanges() throws {
        let dir = TempDirectory()
        defer { dir.destroy() }
        let pods = PodDirectory(path: dir.path + "/pods")
        try pods.write(PodFile(uid: PodUID("a"), info: info("a"), netnsPath: "/proc/self/ns/net"))
        let server = try RunningServer(socket: dir.socketPath, pods: pods.path)
        defer { server.stop() }
        let delegate = RecordingDelegate()
        let client = makeClient(dir.socketPath, delegate: delegate)
        client.start()
        defer { client.stop() }

        #expect(waitUntil(timeout: .seconds(5)) { client.status.isReady })
        #expect(delegate.events == ["enroll a shop/a/sa-a", "snapshot"])
        #expect(delegate.handle("a")?.identity == (try ownNetns()))

        try pods.write(PodFile(uid: PodUID("b"), info: info("b"), netnsPath: "/proc/self/ns/net"))
        #expect(waitUntil(timeout: .seconds(5)) { client.status.enrolled[PodUID("b")] == info("b") })
        #expect(pods.remove(uid: PodUID("a")) == 1)
        #expect(waitUntil(timeout: .seconds(5)) { client.status.enrolled[PodUID("a")] == nil })
        #expect(delegate.events == ["enroll a shop/a/sa-a", "snapshot", "enroll b shop/b/sa-b", "remove a"])
        #expect(waitUntil(timeout: .seconds(5)) { server.logged("DelWorkload a: ACK") })
        #expect(server.logged("AddWorkload b shop/b (service account sa-b): ACK"))
    }

    @Test func badPodFilesAreReportedAndSkipped() throws {
        let dir = TempDirectory()
        defer { dir.destroy() }
        let pods = PodDirectory(path: dir.path + "/pods")
        try pods.write(PodFile(uid: PodUID("gone"), info: info("gone"), netnsPath: dir.path + "/no-such-netns"))
        try "name: [unclosed".write(toFile: pods.path + "/broken.yaml", atomically: true, encoding: .utf8)
        try "name: x\nnamespace: y\n".write(toFile: pods.path + "/nonetns.json", atomically: true, encoding: .utf8)
        let server = try RunningServer(socket: dir.socketPath, pods: pods.path)
        defer { server.stop() }
        let delegate = RecordingDelegate()
        let client = makeClient(dir.socketPath, delegate: delegate)
        client.start()
        defer { client.stop() }

        #expect(waitUntil(timeout: .seconds(5)) { client.status.isReady })
        #expect(delegate.events == ["snapshot"])
        #expect(server.logged("pod gone (shop/gone (service account sa-gone)): cannot open network namespace"))
        #expect(server.logged("cannot read pod file \(pods.path)/broken.yaml"))
        #expect(server.logged("pod file \(pods.path)/nonetns.json lacks 'netns'"))
    }

    @Test func restartedServerSnapshotRemovesPodsWhoseFilesWentAway() throws {
        let dir = TempDirectory()
        defer { dir.destroy() }
        let pods = PodDirectory(path: dir.path + "/pods")
        for uid in ["a", "b"] {
            try pods.write(PodFile(uid: PodUID(uid), info: info(uid), netnsPath: "/proc/self/ns/net"))
        }
        var server = try RunningServer(socket: dir.socketPath, pods: pods.path)
        let delegate = RecordingDelegate()
        let client = makeClient(dir.socketPath, delegate: delegate)
        client.start()
        defer { client.stop() }
        #expect(waitUntil(timeout: .seconds(5)) { client.status.isReady && client.status.enrolled.count == 2 })

        server.stop()
        #expect(waitUntil(timeout: .seconds(5)) { !client.status.connected })
        pods.remove(uid: PodUID("b"))
        server = try RunningServer(socket: dir.socketPath, pods: pods.path)
        defer { server.stop() }

        #expect(waitUntil(timeout: .seconds(5)) { client.status.connections == 2 && client.status.isReady })
        #expect(Set(client.status.enrolled.keys) == [PodUID("a")])
        #expect(delegate.count("enroll a shop/a/sa-a") == 1)
        #expect(delegate.events.suffix(2) == ["remove b", "snapshot"])
    }

    @Test(.enabled(if: Privilege.canRunPrivilegedTests, Comment(rawValue: Privilege.skipReason)))
    func recreatedPodNamespaceIsSentAgain() throws {
        let dir = TempDirectory()
        defer { dir.destroy() }
        let pod = try TestNamespace("zdsd")
        defer { pod.destroy() }
        let pods = PodDirectory(path: dir.path + "/pods")
        try pods.write(PodFile(uid: PodUID("p"), info: info("p"), netnsPath: pod.path))
        let server = try RunningServer(socket: dir.socketPath, pods: pods.path)
        defer { server.stop() }
        let delegate = RecordingDelegate()
        let client = makeClient(dir.socketPath, delegate: delegate)
        client.start()
        defer { client.stop() }
        #expect(waitUntil(timeout: .seconds(5)) { client.status.isReady })
        let first = try #require(delegate.handle("p")?.identity)
        #expect(first == (try NetNamespaceHandle.identity(atPath: pod.path)))

        // The sandbox is recreated under a new namespace; the pod file points at it.
        let replacement = try TestNamespace("zdsd")
        defer { replacement.destroy() }
        try pods.write(PodFile(uid: PodUID("p"), info: info("p"), netnsPath: replacement.path))
        pod.destroy()
        #expect(waitUntil(timeout: .seconds(5)) { delegate.handle("p")?.identity != first })
        #expect(delegate.handle("p")?.identity == (try NetNamespaceHandle.identity(atPath: replacement.path)))
        #expect(delegate.events == ["enroll p shop/p/sa-p", "snapshot", "remove p", "enroll p shop/p/sa-p"])
    }
}
