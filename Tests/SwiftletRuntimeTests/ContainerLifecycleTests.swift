import Foundation
import Glibc
import Testing
@testable import SwiftletRuntime
import SwiftletTestSupport

@Suite(.blockingWork) struct ContainerLifecycleTests {
    @Test func aContainerThatExitsLeavesItsOutputAndExitCode() async throws {
        let fixture = RuntimeFixture()
        defer { fixture.cleanUp() }
        let spec = fixture.spec("echo", ["/bin/sh", "-c", "echo out1; echo err1 >&2; echo out2; exit 3"])
        let started = try fixture.runtime.start(spec)
        guard case .running(let pid, _) = started else { Issue.record("not running: \(started)"); return }
        #expect(pid > 0)
        let state = await fixture.runtime.waitForExit(spec.id)
        guard case .exited(let code, let startedAt, let finishedAt, let oomKilled) = state else {
            Issue.record("not exited: \(state)")
            return
        }
        #expect(code == 3)
        #expect(!oomKilled)
        #expect(startedAt != nil && startedAt! <= finishedAt)
        let records = criRecords(spec.logPath)
        #expect(records.filter { $0.stream == "stdout" }.map(\.text) == ["out1", "out2"])
        #expect(records.filter { $0.stream == "stderr" }.map(\.text) == ["err1"])
        #expect(records.allSatisfy { $0.tag == "F" })
        // `<RFC3339Nano> ` with all nine digits.
        let first = try #require(String(contentsOfFile: spec.logPath, encoding: .utf8).split(separator: " ").first)
        #expect(first.count == 30 && first.hasSuffix("Z"))
        #expect(fixture.runtime.containerIDs() == [spec.id])
    }

    @Test func aLongRunningContainerIsStoppedWithTermThenKill() async throws {
        let fixture = RuntimeFixture()
        defer { fixture.cleanUp() }
        // As PID 1, sleep has no handler for SIGTERM, so only the SIGKILL after the grace period ends it.
        let sleeper = fixture.spec("sleep", ["/bin/sleep", "600"])
        #expect(try fixture.runtime.start(sleeper).isRunning)
        try await Task.sleep(for: .milliseconds(100))
        #expect(fixture.runtime.state(id: sleeper.id).isRunning)
        let clock = ContinuousClock()
        let took = await clock.measure { await fixture.runtime.stop(id: sleeper.id, gracePeriod: .milliseconds(300)) }
        #expect(exitCode(fixture.runtime.state(id: sleeper.id)) == 137)
        #expect(took >= .milliseconds(300))

        // A process that handles SIGTERM ends within the grace period with 128+15.
        let trapper = fixture.spec("trap", ["/bin/sh", "-c", "trap 'exit 143' TERM; while true; do sleep 0.05; done"])
        #expect(try fixture.runtime.start(trapper).isRunning)
        try await Task.sleep(for: .milliseconds(200))
        let tookTrapped = await clock.measure { await fixture.runtime.stop(id: trapper.id, gracePeriod: .seconds(10)) }
        #expect(exitCode(fixture.runtime.state(id: trapper.id)) == 143)
        #expect(tookTrapped < .seconds(5))
    }

    @Test func environmentWorkingDirectoryAndUserAreApplied() async throws {
        let fixture = RuntimeFixture()
        defer { fixture.cleanUp() }
        var spec = fixture.spec("env", ["/bin/sh", "-c", "echo \"$GREETING\"; pwd; id -u; id -g; id -G; hostname"])
        spec.env.append("GREETING=hello world")
        spec.workingDirectory = "/usr/share"
        spec.uid = 65534
        spec.gid = 65534
        spec.additionalGids = [4242]
        spec.hostname = "pod-host"
        _ = try fixture.runtime.start(spec)
        #expect(exitCode(await fixture.runtime.waitForExit(spec.id)) == 0)
        #expect(criRecords(spec.logPath).map(\.text) == ["hello world", "/usr/share", "65534", "65534", "65534 4242", "pod-host"])
    }

    @Test func aReadOnlyRootRefusesWritesButItsTmpfsTakesThem() async throws {
        let fixture = RuntimeFixture()
        defer { fixture.cleanUp() }
        var spec = fixture.spec("ro", [
            "/bin/sh", "-c", "touch /etc/swiftlet-ro-test && echo etc-writable; echo data > /scratch/f && cat /scratch/f",
        ])
        spec.readOnlyRootFilesystem = true
        spec.mounts = [.tmpfs(at: "/scratch")]
        _ = try fixture.runtime.start(spec)
        #expect(exitCode(await fixture.runtime.waitForExit(spec.id)) == 0)
        let records = criRecords(spec.logPath)
        #expect(records.contains { $0.stream == "stderr" && $0.text.contains("Read-only file system") })
        #expect(records.filter { $0.stream == "stdout" }.map(\.text) == ["data"])
        #expect(!FileManager.default.fileExists(atPath: "/etc/swiftlet-ro-test"))
        #expect(!FileManager.default.fileExists(atPath: "/scratch"))
    }

    @Test func writesToAWritableRootStayInTheContainer() async throws {
        let fixture = RuntimeFixture()
        defer { fixture.cleanUp() }
        let spec = fixture.spec("rw", ["/bin/sh", "-c", "echo x > /etc/swiftlet-rw-test && cat /etc/swiftlet-rw-test"])
        _ = try fixture.runtime.start(spec)
        #expect(exitCode(await fixture.runtime.waitForExit(spec.id)) == 0)
        #expect(criRecords(spec.logPath).map(\.text) == ["x"])
        #expect(!FileManager.default.fileExists(atPath: "/etc/swiftlet-rw-test"))
    }

    @Test func theImagesLayersStackWithTheTopmostFirst() async throws {
        let fixture = RuntimeFixture()
        defer { fixture.cleanUp() }
        // A layer over the base: it replaces one file and hides another with an overlay whiteout.
        let top = fixture.root + "/top"
        try FileManager.default.createDirectory(atPath: top + "/etc", withIntermediateDirectories: true)
        try "from the base\n".write(toFile: fixture.image + "/etc/motd", atomically: true, encoding: .utf8)
        try "from the base\n".write(toFile: fixture.image + "/etc/hidden", atomically: true, encoding: .utf8)
        try "from the top\n".write(toFile: top + "/etc/motd", atomically: true, encoding: .utf8)
        #expect(mknod(top + "/etc/hidden", S_IFCHR, 0) == 0)
        var spec = fixture.spec("layers", ["/bin/sh", "-c", "cat /etc/motd; ls /etc/hidden 2>/dev/null || echo hidden; echo new > /etc/created"])
        spec.rootfsLowerDirectories = [top, fixture.image]
        _ = try fixture.runtime.start(spec)
        #expect(exitCode(await fixture.runtime.waitForExit(spec.id)) == 0)
        #expect(criRecords(spec.logPath).filter { $0.stream == "stdout" }.map(\.text) == ["from the top", "hidden"])
        // The container's writes went to its upper layer, not into the image's layers.
        #expect(!FileManager.default.fileExists(atPath: top + "/etc/created"))
        #expect(!FileManager.default.fileExists(atPath: fixture.image + "/etc/created"))
    }

    @Test func anImageWithMoreLayersThanMountOptionsHoldIsMountedAllTheSame() async throws {
        let fixture = RuntimeFixture()
        defer { fixture.cleanUp() }
        // 100 layers of long paths: far more than the 4 KiB of options mount(2) takes.
        var lowers: [String] = []
        for index in 0..<100 {
            let layer = fixture.root + "/layers/" + String(repeating: "l", count: 40) + String(index)
            try FileManager.default.createDirectory(atPath: layer + "/data", withIntermediateDirectories: true)
            try "\(index)\n".write(toFile: layer + "/data/\(index)", atomically: true, encoding: .utf8)
            lowers.append(layer)
        }
        var spec = fixture.spec("many", ["/bin/sh", "-c", "ls /data | wc -l; cat /data/0 /data/99"])
        spec.rootfsLowerDirectories = lowers.reversed() + [fixture.image]
        _ = try fixture.runtime.start(spec)
        #expect(exitCode(await fixture.runtime.waitForExit(spec.id)) == 0)
        #expect(criRecords(spec.logPath).map { $0.text.trimmingCharacters(in: .whitespaces) } == ["100", "0", "99"])
    }

    @Test func aMissingExecutableFailsTheStartWithRuncsMessageAndLeavesNothing() throws {
        let fixture = RuntimeFixture()
        defer { fixture.cleanUp() }
        let spec = fixture.spec("missing", ["/no/such/program"])
        do {
            _ = try fixture.runtime.start(spec)
            Issue.record("started")
        } catch {
            #expect(error.code == .createFailed)
            #expect(error.message.contains("/no/such/program"), "\(error.message)")
            #expect(error.message.hasPrefix("OCI runtime create failed: "))
        }
        #expect(fixture.runtime.state(id: spec.id) == .unknown)
        #expect(fixture.runtime.containerIDs().isEmpty)
        #expect(mounts(containing: fixture.root).isEmpty)
        #expect(CgroupHierarchies().existing(spec.cgroupsPath).isEmpty)
    }

    @Test func badSpecsAndDuplicateIDsAreRejected() async throws {
        let fixture = RuntimeFixture()
        defer { fixture.cleanUp() }
        var bad = fixture.spec("bad", ["/bin/true"])
        bad.id = "../escape"
        #expect(throws: RuntimeError(.invalidSpec, "invalid container id \"../escape\"")) { try fixture.runtime.start(bad) }
        let spec = fixture.spec("dup", ["/bin/sleep", "60"])
        _ = try fixture.runtime.start(spec)
        do {
            _ = try fixture.runtime.start(spec)
            Issue.record("started twice")
        } catch {
            #expect(error.code == .alreadyExists)
        }
        #expect(fixture.runtime.state(id: spec.id).isRunning)
    }

    @Test func removeLeavesNoMountBundleCgroupOrRuncState() async throws {
        let fixture = RuntimeFixture()
        defer { fixture.cleanUp() }
        var spec = fixture.spec("rm", ["/bin/sleep", "600"])
        spec.memoryLimitBytes = 64 << 20
        spec.pidsLimit = 32
        guard case .running(let pid, _) = try fixture.runtime.start(spec) else { Issue.record("not running"); return }
        let hierarchies = CgroupHierarchies()
        let cgroupDirectories = hierarchies.existing(spec.cgroupsPath)
        #expect(cgroupDirectories.contains("/sys/fs/cgroup/memory" + spec.cgroupsPath))
        #expect(cgroupDirectories.contains("/sys/fs/cgroup/pids" + spec.cgroupsPath))
        let limit = try String(contentsOfFile: "/sys/fs/cgroup/memory\(spec.cgroupsPath)/memory.limit_in_bytes", encoding: .utf8)
        #expect(limit.trimmingCharacters(in: .whitespacesAndNewlines) == String(64 << 20))
        #expect(!mounts(containing: fixture.root).isEmpty)

        fixture.runtime.remove(id: spec.id)
        #expect(mounts(containing: fixture.root).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: fixture.runtime.stateDirectory + "/" + spec.id))
        #expect(!FileManager.default.fileExists(atPath: fixture.runtime.runcRoot + "/" + spec.id))
        #expect(hierarchies.existing(spec.cgroupsPath).isEmpty)
        // The pod's and the test's parent cgroups were left empty, so they went too.
        #expect(hierarchies.existing(fixture.cgroupParent).isEmpty)
        #expect(kill(pid, 0) != 0)
        #expect(fixture.runtime.state(id: spec.id) == .unknown)
        // Idempotent.
        fixture.runtime.remove(id: spec.id)
    }

    @Test func removingOneContainerKeepsItsSiblingsCgroupParents() async throws {
        let fixture = RuntimeFixture()
        defer { fixture.cleanUp() }
        let first = fixture.spec("a", ["/bin/sleep", "600"])
        let second = fixture.spec("b", ["/bin/sleep", "600"])
        _ = try fixture.runtime.start(first)
        _ = try fixture.runtime.start(second)
        fixture.runtime.remove(id: first.id)
        let hierarchies = CgroupHierarchies()
        #expect(hierarchies.existing(first.cgroupsPath).isEmpty)
        #expect(hierarchies.existing(second.cgroupsPath).contains("/sys/fs/cgroup/memory" + second.cgroupsPath))
        #expect(fixture.runtime.state(id: second.id).isRunning)
    }

    @Test func aRestartedAgentReadoptsARunningContainerAndSeesItsExit() async throws {
        let fixture = RuntimeFixture()
        defer { fixture.cleanUp() }
        let spec = fixture.spec("adopt", ["/bin/sh", "-c", "read line; echo \"got $line\"; exit 7"])
        // stdin is /dev/null, so make the container wait on a fifo in a host directory instead.
        let fifoDirectory = fixture.root + "/fifo"
        try FileManager.default.createDirectory(atPath: fifoDirectory, withIntermediateDirectories: true)
        #expect(mkfifo(fifoDirectory + "/go", 0o600) == 0)
        var waiting = spec
        waiting.args = ["/bin/sh", "-c", "read line < /fifo/go; echo \"got $line\"; exit 7"]
        waiting.mounts = [.bind(fifoDirectory, at: "/fifo", readOnly: false)]
        guard case .running(let pid, let startedAt) = try fixture.runtime.start(waiting) else { Issue.record("not running"); return }

        let restarted = fixture.restartedRuntime()
        #expect(restarted.containerIDs() == [spec.id])
        #expect(restarted.state(id: spec.id) == .running(pid: pid, startedAt: startedAt))
        try "hello\n".write(toFile: fifoDirectory + "/go", atomically: false, encoding: .utf8)
        let state = await restarted.waitForExit(spec.id)
        guard case .exited(7, let recordedStart, _, false) = state else { Issue.record("\(state)"); return }
        #expect(recordedStart == startedAt)
        #expect(criRecords(spec.logPath).map(\.text) == ["got hello"])
    }

    @Test func theShimLeavesNoZombiesAndExitsAfterTheContainer() async throws {
        let fixture = RuntimeFixture()
        defer { fixture.cleanUp() }
        // The init leaves an orphan behind in its pid namespace; the kernel kills it when the init exits.
        let spec = fixture.spec("zombies", ["/bin/sh", "-c", "sleep 30 & (sleep 0.1; exit 0) & wait %2; exit 0"])
        _ = try fixture.runtime.start(spec)
        let shim = try #require(ContainerBundle(directory: fixture.runtime.stateDirectory + "/" + spec.id).readStarted()?.shim)
        #expect(exitCode(await fixture.runtime.waitForExit(spec.id)) == 0)
        let deadline = Date().addingTimeInterval(5)
        while shim.isAlive, Date() < deadline { try await Task.sleep(for: .milliseconds(10)) }
        #expect(!shim.isAlive)
        #expect(childrenOf(shim.pid).isEmpty)
    }
}

/// Processes whose parent is `pid`.
func childrenOf(_ pid: Int32) -> [Int32] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap(Int32.init).filter { child in
        let stat = String(decoding: LinuxCalls.readFile("/proc/\(child)/stat") ?? [], as: UTF8.self)
        guard let close = stat.lastIndex(of: ")")
        else { return false }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 1 && Int32(fields[1]) == pid
    }
}
