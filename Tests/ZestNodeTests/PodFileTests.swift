import Foundation
import Testing
import ZestNode

@Suite("Pod files for zest cni")
struct PodFileTests {
    @Test func yamlAndJsonPodFilesParse() throws {
        let yaml = try PodFile(parsing: """
            uid: 0e5f1c9a-1111
            name: web-0
            namespace: shop
            serviceAccount: web
            netns: /var/run/netns/web-0
            """, path: "/run/zest/pods/x.yaml")
        #expect(yaml == PodFile(uid: PodUID("0e5f1c9a-1111"),
                                info: WorkloadInfo(name: "web-0", namespace: "shop", serviceAccount: "web"),
                                netnsPath: "/var/run/netns/web-0"))
        let json = try PodFile(parsing: #"{"name": "db", "namespace": "shop", "netns": "/var/run/netns/db"}"#,
                               path: "/run/zest/pods/db-uid.json")
        #expect(json.uid == PodUID("db-uid"), "the uid defaults to the file name")
        #expect(json.info.serviceAccount == "default")
    }

    @Test func writtenFileReadsBackIdentically() throws {
        let pod = PodFile(uid: PodUID("u-1"), info: WorkloadInfo(name: "a: b # c", namespace: "n\"s", serviceAccount: "s\\a"),
                          netnsPath: "/var/run/netns/a b")
        #expect(try PodFile(parsing: pod.yaml, path: "/x/u-1.yaml") == pod)
    }

    static let invalid: [(String, String)] = [
        ("- a\n- b", "must be a mapping"),
        ("name: a\nnetns: /n", "lacks 'namespace'"),
        ("name: a\nnamespace: b", "lacks 'netns'"),
        ("name: 12\nnamespace: b\nnetns: /n", "'name' in pod file /p/f.yaml must be a non-empty string"),
        ("name: ''\nnamespace: b\nnetns: /n", "must be a non-empty string"),
        ("uid: ../etc\nname: a\nnamespace: b\nnetns: /n", "may hold only"),
        ("name: [", "cannot read pod file"),
    ]

    @Test("invalid pod files say what is wrong", arguments: 0..<7)
    func invalidPodFile(_ i: Int) {
        let (text, reason) = Self.invalid[i]
        #expect {
            _ = try PodFile(parsing: text, path: "/p/f.yaml")
        } throws: { error in
            "\(error)".contains(reason)
        }
    }

    @Test func oversizedAndMissingFilesAreRefusedWithAReason() throws {
        let dir = TempDirectory()
        defer { dir.destroy() }
        let big = dir.path + "/big.yaml"
        try String(repeating: "# padding\n", count: 7000).write(toFile: big, atomically: true, encoding: .utf8)
        #expect { _ = try PodFile(contentsOf: big) } throws: { "\($0)".contains("larger than 65536 bytes") }
        #expect { _ = try PodFile(contentsOf: dir.path + "/absent.yaml") } throws: { "\($0)".contains("No such file") }
    }

    @Test func backoffDoublesToItsCapAndResets() {
        var b = Backoff(initial: .milliseconds(10), maximum: .milliseconds(50), jitter: 0)
        #expect((0..<5).map { _ in b.next() } == [.milliseconds(10), .milliseconds(20), .milliseconds(40),
                                                   .milliseconds(50), .milliseconds(50)])
        b.reset()
        #expect(b.next() == .milliseconds(10))
        var jittered = Backoff(initial: .milliseconds(100), maximum: .seconds(1), jitter: 0.2)
        let d = jittered.next()
        #expect(d >= .milliseconds(80) && d <= .milliseconds(120))
    }
}
