import Foundation
import Testing
@testable import SwiftletDNS

/// glibc's stub resolver has no port setting, so the server listens on 127.0.0.153:53 and a private mount
/// namespace gives `getent` a resolv.conf like a pod's.
struct GlibcResolverTests {
    @Test(.enabled(if: getuid() == 0, "needs root for port 53 and a mount namespace"))
    func glibcResolvesThroughAPodsSearchPath() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlet-dns-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let resolvConf = directory.appendingPathComponent("resolv.conf").path
        try """
            search default.svc.cluster.local svc.cluster.local cluster.local
            nameserver 127.0.0.153
            options ndots:5 timeout:2 attempts:1
            """.write(toFile: resolvConf, atomically: true, encoding: .utf8)

        let server = ClusterDNSServer(configuration: ClusterDNSConfiguration(
            listenAddress: "127.0.0.153", reverseCIDRs: ["10.96.0.0/12", "10.42.0.0/16"]))
        server.update(sampleRecords)
        try await server.start()
        let result: CommandResult
        do {
            // getent hosts asks AAAA first, then A; ahostsv4 goes through getaddrinfo.
            result = try await run("/usr/bin/unshare", [
                "--mount", "/bin/sh", "-c",
                "mount --bind \"$0\" /etc/resolv.conf && getent hosts web && getent ahostsv4 db.data && getent hosts 10.96.0.20 "
                    + "&& getent hosts db-1.db.data && getent hosts 10-42-0-9.default.pod",
                resolvConf,
            ])
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
        #expect(result.status == 0, "\(result.output)")
        let lines = result.words.split(separator: "\n").map(String.init)
        #expect(lines.contains("10.96.0.20 web.default.svc.cluster.local"))
        #expect(lines.contains("10.42.0.10 STREAM db.data.svc.cluster.local"))
        #expect(lines.contains("10.42.0.11 STREAM"))
        #expect(lines.contains("10.42.0.12 STREAM"))
        #expect(lines.filter { $0 == "10.96.0.20 web.default.svc.cluster.local" }.count == 2)
        #expect(lines.contains("10.42.0.11 db-1.db.data.svc.cluster.local"))
        #expect(lines.contains("10.42.0.9 10-42-0-9.default.pod.cluster.local"))
    }
}
