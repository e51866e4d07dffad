import Foundation
import Testing
@testable import SwiftletRuntime
import SwiftletSpawn
import SwiftletTestSupport

@Suite(.blockingWork) struct ContainerNetworkTests {
    @Test func aContainerJoinsThePodNetworkNamespace() async throws {
        let fixture = RuntimeFixture()
        let namespace = "swltest-" + fixture.name
        defer {
            fixture.cleanUp()
            _ = try? Command.run(["/sbin/ip", "netns", "delete", namespace])
        }
        #expect(try Command.run(["/sbin/ip", "netns", "add", namespace]).status == 0)
        #expect(try Command.run(["/sbin/ip", "-n", namespace, "link", "set", "lo", "up"]).status == 0)
        #expect(try Command.run(["/sbin/ip", "-n", namespace, "addr", "add", "10.213.7.1/32", "dev", "lo"]).status == 0)

        let listAddresses = ["/bin/sh", "-c", "ip -o -4 addr show | awk '{print $2, $4}'; readlink /proc/self/ns/net"]
        var joined = fixture.spec("joined", listAddresses)
        joined.networkNamespacePath = "/var/run/netns/" + namespace
        _ = try fixture.runtime.start(joined)
        #expect(exitCode(await fixture.runtime.waitForExit(joined.id)) == 0)
        let joinedLines = criRecords(joined.logPath).map(\.text)
        #expect(joinedLines.contains("lo 10.213.7.1/32"))
        var namespaceInfo = stat()
        #expect(stat("/var/run/netns/" + namespace, &namespaceInfo) == 0)
        #expect(joinedLines.last == "net:[\(namespaceInfo.st_ino)]")

        // Without a path the container gets a namespace of its own, with only loopback (runc brings it up).
        let isolated = fixture.spec("isolated", listAddresses)
        _ = try fixture.runtime.start(isolated)
        #expect(exitCode(await fixture.runtime.waitForExit(isolated.id)) == 0)
        let isolatedLines = criRecords(isolated.logPath).map(\.text)
        #expect(isolatedLines.first == "lo 127.0.0.1/8")
        #expect(isolatedLines.count == 2)
        #expect(isolatedLines.last != "net:[\(namespaceInfo.st_ino)]")
    }
}
