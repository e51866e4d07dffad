import Testing
@testable import SwiftletRuntime
import SwiftletMachinery

@Suite struct OCIConfigurationTests {
    private func spec() -> ContainerSpec {
        ContainerSpec(id: "c", args: ["/bin/true"], hostname: "web-1", networkNamespacePath: "/var/run/netns/pod-a",
                      cgroupsPath: "/swiftlet/n/podu/c_0", logPath: "/tmp/c.log")
    }

    private func namespaces(_ config: JSONValue) -> [String] {
        (config[path: "linux", "namespaces"]?.arrayValue ?? []).compactMap { $0["type"]?.stringValue }
    }

    @Test func aPodContainerHasItsOwnUTSAndJoinsThePodsNetwork() {
        let config = OCIConfiguration.make(spec())
        #expect(namespaces(config).sorted() == ["ipc", "mount", "network", "pid", "uts"])
        let network = config[path: "linux", "namespaces"]?.arrayValue?.first { $0["type"] == "network" }
        #expect(network?["path"] == "/var/run/netns/pod-a")
        #expect(config["hostname"] == "web-1")
    }

    @Test func onTheHostNetworkItKeepsTheHostsNetworkAndHostName() {
        var onHost = spec()
        onHost.hostNetwork = true
        let config = OCIConfiguration.make(onHost)
        #expect(namespaces(config).sorted() == ["ipc", "mount", "pid"])
        #expect(config["hostname"] == nil)
    }
}
