import Foundation
import SwiftletAPI
import SwiftletMachinery

/// The objects a simulated node writes: its Node, its Lease, and the status of a pod it "runs".
/// Shaped as a kubelet writes them, so kubectl and controllers cannot tell the difference.
enum SimulatedObjects {
    static let runtimeVersion = "swiftlet-sim://1.0"
    static let leaseNamespace = NodeObjects.leaseNamespace
    static let leaseDurationSeconds = NodeObjects.leaseDurationSeconds
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
        var labels = NodeObjects.labels(hostname: name)
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
            "nodeInfo": NodeObjects.nodeInfo(machineID: NodeObjects.machineID(name), containerRuntimeVersion: runtimeVersion),
        ]
    }

    static func conditions(now: Date, transition: Date) -> JSONValue {
        NodeObjects.conditions(now: now, readySince: transition)
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
        NodeObjects.lease(node: node, nodeUID: nodeUID, now: now)
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
}
