import ArgumentParser
import Foundation
import Synchronization
import ZestNode

/// `zest cni monitor`: the node proxy's side of ZDS without the proxy. It connects to a CNI
/// agent (istio-cni or `zest cni serve`) as Zest would, prints every request, holds each
/// pod's netns descriptor until the pod is deleted, and ACKs. It captures no traffic: it
/// is for checking what a CNI agent sends and that descriptors are released.
struct CNIMonitorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "monitor",
        abstract: "Connect to a ZDS socket as a node proxy, print and ACK requests (captures nothing).")

    @Option(help: "ZDS socket to connect to.")
    var socket = "/var/run/ztunnel/ztunnel.sock"

    func run() throws {
        var config = ZdsClient.Configuration(socketPath: socket)
        config.log = { printLine($0) }
        let client = ZdsClient(configuration: config, delegate: PrintingEnrollment())
        let stop = StopSignal()
        let signals = stopOnTermination(stop)
        client.start()
        while stop.sleep(.seconds(3600)) {}
        client.stop()
        withExtendedLifetime(signals) {}
    }
}

/// Prints each request and keeps each pod's namespace handle, as a capture layer would.
private final class PrintingEnrollment: EnrollmentDelegate {
    private let handles = Mutex<[PodUID: NetNamespaceHandle]>([:])

    func enroll(_ uid: PodUID, info: WorkloadInfo, netns: NetNamespaceHandle) throws {
        handles.withLock { $0[uid] = netns }
        printLine("enroll \(uid) \(info) \(netns.identity)")
    }

    func keep(_ uid: PodUID) { printLine("keep \(uid)") }

    func remove(_ uid: PodUID) {
        handles.withLock { $0[uid] = nil }
        printLine("remove \(uid)")
    }

    func snapshotComplete() {
        printLine("snapshot complete: \(handles.withLock { $0.count }) pods")
    }
}

private func printLine(_ line: String) {
    FileHandle.standardOutput.write(Data("zest cni monitor: \(line)\n".utf8))
}
