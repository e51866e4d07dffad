import Foundation
import Glibc
import Testing
@testable import SwiftletRuntime
import SwiftletTestSupport

/// Containers confined as containerd confines them, checked from inside real containers.
@Suite(.blockingWork) struct ContainerConfinementTests {
    private func run(_ fixture: RuntimeFixture, _ spec: ContainerSpec) async throws -> [String] {
        _ = try fixture.runtime.start(spec)
        _ = await fixture.runtime.waitForExit(spec.id)
        return criRecords(spec.logPath).filter { $0.stream == "stdout" }.map(\.text)
    }

    @Test func runtimeDefaultSeccompRefusesNewNamespacesAndMounts() async throws {
        let fixture = RuntimeFixture()
        defer { fixture.cleanUp() }
        var spec = fixture.spec("seccomp", ["/bin/sh", "-c", """
            grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status; \
            unshare -r true 2>/dev/null && echo unshare-worked || echo unshare-refused; \
            mkdir -p /m && mount -t tmpfs none /m 2>/dev/null && echo mount-worked || echo mount-refused
            """])
        spec.seccomp = .runtimeDefault
        spec.noNewPrivileges = true
        let lines = try await run(fixture, spec)
        #expect(lines.contains("Seccomp:\t2"))
        #expect(lines.contains("NoNewPrivs:\t1"))
        #expect(lines.contains("unshare-refused"))
        #expect(lines.contains("mount-refused"))
    }

    @Test func unconfinedContainersHaveNoFilterAndKeepTheirPrivileges() async throws {
        let fixture = RuntimeFixture()
        defer { fixture.cleanUp() }
        let spec = fixture.spec("plain", ["/bin/sh", "-c", "grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status"])
        #expect(try await run(fixture, spec) == ["NoNewPrivs:\t0", "Seccomp:\t0"])
    }

    @Test func aPrivilegedContainerStartsWithTheHostsDevicesAndEveryCapabilityTheAgentHolds() async throws {
        let fixture = RuntimeFixture()
        defer { fixture.cleanUp() }
        var spec = fixture.spec("privileged", ["/bin/sh", "-c", "grep '^CapEff:' /proc/self/status; ls /dev/loop-control >/dev/null 2>&1 && echo has-loop-control; echo ok"])
        spec.privileged = true
        let lines = try await run(fixture, spec)
        #expect(lines.last == "ok")
        let own = String(decoding: LinuxCalls.readFile("/proc/self/status") ?? [], as: UTF8.self)
            .split(separator: "\n").first { $0.hasPrefix("CapEff:") }.map(String.init)
        #expect(lines.first == own)
        if access("/dev/loop-control", F_OK) == 0 { #expect(lines.contains("has-loop-control")) }
    }

    @Test func hostPIDSeesTheHostsProcesses() async throws {
        let fixture = RuntimeFixture()
        defer { fixture.cleanUp() }
        var spec = fixture.spec("hostpid", ["/bin/sh", "-c", "test -d /proc/\(getpid()) && echo sees-the-test"])
        spec.hostPID = true
        #expect(try await run(fixture, spec) == ["sees-the-test"])
        let isolated = fixture.spec("ownpid", ["/bin/sh", "-c", "test -d /proc/\(getpid()) && echo sees-the-test || echo isolated"])
        #expect(try await run(fixture, isolated) == ["isolated"])
    }

    @Test func stopSendsTheImagesStopSignal() async throws {
        let fixture = RuntimeFixture()
        defer { fixture.cleanUp() }
        var spec = fixture.spec("quit", ["/bin/sh", "-c", "trap 'echo got-quit; exit 0' QUIT; trap 'echo got-term; exit 0' TERM; echo ready; while true; do sleep 0.05; done"])
        spec.stopSignal = SIGQUIT
        _ = try fixture.runtime.start(spec)
        for _ in 0..<200 where !criRecords(spec.logPath).contains(where: { $0.text == "ready" }) {
            try await Task.sleep(for: .milliseconds(10))
        }
        await fixture.runtime.stop(id: spec.id, gracePeriod: .seconds(10))
        #expect(criRecords(spec.logPath).map(\.text).contains("got-quit"))
    }
}
