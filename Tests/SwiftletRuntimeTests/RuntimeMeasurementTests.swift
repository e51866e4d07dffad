import Foundation
import Testing
@testable import SwiftletRuntime
import SwiftletTestSupport

/// Numbers for the report, printed as `MEASURE ...`; the bounds only catch gross regressions.
@Suite(.serialized, .blockingWork) struct RuntimeMeasurementTests {
    private static var shimPath: String { RuntimeFixture.shimPath }

    @Test func startLatencyOfShortContainers() async throws {
        let fixture = RuntimeFixture()
        defer { fixture.cleanUp() }
        let clock = ContinuousClock()
        var samples: [Duration] = []
        for run in 0..<20 {
            let spec = fixture.spec("true\(run)", ["/bin/true"])
            samples.append(try clock.measure { _ = try fixture.runtime.start(spec) })
            _ = await fixture.runtime.waitForExit(spec.id)
            fixture.runtime.remove(id: spec.id)
        }
        samples.sort()
        let milliseconds = samples.map { Double($0.components.attoseconds) / 1e15 + Double($0.components.seconds) * 1000 }
        print("MEASURE start() latency over 20 runs: median \(String(format: "%.1f", milliseconds[10])) ms, "
            + "min \(String(format: "%.1f", milliseconds.first!)) ms, max \(String(format: "%.1f", milliseconds.last!)) ms")
        #expect(milliseconds[10] < 1000)
    }

    @Test func shimResidentMemory() async throws {
        let fixture = RuntimeFixture()
        defer { fixture.cleanUp() }
        let spec = fixture.spec("rss", ["/bin/sh", "-c", "echo hello; sleep 600"])
        _ = try fixture.runtime.start(spec)
        try await Task.sleep(for: .milliseconds(200))
        let shim = try #require(ContainerBundle(directory: fixture.runtime.stateDirectory + "/" + spec.id).readStarted()?.shim)
        #expect(childrenOf(shim.pid).count == 1)
        let status = String(decoding: LinuxCalls.readFile("/proc/\(shim.pid)/status") ?? [], as: UTF8.self)
        let rssLine = try #require(status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") })
        let kilobytes = try #require(Int(rssLine.split(separator: " ").dropFirst().first ?? ""))
        // What one more shim costs: its private pages. The rest (libc, the Swift runtime) is shared by all shims.
        let rollup = String(decoding: LinuxCalls.readFile("/proc/\(shim.pid)/smaps_rollup") ?? [], as: UTF8.self)
        func kB(_ field: String) -> Int {
            rollup.split(separator: "\n").first { $0.hasPrefix(field + ":") }
                .flatMap { Int($0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") } ?? -1
        }
        print("MEASURE shim (\(Self.shimPath)): RSS \(kilobytes) kB, PSS \(kB("Pss")) kB, "
            + "private \(kB("Private_Clean") + kB("Private_Dirty")) kB, anonymous \(kB("Anonymous")) kB")
        #expect(kilobytes < 16 * 1024)
    }
}
