import Glibc
import Testing
import ZestNode
import ZestTestSupport

@Suite("ZDS client against a real SOCK_SEQPACKET server")
struct ZdsClientTests {
    @Test func clientSaysHelloV1AndBecomesReadyAfterSnapshot() throws {
        try withTestBed { bed in
            guard let conn = try bed.server.accept(until: deadline()) else { throw TestTimeout("client") }
            #expect(try conn.receiveHello(until: deadline()) == .v1)
            #expect(!bed.status.isReady)
            #expect(try conn.send(.snapshotSent, until: deadline()).isAck)
            #expect(bed.status.isReady)
            #expect(bed.delegate.events == ["snapshot"])
        }
    }

    @Test func addHandsTheDelegateADescriptorOfTheSameNamespace() throws {
        try withTestBed { bed in
            let conn = try bed.connection()
            let netns = try NetNamespaceHandle.open(path: "/proc/self/ns/net")
            let ack = try conn.send(.add(uid: PodUID("pod-a"), info: info("a")), netns: netns, until: deadline())
            #expect(ack.isAck, "\(ack.error)")
            #expect(bed.delegate.events == ["enroll pod-a shop/a/sa-a"])
            let got = try #require(bed.delegate.handle("pod-a"))
            #expect(got.identity == (try ownNetns()))
            #expect(got.file.descriptor != netns.file.descriptor)
            #expect(bed.status.enrolled[PodUID("pod-a")] == info("a"))
        }
    }

    @Test(.enabled(if: Privilege.canRunPrivilegedTests, Comment(rawValue: Privilege.skipReason)))
    func addOfAPodNamespaceReachesTheDelegateAndIsReleasedOnDelete() throws {
        let pod = try TestNamespace("zdsp")
        defer { pod.destroy() }
        let podIdentity = try NetNamespaceHandle.identity(atPath: pod.path)
        #expect(podIdentity != (try ownNetns()))
        try withTestBed { bed in
            let conn = try bed.connection()
            do {
                let netns = try NetNamespaceHandle.open(path: pod.path)
                #expect(try conn.send(.add(uid: PodUID("p1"), info: info("p1")), netns: netns, until: deadline()).isAck)
            }
            #expect(bed.delegate.handle("p1")?.identity == podIdentity)
            #expect(openDescriptors(of: podIdentity) == 1, "only the delegate's handle keeps the pod netns open")

            #expect(try conn.send(.delete(uid: PodUID("p1")), until: deadline()).isAck)
            #expect(bed.delegate.events.last == "remove p1")
            #expect(openDescriptors(of: podIdentity) == 0, "no descriptor of the pod netns may outlive its removal")
        }
    }

    @Test func keepAndDeleteDuringAndAfterTheSnapshot() throws {
        try withTestBed { bed in
            let conn = try bed.connection()
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

            #expect(bed.delegate.events == ["enroll a shop/a/sa-a", "enroll b shop/b/sa-b", "keep a", "snapshot", "remove a"])
            #expect(Set(bed.status.enrolled.keys) == [PodUID("b")])
            #expect(bed.status.started == 2 && bed.status.stopped == 1)
        }
    }

    @Test(.enabled(if: Privilege.canRunPrivilegedTests, Comment(rawValue: Privilege.skipReason)))
    func addInANewNamespaceReplacesTheOldEnrollment() throws {
        let sandbox = try TestNamespace("zdsr")
        defer { sandbox.destroy() }
        try withTestBed { bed in
            let conn = try bed.connection()
            let first = try NetNamespaceHandle.open(path: "/proc/self/ns/net")
            let second = try NetNamespaceHandle.open(path: sandbox.path)
            #expect(try conn.send(.add(uid: PodUID("a"), info: info("a")), netns: first, until: deadline()).isAck)
            #expect(try conn.send(.add(uid: PodUID("a"), info: info("a")), netns: second, until: deadline()).isAck)
            #expect(bed.delegate.events == ["enroll a shop/a/sa-a", "remove a", "enroll a shop/a/sa-a"])
            #expect(bed.delegate.handle("a")?.identity == second.identity)
        }
    }

    @Test func reconnectSnapshotRemovesPodsNotAnnouncedAgain() throws {
        try withTestBed { bed in
            let netns = try NetNamespaceHandle.open(path: "/proc/self/ns/net")
            let first = try bed.connection()
            for uid in ["a", "b", "c"] {
                #expect(try first.send(.add(uid: PodUID(uid), info: info(uid)), netns: netns, until: deadline()).isAck)
            }
            #expect(try first.send(.snapshotSent, until: deadline()).isAck)
            first.close()

            // The CNI agent comes back knowing a (with its netns) and b (without), but not c.
            let second = try bed.connection()
            #expect(!bed.status.snapshotReceived)
            #expect(try second.send(.add(uid: PodUID("a"), info: info("a")), netns: netns, until: deadline()).isAck)
            #expect(try second.send(.keep(uid: PodUID("b")), until: deadline()).isAck)
            #expect(try second.send(.snapshotSent, until: deadline()).isAck)

            let d = bed.delegate
            #expect(d.count("enroll a shop/a/sa-a") == 1, "re-announcing a served pod must not re-enroll it")
            #expect(d.count("remove c") == 1)
            #expect(d.count("remove a") == 0 && d.count("remove b") == 0)
            #expect(Set(bed.status.enrolled.keys) == [PodUID("a"), PodUID("b")])
            #expect(bed.status.connections == 2)
            #expect(bed.status.isReady)
        }
    }

    @Test func clientReconnectsWithBackoffAfterTheServerRestarts() throws {
        try withTestBed { bed in
            let first = try bed.connection()
            #expect(try first.send(.snapshotSent, until: deadline()).isAck)
            first.close()
            bed.server.close()
            unlink(bed.dir.socketPath)
            #expect(waitUntil(timeout: .seconds(5)) { !bed.status.connected })
            // Connection attempts now fail against the missing socket, and say why.
            #expect(waitUntil(timeout: .seconds(5)) { bed.status.lastError?.contains("no ZDS server") == true })

            let restarted = try ZdsServer(path: bed.dir.socketPath)
            let conn = try acceptClient(restarted)
            #expect(try conn.send(.snapshotSent, until: deadline()).isAck)
            #expect(bed.status.isReady && bed.status.connections == 2)
            #expect(bed.delegate.snapshots == 2)
        }
    }

    @Test func failedEnrollmentIsNackedThenRetriedUntilItSucceeds() throws {
        try withTestBed(retry: .milliseconds(20), failFirst: 2) { bed in
            let conn = try bed.connection()
            let netns = try NetNamespaceHandle.open(path: "/proc/self/ns/net")
            let nack = try conn.send(.add(uid: PodUID("a"), info: info("a")), netns: netns, until: deadline())
            #expect(nack.error.contains("listener port 15008 still held"))
            #expect(try conn.send(.snapshotSent, until: deadline()).isAck)

            #expect(waitUntil(timeout: .seconds(5)) { bed.status.isReady })
            #expect(bed.delegate.count("fail a") == 2 && bed.delegate.count("snapshot") == 1)
            #expect(bed.delegate.events.last == "enroll a shop/a/sa-a")
            #expect(bed.delegate.handle("a")?.identity == (try ownNetns()))
        }
    }

    @Test func podStaysPendingAndUnreadyWhileEnrollmentKeepsFailing() throws {
        try withTestBed(retry: .seconds(60), failFirst: 1) { bed in
            let conn = try bed.connection()
            let netns = try NetNamespaceHandle.open(path: "/proc/self/ns/net")
            #expect(!(try conn.send(.add(uid: PodUID("a"), info: info("a")), netns: netns, until: deadline()).isAck))
            #expect(try conn.send(.snapshotSent, until: deadline()).isAck)
            #expect(bed.status.pending[PodUID("a")]?.contains("15008") == true)
            #expect(bed.status.snapshotReceived && !bed.status.isReady)
            // Deleting the pod ends the retries and makes the client ready.
            #expect(try conn.send(.delete(uid: PodUID("a")), until: deadline()).isAck)
            #expect(bed.status.isReady)
        }
    }

    @Test func longFailureTextIsCutToFitIstioCNIsResponseBuffer() throws {
        try withTestBed(retry: .seconds(60)) { bed in
            bed.delegate.failNext(1, detail: String(repeating: "é", count: 3000))
            let conn = try bed.connection()
            let netns = try NetNamespaceHandle.open(path: "/proc/self/ns/net")
            try conn.sendRaw(WorkloadRequest.add(uid: PodUID("a"), info: info("a")).encoded(),
                             descriptors: [netns.file.descriptor.rawValue])
            guard case .datagram(let d) = try conn.socket.receive(until: deadline()) else {
                Issue.record("expected a response")
                return
            }
            #expect(d.bytes.count <= 1024, "istio-cni reads responses into 1,024 bytes")
            let nack = try WorkloadResponse(decoding: d.bytes)
            #expect(nack.error.hasPrefix("enrolling a (shop/a (service account sa-a)) failed: listener port 15008 still held"))
            #expect(nack.error.hasSuffix("é..."))
        }
    }

    @Test func stopReturnsPromptlyWhileWaitingForRequests() throws {
        let dir = TempDirectory()
        defer { dir.destroy() }
        let server = try ZdsServer(path: dir.socketPath)
        let client = makeClient(dir.socketPath, delegate: RecordingDelegate())
        client.start()
        _ = try acceptClient(server)
        let elapsed = ContinuousClock().measure { client.stop() }
        #expect(elapsed < .seconds(2))
    }
}
