import Foundation
import Glibc
import Testing
import ZestReactor
import ZestTestSupport

/// `zest run` as a real process: readiness, admin, configuration errors, drain on request.
@Suite("zest run lifecycle")
struct AgentLifecycleTests {
    @Test(.enabled(if: Privilege.canRunPrivilegedTests, Comment(rawValue: Privilege.skipReason)))
    func readinessNamesPendingTasksUntilTheSnapshotArrivesAndQuitDrainsToExitZero() throws {
        let node = try NodeFixture()
        defer { node.destroy() }
        let zest = try node.startZest(deadline: "1s")

        // No CNI agent yet: certificates and configuration come in, the snapshot cannot.
        #expect(waitUntil(timeout: .seconds(20)) {
            zest.readiness?.body == "not ready, pending: enrollment snapshot\n"
        }, "\(zest.readiness?.body ?? "no answer"); log: \(zest.process.output.suffix(800))")
        #expect(zest.readiness?.status == 500)

        let cni = try node.startCNI()
        #expect(waitUntil(timeout: .seconds(20)) { zest.readiness?.status == 200 }, "\(zest.process.output.suffix(800))")
        #expect(zest.readiness?.body == "ready\n")

        // Losing the CNI agent makes Zest not ready again, as ztunnel.
        cni.stop()
        #expect(waitUntil(timeout: .seconds(10)) { zest.readiness?.status == 500 })
        #expect(zest.readiness?.body.contains("enrollment snapshot") == true)

        let dump = zest.configDump
        for key in ["config", "workloads", "services", "policies", "certificates", "workloadState"] {
            #expect(dump[key] != nil, "config_dump lacks \(key)")
        }
        #expect((dump["config"] as? [String: Any])?["CONNECTION_TERMINATION_DEADLINE"] as? String == "1s")
        #expect(zest.metric("workload_manager_active_proxy_count") == 0)
        #expect(zest.metric("buffer_pool_capacity_buffers") == Double(2 * BufferPoolConfiguration.default.slotCount),
                "one pool per worker (2 workers)")
        #expect(zest.metric("buffer_pool_in_use_buffers") == 0)
        #expect(zest.metric("process_open_fds") > 0)

        #expect(zest.quit()?.body == "shutdown now\n")
        #expect(zest.process.wait(timeout: .seconds(10)) == 0)
        let log = zest.process.output
        #expect(log.contains("config\tLOCAL_XDS_PATH="), "the effective configuration is logged at start")
        #expect(log.contains("draining") && log.contains("drained; exiting"))
    }

    @Test(.enabled(if: Privilege.canRunPrivilegedTests, Comment(rawValue: Privilege.skipReason)))
    func invalidSettingsAndMissingFilesFailFastWithAClearMessage() throws {
        let node = try NodeFixture()
        defer { node.destroy() }
        let bad = try node.startZest(environment: ["CONNECTION_TERMINATION_DEADLINE": "soon"])
        #expect(bad.process.wait(timeout: .seconds(10)) != 0)
        #expect(bad.process.output.contains("CONNECTION_TERMINATION_DEADLINE=\"soon\" is not valid"))

        let missing = try node.startZest(environment: ["LOCAL_XDS_PATH": node.dir.path + "/absent.yaml"])
        #expect(missing.process.wait(timeout: .seconds(10)) == 1)
        #expect(missing.process.output.contains("cannot start"))
        #expect(missing.process.output.contains("absent.yaml"))
    }

    @Test(.enabled(if: Privilege.canRunPrivilegedTests && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"),
                   Comment(rawValue: Privilege.skipReason)))
    func missingCapabilityFailsFastNamingIt() throws {
        let node = try NodeFixture()
        defer { node.destroy() }
        let out = node.dir.path + "/nocap.log"
        let p = try ChildProcess(["setpriv", "--bounding-set", "-sys_admin", NodeFixture.zestBinary, "run"],
                                 environment: ["INPOD_UDS": node.socketPath(0), "ZEST_STATE_DIR": node.dir.path + "/state"],
                                 outputPath: out)
        #expect(p.wait(timeout: .seconds(10)) == 1)
        #expect(p.output.contains("Zest lacks CAP_SYS_ADMIN (for setns into pod network namespaces)"), "\(p.output.suffix(400))")
    }
}
