import Foundation
import SwiftletMachinery
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The objects a simulated node writes: its Node, its Lease, and the status of a pod it "runs".
/// Shaped as a kubelet writes them, so kubectl and controllers cannot tell the difference.
enum SimulatedObjects {
    static let kubeletVersion = "v1.34.0-swiftlet"
    static let runtimeVersion = "swiftlet-sim://1.0"
    static let leaseNamespace = "kube-node-lease"
    static let leaseDurationSeconds: Int64 = 40
    static let simulatedLabel = "node.swiftlet.io/simulated"

    /// `10.42.N.` for node index `index` (0-based): N counts from 1, spilling into the second
    /// octet past 255 nodes.
    static func cidrPrefix(index: Int) -> String {
        let n = index + 1
        return "10.\(42 + n / 256).\(n % 256)."
    }

    static func node(name: String, cidrPrefix: String, now: Date) -> JSONValue {
        let cidr = cidrPrefix + "0/24"
        return [
            "apiVersion": "v1", "kind": "Node",
            "metadata": ["name": .string(name), "labels": labels(name: name),
                         "annotations": ["node.alpha.kubernetes.io/ttl": "0"]],
            "spec": ["podCIDR": .string(cidr), "podCIDRs": [.string(cidr)]],
            "status": status(name: name, nodeIP: cidrPrefix + "1", now: now, transition: now),
        ]
    }

    static func labels(name: String) -> JSONValue {
        var labels: JSONValue = [
            "beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64", "kubernetes.io/hostname": .string(name), "kubernetes.io/os": "linux",
        ]
        labels[simulatedLabel] = "true"
        return labels
    }

    static func status(name: String, nodeIP: String, now: Date, transition: Date) -> JSONValue {
        let resources: JSONValue = ["cpu": "8", "memory": "32Gi", "pods": "110", "ephemeral-storage": "100Gi"]
        return [
            "capacity": resources, "allocatable": resources,
            "conditions": conditions(now: now, transition: transition),
            "addresses": [["type": "InternalIP", "address": .string(nodeIP)], ["type": "Hostname", "address": .string(name)]],
            "daemonEndpoints": ["kubeletEndpoint": ["Port": 10250]],
            "nodeInfo": [
                "machineID": .string(machineID(name)), "systemUUID": .string(machineID(name)), "bootID": "",
                "kernelVersion": .string(Host.kernelVersion), "osImage": .string(Host.osImage),
                "containerRuntimeVersion": .string(runtimeVersion), "kubeletVersion": .string(kubeletVersion),
                "kubeProxyVersion": "", "operatingSystem": "linux", "architecture": "amd64",
            ],
        ]
    }

    static func conditions(now: Date, transition: Date) -> JSONValue {
        let heartbeat = JSONValue.string(RFC3339.string(from: now))
        let since = JSONValue.string(RFC3339.string(from: transition))
        func condition(_ type: String, _ status: String, _ reason: String, _ message: String) -> JSONValue {
            ["type": .string(type), "status": .string(status), "lastHeartbeatTime": heartbeat,
             "lastTransitionTime": since, "reason": .string(reason), "message": .string(message)]
        }
        return [
            condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
            condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
            condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
            condition("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
        ]
    }

    /// Whether the stored conditions say something other than this node's own (healthy) view.
    static func conditionsDiffer(_ stored: [JSONValue]) -> Bool {
        let own = conditions(now: .distantPast, transition: .distantPast).arrayValue ?? []
        return own.contains { mine in
            stored.first { $0["type"] == mine["type"] }?["status"] != mine["status"]
        }
    }

    /// This node's conditions over the stored ones, as a kubelet sets them: a fresh heartbeat;
    /// the transition time kept where the status is unchanged and `now` where it changes;
    /// conditions that others own kept as they are.
    static func ownConditions(over stored: [JSONValue], now: Date) -> [JSONValue] {
        var own = conditions(now: now, transition: now).arrayValue ?? []
        for i in own.indices {
            if let previous = stored.first(where: { $0["type"] == own[i]["type"] }),
               previous["status"] == own[i]["status"], let since = previous["lastTransitionTime"] {
                own[i]["lastTransitionTime"] = since
            }
        }
        let ownTypes = Set(own.compactMap { $0["type"]?.stringValue })
        return stored.filter { !ownTypes.contains($0["type"]?.stringValue ?? "") } + own
    }

    static func lease(node: String, nodeUID: String?, now: Date) -> JSONValue {
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

    /// The status of a pod whose containers all started at `now`.
    static func runningStatus(of pod: JSONValue, hostIP: String, podIP: String, now: Date) -> JSONValue {
        let time = JSONValue.string(RFC3339.string(from: now))
        let uid = pod[path: "metadata", "uid"]?.stringValue ?? ""
        let old = pod["status"] ?? [:]
        let scheduled = old["conditions"]?.arrayValue?.first { $0["type"]?.stringValue == "PodScheduled" }
        func condition(_ type: String) -> JSONValue {
            ["type": .string(type), "status": "True", "lastProbeTime": nil, "lastTransitionTime": time]
        }
        var scheduledCondition = condition("PodScheduled")
        if let since = scheduled?["lastTransitionTime"], scheduled?["status"]?.stringValue == "True" {
            scheduledCondition["lastTransitionTime"] = since
        }
        func containerStatus(_ container: JSONValue, state: JSONValue, running: Bool) -> JSONValue {
            let name = container["name"]?.stringValue ?? ""
            let image = container["image"]?.stringValue ?? ""
            return [
                "name": .string(name), "image": .string(image), "imageID": .string("sim://\(image)"),
                "containerID": .string("sim://\(uid)-\(name)"), "ready": .bool(running), "started": .bool(running),
                "restartCount": 0, "state": state,
            ]
        }
        var status: JSONValue = [
            "phase": "Running",
            "conditions": [condition("PodReadyToStartContainers"), condition("Initialized"), condition("Ready"),
                           condition("ContainersReady"), scheduledCondition],
            "hostIP": .string(hostIP), "hostIPs": [["ip": .string(hostIP)]],
            "podIP": .string(podIP), "podIPs": [["ip": .string(podIP)]],
            "startTime": time,
        ]
        if let qos = old["qosClass"] { status["qosClass"] = qos }
        let initContainers = pod[path: "spec", "initContainers"]?.arrayValue ?? []
        if !initContainers.isEmpty {
            status["initContainerStatuses"] = .array(initContainers.map { c in
                containerStatus(c, state: ["terminated": ["exitCode": 0, "reason": "Completed", "startedAt": time,
                                                          "finishedAt": time,
                                                          "containerID": .string("sim://\(uid)-\(c["name"]?.stringValue ?? "")")]],
                                running: false)
            })
        }
        status["containerStatuses"] = .array((pod[path: "spec", "containers"]?.arrayValue ?? []).map {
            containerStatus($0, state: ["running": ["startedAt": time]], running: true)
        })
        return status
    }

    /// A stable, hex machine id per node name (FNV-1a), as /etc/machine-id looks.
    static func machineID(_ name: String) -> String {
        var a: UInt64 = 0xcbf2_9ce4_8422_2325
        var b: UInt64 = 0x8422_2325_cbf2_9ce4
        for byte in name.utf8 {
            a = (a ^ UInt64(byte)) &* 0x100_0000_01b3
            b = (b ^ UInt64(byte)) &* 0x100_0000_01b3 &+ 7
        }
        return String(format: "%016llx%016llx", a, b)
    }
}

/// Facts about the machine the simulation runs on, read once.
enum Host {
    static let kernelVersion: String = {
        #if canImport(Glibc) || canImport(Darwin)
        var info = utsname()
        guard uname(&info) == 0 else { return "unknown" }
        return withUnsafeBytes(of: &info.release) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        #else
        return "unknown"
        #endif
    }()

    static let osImage: String = {
        guard let text = try? String(contentsOfFile: "/etc/os-release", encoding: .utf8) else { return "Linux" }
        for line in text.split(separator: "\n") where line.hasPrefix("PRETTY_NAME=") {
            return String(line.dropFirst("PRETTY_NAME=".count)).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        }
        return "Linux"
    }()
}
