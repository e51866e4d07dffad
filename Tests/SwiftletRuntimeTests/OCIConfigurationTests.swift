import Testing
@testable import SwiftletRuntime
import SwiftletMachinery

@Suite struct OCIConfigurationTests {
    private func spec() -> ContainerSpec {
        ContainerSpec(id: "c", args: ["/bin/true"], hostname: "web-1", rootfsLowerDirectories: ["/layers/1"],
                      networkNamespacePath: "/var/run/netns/pod-a",
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

    @Test func hostPIDAndHostIPCLeaveOutTheirNamespaces() {
        var onHost = spec()
        onHost.hostPID = true
        onHost.hostIPC = true
        #expect(namespaces(OCIConfiguration.make(onHost)).sorted() == ["mount", "network", "uts"])
    }

    @Test func confinementFollowsTheSecurityContext() {
        var plain = spec()
        var config = OCIConfiguration.make(plain)
        // Upstream: no_new_privs only for allowPrivilegeEscalation: false; no seccomp unless asked for.
        #expect(config[path: "process", "noNewPrivileges"] == false)
        #expect(config[path: "linux", "seccomp"] == nil)
        #expect(config[path: "linux", "maskedPaths"]?.arrayValue?.contains("/proc/kcore") == true)
        #expect(config[path: "linux", "readonlyPaths"]?.arrayValue?.contains("/proc/sys") == true)

        plain.noNewPrivileges = true
        plain.seccomp = .runtimeDefault
        config = OCIConfiguration.make(plain)
        #expect(config[path: "process", "noNewPrivileges"] == true)
        let seccomp = config[path: "linux", "seccomp"]
        #expect(seccomp?["defaultAction"] == "SCMP_ACT_ERRNO")
        let rules = seccomp?["syscalls"]?.arrayValue ?? []
        let allowed = Set(rules.filter { $0["action"] == "SCMP_ACT_ALLOW" && $0["args"] == nil }
            .flatMap { $0["names"]?.arrayValue?.compactMap(\.stringValue) ?? [] })
        #expect(allowed.contains("read") && allowed.contains("chroot"))
        // Without CAP_SYS_ADMIN: no unshare, no mount; clone only without new namespaces, clone3 answers ENOSYS.
        #expect(!allowed.contains("unshare") && !allowed.contains("mount") && !allowed.contains("keyctl"))
        #expect(rules.contains { $0["names"] == ["clone"] && $0[path: "args"]?.arrayValue?.first?["op"] == "SCMP_CMP_MASKED_EQ" })
        #expect(rules.contains { $0["names"] == ["clone3"] && $0["errnoRet"] == 38 })

        plain.unmaskedProc = true
        #expect(OCIConfiguration.make(plain)[path: "linux", "maskedPaths"] == nil)

        var privileged = spec()
        privileged.privileged = true
        privileged.seccomp = .runtimeDefault
        config = OCIConfiguration.make(privileged)
        #expect(config[path: "linux", "seccomp"] == nil)
        #expect(config[path: "linux", "maskedPaths"] == nil)
        #expect(config[path: "linux", "devices"]?.arrayValue?.contains { $0["path"] == "/dev/null" } == true)
        #expect(config[path: "process", "capabilities", "bounding"]?.arrayValue?.count == Capabilities.current.count)
    }

    @Test func theImagesStopSignalIsKeptWithTheBundle() {
        var quitting = spec()
        quitting.stopSignal = 3
        #expect(OCIConfiguration.make(quitting)[path: "annotations", OCIConfiguration.stopSignalAnnotation] == "3")
    }
}
