import Foundation
import Testing
@testable import SwiftletRuntime
import SwiftletTestSupport

@Suite(.blockingWork) struct ContainerLimitsTests {
    @Test func exceedingTheMemoryLimitIsAnOOMKillWith137() async throws {
        let fixture = RuntimeFixture()
        defer { fixture.cleanUp() }
        // dd allocates its whole block before reading into it.
        var spec = fixture.spec("oom", ["/bin/sh", "-c", "dd if=/dev/zero of=/dev/null bs=100M count=1 && echo survived"])
        spec.memoryLimitBytes = 32 << 20
        _ = try fixture.runtime.start(spec)
        let state = await fixture.runtime.waitForExit(spec.id)
        guard case .exited(let code, _, _, let oomKilled) = state else { Issue.record("\(state)"); return }
        #expect(code == 137)
        #expect(oomKilled)
        #expect(!criRecords(spec.logPath).contains { $0.text == "survived" })
    }

    @Test func aContainerWithinItsMemoryLimitIsNotReportedOOMKilled() async throws {
        let fixture = RuntimeFixture()
        defer { fixture.cleanUp() }
        var spec = fixture.spec("fits", ["/bin/dd", "if=/dev/zero", "of=/dev/null", "bs=4M", "count=1"])
        spec.memoryLimitBytes = 64 << 20
        _ = try fixture.runtime.start(spec)
        let state = await fixture.runtime.waitForExit(spec.id)
        guard case .exited(0, _, _, false) = state else { Issue.record("\(state)"); return }
    }

    @Test func thePidsLimitStopsForking() async throws {
        let fixture = RuntimeFixture()
        defer { fixture.cleanUp() }
        var spec = fixture.spec("pids", ["/bin/sh", "-c", "i=0; while [ $i -lt 40 ]; do sleep 30 & i=$((i+1)); echo $i; done"])
        spec.pidsLimit = 20
        _ = try fixture.runtime.start(spec)
        let state = await fixture.runtime.waitForExit(spec.id)
        #expect(exitCode(state) != 0)
        let records = criRecords(spec.logPath)
        let forked = records.filter { $0.stream == "stdout" }.compactMap { Int($0.text) }.max() ?? 0
        #expect(forked > 5 && forked < 20)
        #expect(records.contains { $0.stream == "stderr" && $0.text.contains("fork") })
    }

    @Test func cpuSettingsReachTheCgroup() async throws {
        let fixture = RuntimeFixture()
        defer { fixture.cleanUp() }
        var spec = fixture.spec("cpu", ["/bin/sleep", "60"])
        spec.cpuShares = 512
        spec.cpuQuota = 50_000
        spec.cpuPeriod = 100_000
        _ = try fixture.runtime.start(spec)
        func read(_ file: String) throws -> String {
            try String(contentsOfFile: "/sys/fs/cgroup/cpu\(spec.cgroupsPath)/\(file)", encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
        #expect(try read("cpu.shares") == "512")
        #expect(try read("cpu.cfs_quota_us") == "50000")
        #expect(try read("cpu.cfs_period_us") == "100000")
    }

    @Test func capabilitiesFollowDockersDefaultsWithAddAndDrop() async throws {
        #expect(Capabilities.effective(add: [], drop: [], privileged: false) == Capabilities.defaults)
        let adjusted = Capabilities.effective(add: ["net_admin", "CAP_SYS_TIME"], drop: ["NET_RAW", "cap_mknod"], privileged: false)
        #expect(adjusted.contains("CAP_NET_ADMIN") && adjusted.contains("CAP_SYS_TIME"))
        #expect(!adjusted.contains("CAP_NET_RAW") && !adjusted.contains("CAP_MKNOD"))
        #expect(Capabilities.effective(add: ["CHOWN"], drop: ["ALL"], privileged: false) == ["CAP_CHOWN"])
        #expect(Capabilities.effective(add: ["ALL"], drop: [], privileged: false) == Capabilities.current)
        // "All" is what this process holds, never a capability runc could not grant.
        #expect(Capabilities.effective(add: [], drop: [], privileged: true) == Capabilities.current)
        #expect(Set(Capabilities.current).isSubset(of: Capabilities.known))

        // In a container: CAP_NET_RAW (bit 13) dropped, CAP_NET_ADMIN (bit 12) added.
        let fixture = RuntimeFixture()
        defer { fixture.cleanUp() }
        var spec = fixture.spec("caps", ["/bin/sh", "-c", "grep CapEff /proc/self/status; grep NoNewPrivs /proc/self/status"])
        spec.capabilitiesAdd = ["NET_ADMIN"]
        spec.capabilitiesDrop = ["NET_RAW"]
        spec.noNewPrivileges = true
        _ = try fixture.runtime.start(spec)
        #expect(exitCode(await fixture.runtime.waitForExit(spec.id)) == 0)
        let lines = criRecords(spec.logPath).map(\.text)
        let capEff = try #require(lines.first { $0.hasPrefix("CapEff:") })
        let effective = try #require(UInt64(capEff.split(separator: "\t").last ?? "", radix: 16))
        #expect(effective & (1 << 12) != 0)
        #expect(effective & (1 << 13) == 0)
        #expect(effective & (1 << 0) != 0)  // CAP_CHOWN, a default
        #expect(effective & (1 << 21) == 0)  // CAP_SYS_ADMIN is not
        #expect(lines.contains("NoNewPrivs:\t1"))
    }
}
