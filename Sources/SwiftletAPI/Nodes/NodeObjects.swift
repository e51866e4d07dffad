import Foundation
import SwiftletMachinery
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The objects every node writes, real (the node agent) or simulated, shaped as a kubelet
/// writes them so that kubectl and the controllers cannot tell the two apart: its labels, its
/// conditions and node info, and its Lease in `kube-node-lease`.
public enum NodeObjects {
    public static let kubeletVersion = "v1.34.0-swiftlet"
    public static let leaseNamespace = "kube-node-lease"
    public static let leaseDurationSeconds: Int64 = 40
    /// The kubelet's port, advertised in `status.daemonEndpoints`.
    public static let kubeletPort: Int64 = 10250

    public static func labels(hostname: String) -> JSONValue {
        [
            "beta.kubernetes.io/arch": .string(HostFacts.goArchitecture), "beta.kubernetes.io/os": "linux",
            "kubernetes.io/arch": .string(HostFacts.goArchitecture), "kubernetes.io/hostname": .string(hostname),
            "kubernetes.io/os": "linux",
        ]
    }

    /// The four conditions a healthy kubelet reports, or Ready=False with `notReadyMessage`.
    public static func conditions(now: Date, readySince: Date, notReadyMessage: String? = nil) -> JSONValue {
        let heartbeat = JSONValue.string(RFC3339.string(from: now))
        let since = JSONValue.string(RFC3339.string(from: readySince))
        func condition(_ type: String, _ status: String, _ reason: String, _ message: String) -> JSONValue {
            ["type": .string(type), "status": .string(status), "lastHeartbeatTime": heartbeat,
             "lastTransitionTime": since, "reason": .string(reason), "message": .string(message)]
        }
        let ready = notReadyMessage.map { condition("Ready", "False", "KubeletNotReady", $0) }
            ?? condition("Ready", "True", "KubeletReady", "kubelet is posting ready status")
        return [
            condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
            condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
            condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
            ready,
        ]
    }

    public static func nodeInfo(machineID: String, containerRuntimeVersion: String) -> JSONValue {
        [
            "machineID": .string(machineID), "systemUUID": .string(machineID), "bootID": .string(HostFacts.bootID),
            "kernelVersion": .string(HostFacts.kernelVersion), "osImage": .string(HostFacts.osImage),
            "containerRuntimeVersion": .string(containerRuntimeVersion), "kubeletVersion": .string(kubeletVersion),
            "kubeProxyVersion": "", "operatingSystem": "linux", "architecture": .string(HostFacts.goArchitecture),
        ]
    }

    public static func lease(node: String, nodeUID: String?, now: Date) -> JSONValue {
        var lease: JSONValue = [
            "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": ["name": .string(node), "namespace": .string(leaseNamespace)],
            "spec": ["holderIdentity": .string(node), "leaseDurationSeconds": .int(leaseDurationSeconds),
                     "renewTime": .string(RFC3339.microString(from: now))],
        ]
        if let nodeUID {
            lease[path: "metadata", "ownerReferences"] = [[
                "apiVersion": "v1", "kind": "Node", "name": .string(node), "uid": .string(nodeUID),
            ]]
        }
        return lease
    }

    /// A stable, hex machine id per name (FNV-1a), as /etc/machine-id looks.
    public static func machineID(_ name: String) -> String {
        var a: UInt64 = 0xcbf2_9ce4_8422_2325
        var b: UInt64 = 0x8422_2325_cbf2_9ce4
        for byte in name.utf8 {
            a = (a ^ UInt64(byte)) &* 0x100_0000_01b3
            b = (b ^ UInt64(byte)) &* 0x100_0000_01b3 &+ 7
        }
        return String(format: "%016llx%016llx", a, b)
    }
}

/// Facts about the machine this process runs on, read once.
public enum HostFacts {
    public static let kernelVersion: String = {
        var info = utsname()
        guard uname(&info) == 0 else { return "unknown" }
        return withUnsafeBytes(of: &info.release) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
    }()

    /// `amd64`/`arm64`, as Go names architectures in node labels.
    public static let goArchitecture: String = {
        #if arch(x86_64)
        return "amd64"
        #elseif arch(arm64)
        return "arm64"
        #else
        return "unknown"
        #endif
    }()

    public static let osImage: String = {
        guard let text = try? String(contentsOfFile: "/etc/os-release", encoding: .utf8) else { return "Linux" }
        for line in text.split(separator: "\n") where line.hasPrefix("PRETTY_NAME=") {
            return String(line.dropFirst("PRETTY_NAME=".count)).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        }
        return "Linux"
    }()

    public static let bootID: String = {
        (try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
    }()

}
