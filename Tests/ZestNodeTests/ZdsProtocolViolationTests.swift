import Glibc
import Testing
import ZestNode
import ZestTestSupport

/// A confused or hostile CNI agent gets a NACK that says what was wrong; the client keeps
/// its connection, closes every descriptor it was sent, and goes on serving valid requests.
@Suite("ZDS protocol violations")
struct ZdsProtocolViolationTests {
    enum Attachment { case none, marker(Int), netns }

    static let addBytes = WorkloadRequest.add(uid: PodUID("v"), info: info("v")).encoded()

    static let cases: [(name: String, bytes: [UInt8], attach: Attachment, reason: String)] = [
        ("AddWorkload without a descriptor", addBytes, .none, "exactly one netns descriptor (SCM_RIGHTS), got 0"),
        ("AddWorkload with two descriptors", addBytes, .marker(2), "exactly one netns descriptor (SCM_RIGHTS), got 2"),
        ("AddWorkload with a regular file", addBytes, .marker(1), "not a namespace file"),
        ("DelWorkload with a descriptor", WorkloadRequest.delete(uid: PodUID("v")).encoded(), .marker(1),
         "DelWorkload must carry no descriptors, got 1"),
        ("SnapshotSent with descriptors", WorkloadRequest.snapshotSent.encoded(), .marker(3),
         "SnapshotSent must carry no descriptors, got 3"),
        ("garbage bytes", [0xff, 0xff, 0xff], .none, "malformed WorkloadRequest"),
        ("garbage bytes with a descriptor", [0x0a, 0x7f, 0x01], .marker(1), "malformed WorkloadRequest"),
        ("unknown request type (NoSnapshotPresent = 4)", [0x22, 0x00], .none, "unknown payload field(s) 4"),
        ("AddWorkload without workload_info", WorkloadRequest.add(uid: PodUID("v"), info: nil).encoded(), .netns,
         "has no workload_info"),
        ("AddWorkload with an empty uid", WorkloadRequest.add(uid: PodUID(""), info: info("v")).encoded(), .netns,
         "empty uid"),
        ("AddWorkload with more descriptors than Zest accepts", addBytes, .marker(20), "ancillary data was truncated"),
        ("oversized datagram", [UInt8](repeating: 0x08, count: SeqpacketSocket.maxDatagram + 1), .none, "truncated"),
    ]

    @Test func everyViolationIsNackedWithItsReasonAndLeaksNoDescriptor() throws {
        try withTestBed { bed in
            let marker = bed.dir.path + "/marker"
            try runChecked(["touch", marker])
            let markerFD = open(marker, O_RDONLY | O_CLOEXEC)
            #expect(markerFD >= 0)
            defer { close(markerFD) }
            let markerCopies = { openDescriptors { $0 == marker }.count }
            let netns = try NetNamespaceHandle.open(path: "/proc/self/ns/net")
            let conn = try bed.connection()

            for c in Self.cases {
                let fds: [Int32]
                switch c.attach {
                case .none: fds = []
                case .marker(let n): fds = Array(repeating: markerFD, count: n)
                case .netns: fds = [netns.file.descriptor.rawValue]
                }
                try conn.sendRaw(c.bytes, descriptors: fds)
                let response = try conn.receiveResponse(until: deadline())
                #expect(!response.isAck, "\(c.name) was accepted")
                #expect(response.error.contains(c.reason), "\(c.name): NACK said '\(response.error)'")
                #expect(markerCopies() == 1, "\(c.name): a received descriptor was not closed")
            }

            // State violations: a second SnapshotSent, and KeepWorkload after it.
            #expect(try conn.send(.snapshotSent, until: deadline()).isAck)
            #expect(try conn.send(.snapshotSent, until: deadline()).error.contains("second SnapshotSent"))
            #expect(try conn.send(.keep(uid: PodUID("v")), until: deadline()).error.contains("after SnapshotSent"))

            // The same connection still serves a valid request.
            #expect(try conn.send(.add(uid: PodUID("v"), info: info("v")), netns: netns, until: deadline()).isAck)
            #expect(bed.delegate.events == ["snapshot", "enroll v shop/v/sa-v"])
            #expect(bed.status.connections == 1)
            #expect(bed.status.nacks == Self.cases.count + 2)
        }
    }
}
