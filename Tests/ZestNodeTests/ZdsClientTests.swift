import Glibc
import Testing
import ZestNode
import ZestTestSupport

@Suite("ZDS client against a real SOCK_SEQPACKET server")
struct ZdsClientTests {
    @Test func clientSaysHelloV1AndBecomesReadyAfterSnapshot() throws {
        let dir = TempDirectory()
        defer { dir.destroy() }
        let server = try ZdsServer(path: dir.socketPath)
        let delegate = RecordingDelegate()
        let client = makeClient(dir.socketPath, delegate: delegate)
        client.start()
        defer { client.stop() }

        guard let conn = try server.accept(until: deadline()) else { throw TestTimeout("client") }
        #expect(try conn.receiveHello(until: deadline()) == .v1)
        #expect(!client.status.isReady)
        #expect(try conn.send(.snapshotSent, until: deadline()).isAck)
        #expect(waitUntil(timeout: .seconds(5)) { client.status.isReady })
        #expect(delegate.events == ["snapshot"])
    }

    @Test func addHandsTheDelegateADescriptorOfTheSameNamespace() throws {
        let dir = TempDirectory()
        defer { dir.destroy() }
        let server = try ZdsServer(path: dir.socketPath)
        let delegate = RecordingDelegate()
        let client = makeClient(dir.socketPath, delegate: delegate)
        client.start()
        defer { client.stop() }
        let conn = try acceptClient(server)

        let netns = try NetNamespaceHandle.open(path: "/proc/self/ns/net")
        let ack = try conn.send(.add(uid: PodUID("pod-a"), info: info("a")), netns: netns, until: deadline())
        #expect(ack.isAck, "\(ack.error)")
        #expect(delegate.events == ["enroll pod-a shop/a/sa-a"])
        let got = try #require(delegate.handle("pod-a"))
        #expect(got.identity == (try ownNetns()))
        #expect(got.file.descriptor != netns.file.descriptor)
        #expect(client.status.enrolled[PodUID("pod-a")] == info("a"))
    }

    @Test(.enabled(if: Privilege.canRunPrivilegedTests, Comment(rawValue: Privilege.skipReason)))
    func addOfAPodNamespaceReachesTheDelegateAndIsReleasedOnDelete() throws {
        let pod = try TestNamespace("zdsp")
        defer { pod.destroy() }
        let dir = TempDirectory()
        defer { dir.destroy() }
        let podIdentity = try NetNamespaceHandle.identity(atPath: pod.path)
        #expect(podIdentity != (try ownNetns()))
        let holdsPodNetns = { openDescriptors(of: podIdentity) }

        let server = try ZdsServer(path: dir.socketPath)
        let delegate = RecordingDelegate()
        let client = makeClient(dir.socketPath, delegate: delegate)
        client.start()
        defer { client.stop() }
        let conn = try acceptClient(server)

        do {
            let netns = try NetNamespaceHandle.open(path: pod.path)
            #expect(try conn.send(.add(uid: PodUID("p1"), info: info("p1")), netns: netns, until: deadline()).isAck)
        }
        #expect(delegate.handle("p1")?.identity == podIdentity)
        #expect(holdsPodNetns() == 1, "only the delegate's handle keeps the pod netns open")

        #expect(try conn.send(.delete(uid: PodUID("p1")), until: deadline()).isAck)
        #expect(delegate.events.last == "remove p1")
        #expect(holdsPodNetns() == 0, "no descriptor of the pod netns may outlive its removal")
    }

    @Test func keepAndDeleteDuringAndAfterTheSnapshot() throws {
        let dir = TempDirectory()
        defer { dir.destroy() }
        let server = try ZdsServer(path: dir.socketPath)
        let delegate = RecordingDelegate()
        let client = makeClient(dir.socketPath, delegate: delegate)
        client.start()
        defer { client.stop() }
        let conn = try acceptClient(server)
        let netns = try NetNamespaceHandle.open(path: "/proc/self/ns/net")

        #expect(try conn.send(.add(uid: PodUID("a"), info: info("a")), netns: netns, until: deadline()).isAck)
        #expect(try conn.send(.add(uid: PodUID("b"), info: info("b")), netns: netns, until: deadline()).isAck)
        #expect(try conn.send(.keep(uid: PodUID("a")), until: deadline()).isAck)
        #expect(try conn.send(.snapshotSent, until: deadline()).isAck)
        #expect(try conn.send(.delete(uid: PodUID("a")), until: deadline()).isAck)
        // Deleting an unknown pod is idempotent, as istio-cni may retry a delete.
        #expect(try conn.send(.delete(uid: PodUID("a")), until: deadline()).isAck)
        let lateKeep = try conn.send(.keep(uid: PodUID("b")), until: deadline())
        #expect(lateKeep.error.contains("after SnapshotSent"))
        // The same pod in the same netns again changes nothing.
        #expect(try conn.send(.add(uid: PodUID("b"), info: info("b")), netns: netns, until: deadline()).isAck)

        #expect(delegate.events == ["enroll a shop/a/sa-a", "enroll b shop/b/sa-b", "keep a", "snapshot", "remove a"])
        #expect(Set(client.status.enrolled.keys) == [PodUID("b")])
    }

    @Test(.enabled(if: Privilege.canRunPrivilegedTests, Comment(rawValue: Privilege.skipReason)))
    func addInANewNamespaceReplacesTheOldEnrollment() throws {
        let sandbox = try TestNamespace("zdsr")
        defer { sandbox.destroy() }
        let dir = TempDirectory()
        defer { dir.destroy() }
        let server = try ZdsServer(path: dir.socketPath)
        let delegate = RecordingDelegate()
        let client = makeClient(dir.socketPath, delegate: delegate)
        client.start()
        defer { client.stop() }
        let conn = try acceptClient(server)

        let first = try NetNamespaceHandle.open(path: "/proc/self/ns/net")
        let second = try NetNamespaceHandle.open(path: sandbox.path)
        #expect(try conn.send(.add(uid: PodUID("a"), info: info("a")), netns: first, until: deadline()).isAck)
        #expect(try conn.send(.add(uid: PodUID("a"), info: info("a")), netns: second, until: deadline()).isAck)
        #expect(delegate.events == ["enroll a shop/a/sa-a", "remove a", "enroll a shop/a/sa-a"])
        #expect(delegate.handle("a")?.identity == second.identity)
    }

    @Test func reconnectSnapshotRemovesPodsNotAnnouncedAgain() throws {
        let dir = TempDirectory()
        defer { dir.destroy() }
        let server = try ZdsServer(path: dir.socketPath)
        let delegate = RecordingDelegate()
        let client = makeClient(dir.socketPath, delegate: delegate)
        client.start()
        defer { client.stop() }
        let netns = try NetNamespaceHandle.open(path: "/proc/self/ns/net")

        let first = try acceptClient(server)
        for uid in ["a", "b", "c"] {
            #expect(try first.send(.add(uid: PodUID(uid), info: info(uid)), netns: netns, until: deadline()).isAck)
        }
        #expect(try first.send(.snapshotSent, until: deadline()).isAck)
        first.close()

        // The CNI agent comes back knowing a (with its netns) and b (without), but not c.
        let second = try acceptClient(server)
        #expect(!client.status.snapshotReceived)
        #expect(try second.send(.add(uid: PodUID("a"), info: info("a")), netns: netns, until: deadline()).isAck)
        #expect(try second.send(.keep(uid: PodUID("b")), until: deadline()).isAck)
        #expect(try second.send(.snapshotSent, until: deadline()).isAck)

        #expect(delegate.count("enroll a shop/a/sa-a") == 1, "re-announcing a served pod must not re-enroll it")
        #expect(delegate.count("remove c") == 1)
        #expect(delegate.count("remove a") == 0 && delegate.count("remove b") == 0)
        #expect(Set(client.status.enrolled.keys) == [PodUID("a"), PodUID("b")])
        #expect(client.status.connections == 2)
        #expect(client.status.isReady)
    }

    @Test func clientReconnectsWithBackoffAfterTheServerRestarts() throws {
        let dir = TempDirectory()
        defer { dir.destroy() }
        var server = try ZdsServer(path: dir.socketPath)
        let delegate = RecordingDelegate()
        let client = makeClient(dir.socketPath, delegate: delegate)
        client.start()
        defer { client.stop() }

        let first = try acceptClient(server)
        #expect(try first.send(.snapshotSent, until: deadline()).isAck)
        first.close()
        server.close()
        unlink(dir.socketPath)
        #expect(waitUntil(timeout: .seconds(5)) { !client.status.connected })
        // Let a few connection attempts fail against the missing socket.
        #expect(waitUntil(timeout: .seconds(5)) { client.status.lastError?.contains("no ZDS server") == true })

        server = try ZdsServer(path: dir.socketPath)
        let restarted = try acceptClient(server)
        #expect(try restarted.send(.snapshotSent, until: deadline()).isAck)
        #expect(waitUntil(timeout: .seconds(5)) { client.status.isReady && client.status.connections == 2 })
        #expect(delegate.snapshots == 2)
    }

    @Test func failedEnrollmentIsNackedThenRetriedUntilItSucceeds() throws {
        let dir = TempDirectory()
        defer { dir.destroy() }
        let server = try ZdsServer(path: dir.socketPath)
        let delegate = RecordingDelegate()
        delegate.failNext(2)
        let client = makeClient(dir.socketPath, delegate: delegate, retry: .milliseconds(20))
        client.start()
        defer { client.stop() }
        let conn = try acceptClient(server)
        let netns = try NetNamespaceHandle.open(path: "/proc/self/ns/net")

        let nack = try conn.send(.add(uid: PodUID("a"), info: info("a")), netns: netns, until: deadline())
        #expect(nack.error.contains("listener port 15008 still held"))
        #expect(try conn.send(.snapshotSent, until: deadline()).isAck)
        #expect(client.status.pending[PodUID("a")] != nil)
        #expect(!client.status.isReady)

        #expect(waitUntil(timeout: .seconds(5)) { client.status.isReady })
        #expect(delegate.count("fail a") == 2 && delegate.count("snapshot") == 1)
        #expect(delegate.events.last == "enroll a shop/a/sa-a")
        #expect(delegate.handle("a")?.identity == (try ownNetns()))
    }

    @Test func stopReturnsPromptlyWhileWaitingForRequests() throws {
        let dir = TempDirectory()
        defer { dir.destroy() }
        let server = try ZdsServer(path: dir.socketPath)
        let client = makeClient(dir.socketPath, delegate: RecordingDelegate())
        client.start()
        _ = try acceptClient(server)
        let clock = ContinuousClock()
        let elapsed = clock.measure { client.stop() }
        #expect(elapsed < .seconds(2))
    }
}
