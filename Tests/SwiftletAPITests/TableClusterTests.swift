import Foundation
import SwiftletAPI
import SwiftletMachinery
import Testing

/// Nodes, namespaces, config maps, secrets, service accounts, events and leases, against
/// printers.go in Kubernetes 1.34.
@Suite struct TableClusterTests {
    typealias F = TableFixtures

    static let nodeInfo: JSONValue = [
        "kubeletVersion": "v1.34.1+swiftlet", "osImage": "Debian GNU/Linux 13 (trixie)", "kernelVersion": "6.12.48+deb13-amd64",
        "containerRuntimeVersion": "containerd://2.1.4",
    ]

    @Test func readyControlPlaneNode() {
        var metadata = F.metadata("swiftlet-1", age: 86_400 * 2 + 3600 * 5, namespace: nil)
        metadata["labels"] = [
            "kubernetes.io/hostname": "swiftlet-1", "node-role.kubernetes.io/master": "",
            "node-role.kubernetes.io/control-plane": "", "kubernetes.io/role": "edge",
        ]
        let node: JSONValue = [
            "apiVersion": "v1", "kind": "Node", "metadata": metadata, "spec": [:],
            "status": [
                "conditions": [["type": "MemoryPressure", "status": "False"], ["type": "Ready", "status": "True"]],
                "addresses": [
                    ["type": "Hostname", "address": "swiftlet-1"], ["type": "InternalIP", "address": "192.168.64.2"],
                ],
                "nodeInfo": Self.nodeInfo,
            ],
        ]
        #expect(
            F.cells("", "nodes", node)
                == [
                    "swiftlet-1", "Ready", "control-plane,edge,master", "2d5h", "v1.34.1+swiftlet", "192.168.64.2", "<none>",
                    "Debian GNU/Linux 13 (trixie)", "6.12.48+deb13-amd64", "containerd://2.1.4",
                ])
        #expect(
            TableConverter.columns(group: "", resource: "nodes").map(\.name)
                == [
                    "Name", "Status", "Roles", "Age", "Version", "Internal-IP", "External-IP", "OS-Image", "Kernel-Version",
                    "Container-Runtime",
                ])
    }

    @Test func nodeStatuses() {
        func node(conditions: JSONValue, unschedulable: Bool = false) -> JSONValue {
            [
                "metadata": F.metadata("n", age: 60, namespace: nil), "spec": ["unschedulable": .bool(unschedulable)],
                "status": ["conditions": conditions],
            ]
        }
        #expect(F.cells("", "nodes", node(conditions: [["type": "Ready", "status": "False"]]))[1] == "NotReady")
        #expect(F.cells("", "nodes", node(conditions: [["type": "Ready", "status": "Unknown"]]))[1] == "NotReady")
        #expect(F.cells("", "nodes", node(conditions: [], unschedulable: true))[1] == "Unknown,SchedulingDisabled")
        #expect(
            F.cells("", "nodes", node(conditions: [["type": "Ready", "status": "True"]], unschedulable: true))[1]
                == "Ready,SchedulingDisabled")
        // A bare node: no roles, no version, no addresses, nothing reported yet.
        #expect(
            Array(F.cells("", "nodes", node(conditions: []))[2...])
                == ["<none>", "60s", "", "<none>", "<none>", "<unknown>", "<unknown>", "<unknown>"])
    }

    @Test func namespace() {
        let ns: JSONValue = [
            "apiVersion": "v1", "kind": "Namespace", "metadata": F.metadata("kube-system", age: 3 * 86_400, namespace: nil),
            "spec": ["finalizers": ["kubernetes"]], "status": ["phase": "Active"],
        ]
        #expect(F.cells("", "namespaces", ns) == ["kube-system", "Active", "3d"])
        var deleting = ns
        deleting[path: "status", "phase"] = "Terminating"
        #expect(F.cells("", "namespaces", deleting)[1] == "Terminating")
    }

    @Test func configMap() {
        let cm: JSONValue = [
            "metadata": F.metadata("kube-root-ca.crt", age: 3600),
            "data": ["ca.crt": "-----BEGIN CERTIFICATE-----", "extra": "x"],
            "binaryData": ["blob": "AAEC"],
        ]
        #expect(F.cells("", "configmaps", cm) == ["kube-root-ca.crt", 3, "60m"])
        #expect(F.cells("", "configmaps", ["metadata": F.metadata("empty", age: 1)]) == ["empty", 0, "1s"])
    }

    @Test func secret() {
        let secret: JSONValue = [
            "metadata": F.metadata("db-password", age: 3600 * 5), "type": "Opaque",
            "data": ["password": "czNjcjN0", "user": "YWRtaW4="],
        ]
        #expect(F.cells("", "secrets", secret) == ["db-password", "Opaque", 2, "5h"])
        // stringData merges into data when a v1 Secret is decoded.
        let mixed: JSONValue = [
            "metadata": F.metadata("tls", age: 10), "type": "kubernetes.io/tls", "data": ["tls.crt": "Y3J0"],
            "stringData": ["tls.crt": "crt", "tls.key": "key"],
        ]
        #expect(F.cells("", "secrets", mixed) == ["tls", "kubernetes.io/tls", 2, "10s"])
        #expect(TableConverter.columns(group: "", resource: "secrets").map(\.name) == ["Name", "Type", "Data", "Age"])
    }

    @Test func serviceAccountHasNoSecretsColumn() {
        let sa: JSONValue = ["metadata": F.metadata("default", age: 86_400 * 10), "secrets": [["name": "old-token"]]]
        #expect(F.cells("", "serviceaccounts", sa) == ["default", "10d"])
        #expect(TableConverter.columns(group: "", resource: "serviceaccounts").map(\.name) == ["Name", "Age"])
    }

    @Test func coreEvent() {
        let event: JSONValue = [
            "apiVersion": "v1", "kind": "Event", "metadata": F.metadata("web-1.18a2b3c4d5e6f708", age: 300),
            "involvedObject": [
                "kind": "Pod", "namespace": "default", "name": "web-1", "fieldPath": "spec.containers{web}", "apiVersion": "v1",
            ],
            "reason": "Pulled", "message": "  Successfully pulled image \"nginx\" in 1.2s\n", "type": "Normal",
            "source": ["component": "kubelet", "host": "swiftlet-1"],
            "firstTimestamp": F.ago(300), "lastTimestamp": F.ago(125), "count": 3,
        ]
        #expect(
            F.cells("", "events", event)
                == [
                    "2m5s", "Normal", "Pulled", "pod/web-1", "spec.containers{web}", "kubelet, swiftlet-1",
                    "Successfully pulled image \"nginx\" in 1.2s", "5m", 3, "web-1.18a2b3c4d5e6f708",
                ])
        let columns = TableConverter.columns(group: "", resource: "events")
        #expect(
            columns.map(\.name)
                == ["Last Seen", "Type", "Reason", "Object", "Subobject", "Source", "Message", "First Seen", "Count", "Name"])
        #expect(columns.map(\.priority) == [0, 0, 0, 0, 1, 1, 0, 1, 1, 1])
        #expect(columns.map(\.format) == ["", "", "", "", "", "", "", "", "", "name"])
    }

    /// Events from newer recorders set only eventTime and reporting fields; count defaults to 1
    /// and a series supplies Last Seen and Count.
    @Test func eventWithEventTimeAndSeries() {
        var event: JSONValue = [
            "metadata": F.metadata("web-1.x", age: 600), "involvedObject": ["kind": "Node", "name": ""],
            "reason": "Scheduled", "message": "Successfully assigned default/web-1 to swiftlet-1", "type": "Normal",
            "eventTime": F.microAgo(600), "reportingComponent": "default-scheduler",
            "reportingInstance": "default-scheduler-swiftlet-1",
            "source": [:],
        ]
        #expect(
            F.cells("", "events", event)
                == [
                    "10m", "Normal", "Scheduled", "node", "", "default-scheduler, default-scheduler-swiftlet-1",
                    "Successfully assigned default/web-1 to swiftlet-1", "10m", 1, "web-1.x",
                ])
        event["series"] = ["count": 4, "lastObservedTime": F.microAgo(30)]
        let cells = F.cells("", "events", event)
        #expect(cells[0] == "30s")
        #expect(cells[8] == 4)

        let unknown: JSONValue = ["metadata": F.metadata("e", age: 1), "involvedObject": ["kind": "Pod", "name": "p"]]
        #expect(Array(F.cells("", "events", unknown)[0...0]) == ["<unknown>"])
        #expect(F.cells("", "events", unknown)[7] == "<unknown>")
    }

    @Test func eventsAPIEvent() {
        let event: JSONValue = [
            "apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": F.metadata("web-1.y", age: 60),
            "regarding": ["kind": "Pod", "name": "web-1", "fieldPath": "spec.containers{web}"],
            "note": "Started container web", "reason": "Started", "type": "Normal", "eventTime": nil,
            "reportingController": "kubelet", "reportingInstance": "swiftlet-1",
            "deprecatedFirstTimestamp": F.ago(60), "deprecatedLastTimestamp": F.ago(60), "deprecatedCount": 1,
        ]
        #expect(
            F.cells("events.k8s.io", "events", event)
                == [
                    "60s", "Normal", "Started", "pod/web-1", "spec.containers{web}", "kubelet, swiftlet-1",
                    "Started container web", "60s", 1, "web-1.y",
                ])
    }

    @Test func lease() {
        let lease: JSONValue = [
            "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": F.metadata("swiftlet-1", age: 86_400, namespace: "kube-node-lease"),
            "spec": ["holderIdentity": "swiftlet-1", "leaseDurationSeconds": 40, "renewTime": F.microAgo(3)],
        ]
        #expect(F.cells("coordination.k8s.io", "leases", lease) == ["swiftlet-1", "swiftlet-1", "24h"])
        #expect(F.cells("coordination.k8s.io", "leases", ["metadata": F.metadata("free", age: 5)]) == ["free", "", "5s"])
    }
}
