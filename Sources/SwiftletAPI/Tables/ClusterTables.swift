import Foundation
import SwiftletMachinery

/// Cluster plumbing: nodes, namespaces, and the leases components coordinate through.
enum ClusterTables {
    static let node = TablePrinter(
        columns: [
            TableFormat.name,
            TableFormat.column("Status", "string", "The status of the node"),
            TableFormat.column("Roles", "string", "The roles of the node"),
            TableFormat.age,
            TableFormat.column("Version", "string", "Kubelet Version reported by the node."),
            TableFormat.column("Internal-IP", "string", addressesDescription, priority: 1),
            TableFormat.column("External-IP", "string", addressesDescription, priority: 1),
            TableFormat.column(
                "OS-Image", "string", "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).",
                priority: 1),
            TableFormat.column(
                "Kernel-Version", "string", "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
                priority: 1),
            TableFormat.column(
                "Container-Runtime", "string",
                "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).", priority: 1
            ),
        ],
        cells: { node, now in
            let info = node[path: "status", "nodeInfo"]
            func orUnknown(_ key: String) -> JSONValue {
                let text = TableFormat.text(info?[key])
                return .string(text.isEmpty ? "<unknown>" : text)
            }
            return [
                TableFormat.objectName(node), .string(nodeStatus(node)), .string(roles(node)),
                TableFormat.creationAge(node, now: now),
                .string(TableFormat.text(info?["kubeletVersion"])), .string(address(node, type: "InternalIP")),
                .string(address(node, type: "ExternalIP")), orUnknown("osImage"), orUnknown("kernelVersion"),
                orUnknown("containerRuntimeVersion"),
            ]
        })

    static let namespace = TablePrinter(
        columns: [TableFormat.name, TableFormat.column("Status", "string", "The status of the namespace"), TableFormat.age],
        cells: { namespace, now in
            [
                TableFormat.objectName(namespace), .string(TableFormat.text(namespace[path: "status", "phase"])),
                TableFormat.creationAge(namespace, now: now),
            ]
        })

    static let lease = TablePrinter(
        columns: [
            TableFormat.name,
            TableFormat.column(
                "Holder", "string",
                "holderIdentity contains the identity of the holder of a current lease. If Coordinated Leader Election is used, the holder identity must be equal to the elected LeaseCandidate.metadata.name field."
            ),
            TableFormat.age,
        ],
        cells: { lease, now in
            [
                TableFormat.objectName(lease), .string(TableFormat.text(lease[path: "spec", "holderIdentity"])),
                TableFormat.creationAge(lease, now: now),
            ]
        })

    private static let addressesDescription =
        "List of addresses reachable to the node. Queried from cloud provider, if available. More info: https://kubernetes.io/docs/reference/node/node-status/#addresses Note: This field is declared as mergeable, but the merge key is not sufficiently unique, which can cause data corruption when it is merged. Callers should instead use a full-replacement patch. See https://pr.k8s.io/79391 for an example. Consumers should assume that addresses can change during the lifetime of a Node. However, there are some exceptions where this may not be possible, such as Pods that inherit a Node's address in its own status or consumers of the downward API (status.hostIP)."

    /// Only the Ready condition counts (the last one, should there be several); cordoned nodes
    /// add SchedulingDisabled.
    private static func nodeStatus(_ node: JSONValue) -> String {
        var status: [String] = []
        if let ready = TableFormat.array(node[path: "status", "conditions"]).last(where: {
            TableFormat.text($0["type"]) == "Ready"
        }) {
            status.append(TableFormat.text(ready["status"]) == "True" ? "Ready" : "NotReady")
        } else {
            status.append("Unknown")
        }
        if node[path: "spec", "unschedulable"]?.boolValue == true { status.append("SchedulingDisabled") }
        return status.joined(separator: ",")
    }

    /// From `node-role.kubernetes.io/<role>` label keys and the older `kubernetes.io/role` value.
    private static func roles(_ node: JSONValue) -> String {
        var roles = Set<String>()
        for (key, value) in node[path: "metadata", "labels"]?.objectValue ?? JSONObject() {
            if key.hasPrefix("node-role.kubernetes.io/") {
                let role = String(key.dropFirst("node-role.kubernetes.io/".count))
                if !role.isEmpty { roles.insert(role) }
            } else if key == "kubernetes.io/role", let role = value.stringValue, !role.isEmpty {
                roles.insert(role)
            }
        }
        return roles.isEmpty ? "<none>" : roles.sorted(by: TableFormat.goLess).joined(separator: ",")
    }

    private static func address(_ node: JSONValue, type: String) -> String {
        let match = TableFormat.array(node[path: "status", "addresses"]).first { TableFormat.text($0["type"]) == type }
        return match.map { TableFormat.text($0["address"]) } ?? "<none>"
    }
}
