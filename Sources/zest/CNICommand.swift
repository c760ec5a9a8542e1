import ArgumentParser
import Foundation
import ZestNode

/// `zest cni`: the CNI agent's side of ZDS for nodes without istio-cni, demos and tests.
/// `serve` holds the socket and keeps the node proxy's pods equal to a directory of pod
/// files; `add` and `del` write and remove those files.
struct CNICommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cni",
        abstract: "Enroll pods into a node proxy over ZDS, as istio-cni would.",
        discussion: """
        Run `zest cni serve` once per node; it listens on the ZDS socket that Zest (or \
        ztunnel) connects to. Then `zest cni add` enrolls a pod by its network namespace and \
        `zest cni del` unenrolls it. Both only edit the pods directory, which `serve` watches: \
        dropping a YAML file there has the same effect.
        """,
        subcommands: [Serve.self, Add.self, Delete.self, CNIMonitorCommand.self]
    )

    struct Locations: ParsableArguments {
        @Option(help: "Directory of pod files that `serve` watches.")
        var podsDir = "/run/zest/pods"
    }

    struct Serve: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Serve the ZDS socket and enroll the pods of the pods directory.")

        @OptionGroup var locations: Locations

        @Option(help: "ZDS socket to listen on.")
        var socket = "/var/run/ztunnel/ztunnel.sock"

        @Option(help: "Milliseconds between reads of the pods directory.")
        var scanIntervalMs = 200

        func validate() throws {
            guard (10...60_000).contains(scanIntervalMs) else {
                throw ValidationError("--scan-interval-ms must be 10...60000")
            }
        }

        func run() throws {
            var config = DirectoryEnrollmentServer.Configuration()
            config.socketPath = socket
            config.podsDirectory = locations.podsDir
            config.scanInterval = .milliseconds(scanIntervalMs)
            config.log = { line in FileHandle.standardOutput.write(Data("zest cni: \(line)\n".utf8)) }
            try FileManager.default.createDirectory(atPath: locations.podsDir, withIntermediateDirectories: true)
            let server = try DirectoryEnrollmentServer(configuration: config)
            let stop = StopSignal()
            let signals = stopOnTermination(stop)
            server.run(stop: stop)
            withExtendedLifetime(signals) {}
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Enroll a pod: write its pod file for `zest cni serve`.")

        @OptionGroup var locations: Locations

        @Option(help: "The pod's network namespace, e.g. /var/run/netns/pod1.")
        var netns: String

        @Option(help: "Pod name.")
        var name: String

        @Option(help: "Pod namespace.")
        var namespace: String

        @Option(help: "Pod service account.")
        var serviceAccount = "default"

        @Option(help: "Pod UID (default: a new random UUID).")
        var uid: String?

        @Option(help: "Wait up to this many seconds for the node proxy's answer; 0 returns at once.")
        var wait = 0

        func validate() throws {
            guard (0...600).contains(wait) else { throw ValidationError("--wait must be 0...600 seconds") }
            if let uid, !PodFile.isValidUID(uid) {
                throw ValidationError("--uid may hold only A-Z a-z 0-9 . _ - (at most 128)")
            }
            for (flag, value) in [("--name", name), ("--namespace", namespace), ("--service-account", serviceAccount)]
            where value.isEmpty {
                throw ValidationError("\(flag) must not be empty")
            }
        }

        func run() throws {
            do {
                _ = try NetNamespaceHandle.open(path: netns)
            } catch {
                throw ValidationError("\(error)")
            }
            let pod = PodFile(uid: PodUID(uid ?? UUID().uuidString.lowercased()),
                              info: WorkloadInfo(name: name, namespace: namespace, serviceAccount: serviceAccount),
                              netnsPath: netns)
            let directory = PodDirectory(path: locations.podsDir)
            directory.clearAcknowledgement(for: pod.uid)
            let file = try directory.write(pod)
            print("\(pod.uid) \(file)")
            guard wait > 0 else { return }
            let deadline = ContinuousClock.now + .seconds(wait)
            while ContinuousClock.now < deadline {
                if let answer = directory.acknowledgement(for: pod.uid) {
                    print(answer.isAck ? "ACK" : "NACK \(answer.error)")
                    guard answer.isAck else { throw ExitCode.failure }
                    return
                }
                Thread.sleep(forTimeInterval: 0.05)
            }
            throw ValidationError("no answer within \(wait) s; is `zest cni serve --pods-dir \(locations.podsDir)` running with a node proxy connected?")
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "del", abstract: "Unenroll a pod: remove its pod file.")

        @OptionGroup var locations: Locations

        @Option(help: "UID of the pod to unenroll (as `add` printed it).")
        var uid: String

        func run() throws {
            let removed = PodDirectory(path: locations.podsDir).remove(uid: PodUID(uid))
            guard removed > 0 else {
                throw ValidationError("no pod file for uid \(uid) in \(locations.podsDir)")
            }
            print("removed \(uid)")
        }
    }
}

/// Stops `stop` on SIGINT or SIGTERM; keep the returned sources alive while serving.
func stopOnTermination(_ stop: StopSignal) -> [DispatchSourceSignal] {
    [SIGINT, SIGTERM].map { sig in
        signal(sig, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
        source.setEventHandler { stop.stop() }
        source.resume()
        return source
    }
}
