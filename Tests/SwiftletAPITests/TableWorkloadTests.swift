import Foundation
import SwiftletAPI
import SwiftletMachinery
import Testing

/// Replica sets, replication controllers, deployments, daemon sets, stateful sets and
/// controller revisions, against printers.go in Kubernetes 1.34.
@Suite struct TableWorkloadTests {
    typealias F = TableFixtures

    static func template(_ app: String, image: String) -> JSONValue {
        ["metadata": ["labels": ["app": .string(app)]], "spec": ["containers": [["name": "web", "image": .string(image)]]]]
    }

    @Test func replicaSet() {
        let rs: JSONValue = [
            "apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": F.metadata("whoami-web", age: 300),
            "spec": [
                "replicas": 3, "selector": ["matchLabels": ["app": "whoami-web"]],
                "template": Self.template("whoami-web", image: "kiamol/ch02-whoami"),
            ],
            "status": ["replicas": 3, "readyReplicas": 2, "availableReplicas": 2],
        ]
        #expect(
            F.cells("apps", "replicasets", rs) == ["whoami-web", 3, 3, 2, "5m", "web", "kiamol/ch02-whoami", "app=whoami-web"])
        #expect(
            TableConverter.columns(group: "apps", resource: "replicasets").map(\.name)
                == ["Name", "Desired", "Current", "Ready", "Age", "Containers", "Images", "Selector"])
    }

    @Test func replicaSetWithoutStatusOrSelector() {
        let rs: JSONValue = [
            "metadata": F.metadata("empty", age: 30),
            "spec": ["replicas": 0, "selector": [:], "template": ["spec": ["containers": []]]],
        ]
        #expect(F.cells("apps", "replicasets", rs) == ["empty", 0, 0, 0, "30s", "", "", "<none>"])
    }

    @Test func replicationController() {
        let rc: JSONValue = [
            "metadata": F.metadata("legacy", age: 7200),
            "spec": [
                "replicas": 2, "selector": ["tier": "web", "app": "legacy"],
                "template": [
                    "spec": ["containers": [["name": "web", "image": "nginx:1.27"], ["name": "log", "image": "busybox"]]]
                ],
            ],
            "status": ["replicas": 2, "readyReplicas": 1],
        ]
        #expect(
            F.cells("", "replicationcontrollers", rc) == [
                "legacy", 2, 2, 1, "120m", "web,log", "nginx:1.27,busybox", "app=legacy,tier=web",
            ])
    }

    @Test func deployment() {
        let deployment: JSONValue = [
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": F.metadata("pi-web", age: 600),
            "spec": [
                "replicas": 3, "selector": ["matchLabels": ["app": "pi-web"]],
                "template": Self.template("pi-web", image: "kiamol/ch05-pi"),
            ],
            "status": ["replicas": 3, "updatedReplicas": 3, "readyReplicas": 2, "availableReplicas": 2],
        ]
        #expect(
            F.cells("apps", "deployments", deployment) == ["pi-web", "2/3", 3, 2, "10m", "web", "kiamol/ch05-pi", "app=pi-web"])
        let columns = TableConverter.columns(group: "apps", resource: "deployments")
        #expect(columns.map(\.name) == ["Name", "Ready", "Up-to-date", "Available", "Age", "Containers", "Images", "Selector"])
        #expect(columns.map(\.priority) == [0, 0, 0, 0, 0, 1, 1, 1])
    }

    /// Requirements sort by key; set values sort too; a Deployment prints a missing selector as
    /// an empty cell and a broken one as <invalid>.
    @Test func deploymentSelectors() {
        func selectorCell(_ selector: JSONValue?) -> JSONValue? {
            var deployment: JSONValue = ["metadata": F.metadata("d", age: 1), "spec": ["replicas": 1]]
            deployment[path: "spec", "selector"] = selector
            return F.cells("apps", "deployments", deployment).last
        }
        let mixed: JSONValue = [
            "matchLabels": ["tier": "web", "app": "pi"],
            "matchExpressions": [
                ["key": "env", "operator": "In", "values": ["prod", "dev"]], ["key": "canary", "operator": "DoesNotExist"],
                ["key": "zone", "operator": "NotIn", "values": ["b"]], ["key": "beta", "operator": "Exists"],
            ],
        ]
        #expect(selectorCell(mixed) == "app=pi,beta,!canary,env in (dev,prod),tier=web,zone notin (b)")
        #expect(selectorCell(nil) == "")
        #expect(selectorCell(["matchExpressions": [["key": "a", "operator": "Matches"]]]) == "<invalid>")
    }

    @Test func labelSelectorErrorsPrintAsError() {
        let rs: JSONValue = [
            "metadata": F.metadata("bad", age: 1),
            "spec": ["selector": ["matchExpressions": [["key": "a", "operator": "In", "values": []]]]],
        ]
        #expect(F.cells("apps", "replicasets", rs).last == "<error>")
    }

    @Test func daemonSet() {
        let ds: JSONValue = [
            "metadata": F.metadata("svclb-numbers", age: 3 * 86_400 + 3600),
            "spec": [
                "selector": ["matchLabels": ["app": "svclb-numbers"]],
                "template": [
                    "spec": [
                        "nodeSelector": ["kubernetes.io/os": "linux"],
                        "containers": [["name": "lb-tcp-8088", "image": "rancher/klipper-lb:v0.4.9"]],
                    ]
                ],
            ],
            "status": [
                "desiredNumberScheduled": 1, "currentNumberScheduled": 1, "numberReady": 1, "updatedNumberScheduled": 1,
                "numberAvailable": 1,
            ],
        ]
        #expect(
            F.cells("apps", "daemonsets", ds)
                == [
                    "svclb-numbers", 1, 1, 1, 1, 1, "kubernetes.io/os=linux", "3d1h", "lb-tcp-8088", "rancher/klipper-lb:v0.4.9",
                    "app=svclb-numbers",
                ])
        #expect(
            TableConverter.columns(group: "apps", resource: "daemonsets").map(\.name)
                == [
                    "Name", "Desired", "Current", "Ready", "Up-to-date", "Available", "Node Selector", "Age", "Containers",
                    "Images", "Selector",
                ])
    }

    @Test func daemonSetWithoutNodeSelector() {
        let ds: JSONValue = ["metadata": F.metadata("agent", age: 60), "spec": ["template": ["spec": ["containers": []]]]]
        #expect(F.cells("apps", "daemonsets", ds) == ["agent", 0, 0, 0, 0, 0, "<none>", "60s", "", "", "<none>"])
    }

    @Test func statefulSet() {
        let sts: JSONValue = [
            "metadata": F.metadata("todo-db", age: 45 * 86_400),
            "spec": ["replicas": 2, "template": Self.template("todo-db", image: "postgres:16")],
            "status": ["replicas": 2, "readyReplicas": 1],
        ]
        #expect(F.cells("apps", "statefulsets", sts) == ["todo-db", "1/2", "45d", "web", "postgres:16"])
        #expect(
            TableConverter.columns(group: "apps", resource: "statefulsets").map(\.name) == [
                "Name", "Ready", "Age", "Containers", "Images",
            ])
    }

    @Test func controllerRevision() {
        var metadata = F.metadata("todo-db-7d4b9c", age: 120)
        metadata["ownerReferences"] = [
            ["apiVersion": "apps/v1", "kind": "StatefulSet", "name": "todo-db", "uid": "u1", "controller": true]
        ]
        let revision: JSONValue = ["metadata": metadata, "revision": 2, "data": [:]]
        #expect(F.cells("apps", "controllerrevisions", revision) == ["todo-db-7d4b9c", "statefulset.apps/todo-db", 2, "2m"])

        let orphan: JSONValue = ["metadata": F.metadata("orphan", age: 5), "revision": 1]
        #expect(F.cells("apps", "controllerrevisions", orphan) == ["orphan", "<none>", 1, "5s"])

        var coreOwned = F.metadata("x", age: 5)
        coreOwned["ownerReferences"] = [["apiVersion": "v1", "kind": "Pod", "name": "p", "controller": true]]
        #expect(F.cells("apps", "controllerrevisions", ["metadata": coreOwned, "revision": 1])[1] == "pod/p")
    }
}
