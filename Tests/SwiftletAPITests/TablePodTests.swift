import Foundation
import SwiftletAPI
import SwiftletMachinery
import Testing

/// Expected cells follow printPod in Kubernetes 1.34 (pkg/printers/internalversion) and the
/// cases of its printers_test.go. Every row carries the wide cells: IP, Node, Nominated Node,
/// Readiness Gates.
@Suite struct TablePodTests {
    typealias F = TableFixtures

    func pod(
        _ name: String = "web-1", age: TimeInterval = 300, spec: JSONValue = ["containers": [["name": "web", "image": "nginx"]]],
        status: JSONValue, deleted: Bool = false
    ) -> JSONValue {
        var metadata = F.metadata(name, age: age)
        if deleted { metadata["deletionTimestamp"] = F.ago(5) }
        return ["apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec, "status": status]
    }

    func cells(_ pod: JSONValue) -> [JSONValue] { F.cells("", "pods", pod) }

    /// Ready, Status and Restarts: the cells the status logic decides.
    func summary(_ pod: JSONValue) -> [JSONValue] { Array(cells(pod)[1...3]) }

    static let running: JSONValue = ["running": ["startedAt": "2026-11-24T18:15:00Z"]]

    @Test func running() {
        let status: JSONValue = [
            "phase": "Running", "podIP": "10.42.0.5", "podIPs": [["ip": "10.42.0.5"]],
            "conditions": [["type": "Initialized", "status": "True"], ["type": "Ready", "status": "True"]],
            "containerStatuses": [["name": "web", "ready": true, "restartCount": 0, "state": Self.running]],
        ]
        var spec: JSONValue = ["containers": [["name": "web", "image": "nginx"]]]
        spec["nodeName"] = "swiftlet-node"
        #expect(
            cells(pod(spec: spec, status: status))
                == ["web-1", "1/1", "Running", "0", "5m", "10.42.0.5", "swiftlet-node", "<none>", "<none>"])
    }

    @Test func pendingWithoutStatuses() {
        let status: JSONValue = [
            "phase": "Pending",
            "conditions": [["type": "PodScheduled", "status": "False", "reason": "Unschedulable"]],
        ]
        #expect(
            cells(pod(age: 10, status: status))
                == ["web-1", "0/1", "Pending", "0", "10s", "<none>", "<none>", "<none>", "<none>"])
    }

    @Test func containerCreating() {
        let status: JSONValue = [
            "phase": "Pending",
            "containerStatuses": [
                ["name": "web", "ready": false, "restartCount": 0, "state": ["waiting": ["reason": "ContainerCreating"]]]
            ],
        ]
        #expect(summary(pod(status: status)) == ["0/1", "ContainerCreating", "0"])
    }

    @Test func crashLoopBackOffShowsWhenTheLastRestartWas() {
        let status: JSONValue = [
            "phase": "Running",
            "containerStatuses": [
                [
                    "name": "web", "ready": false, "restartCount": 5,
                    "state": ["waiting": ["reason": "CrashLoopBackOff", "message": "back-off 2m40s"]],
                    "lastState": ["terminated": ["exitCode": 1, "reason": "Error", "finishedAt": F.ago(300)]],
                ]
            ],
        ]
        #expect(summary(pod(age: 900, status: status)) == ["0/1", "CrashLoopBackOff", "5 (5m ago)"])
    }

    @Test(arguments: ["ErrImagePull", "ImagePullBackOff", "CreateContainerConfigError"])
    func waitingReasons(reason: String) {
        let status: JSONValue = [
            "phase": "Pending",
            "containerStatuses": [
                ["name": "web", "ready": false, "restartCount": 0, "state": ["waiting": ["reason": .string(reason)]]]
            ],
        ]
        #expect(summary(pod(status: status)) == ["0/1", .string(reason), "0"])
    }

    @Test func terminating() {
        let status: JSONValue = [
            "phase": "Running",
            "conditions": [["type": "Ready", "status": "True"]],
            "containerStatuses": [["name": "web", "ready": true, "restartCount": 0, "state": Self.running]],
        ]
        #expect(summary(pod(status: status, deleted: true)) == ["1/1", "Terminating", "0"])
    }

    @Test func deletedPodOnALostNodeIsUnknown() {
        let status: JSONValue = [
            "phase": "Running", "reason": "NodeLost",
            "containerStatuses": [["name": "web", "ready": true, "restartCount": 0, "state": Self.running]],
        ]
        #expect(summary(pod(status: status, deleted: true)) == ["1/1", "Unknown", "0"])
    }

    @Test func completedPodKeepsItsStatusWhenDeleted() {
        let status: JSONValue = [
            "phase": "Succeeded",
            "containerStatuses": [
                [
                    "name": "job", "ready": false, "restartCount": 0,
                    "state": ["terminated": ["exitCode": 0, "reason": "Completed"]],
                ]
            ],
        ]
        #expect(summary(pod(status: status)) == ["0/1", "Completed", "0"])
        #expect(summary(pod(status: status, deleted: true)) == ["0/1", "Completed", "0"])
    }

    @Test func terminatedWithoutReason() {
        let signal: JSONValue = [
            "phase": "Failed",
            "containerStatuses": [["name": "web", "restartCount": 0, "state": ["terminated": ["exitCode": 137, "signal": 9]]]],
        ]
        let exitCode: JSONValue = [
            "phase": "Failed",
            "containerStatuses": [["name": "web", "restartCount": 0, "state": ["terminated": ["exitCode": 2]]]],
        ]
        #expect(summary(pod(status: signal)) == ["0/1", "Signal:9", "0"])
        #expect(summary(pod(status: exitCode)) == ["0/1", "ExitCode:2", "0"])
    }

    @Test func completedContainerBesideARunningOne() {
        let spec: JSONValue = ["containers": [["name": "setup"], ["name": "web"]]]
        var status: JSONValue = [
            "phase": "Running",
            "containerStatuses": [
                [
                    "name": "setup", "ready": false, "restartCount": 0,
                    "state": ["terminated": ["exitCode": 0, "reason": "Completed"]],
                ],
                ["name": "web", "ready": true, "restartCount": 0, "state": Self.running],
            ],
        ]
        #expect(summary(pod(spec: spec, status: status)) == ["1/2", "NotReady", "0"])
        status["conditions"] = [["type": "Ready", "status": "True"]]
        #expect(summary(pod(spec: spec, status: status)) == ["1/2", "Running", "0"])
    }

    @Test func initContainerProgress() {
        let spec: JSONValue = ["initContainers": [["name": "migrate"], ["name": "seed"]], "containers": [["name": "web"]]]
        let status: JSONValue = [
            "phase": "Pending",
            "conditions": [["type": "Initialized", "status": "False"]],
            "initContainerStatuses": [
                [
                    "name": "migrate", "ready": false, "restartCount": 0,
                    "state": ["terminated": ["exitCode": 0, "reason": "Completed"]],
                ],
                ["name": "seed", "ready": false, "restartCount": 0, "state": Self.running],
            ],
            "containerStatuses": [
                ["name": "web", "ready": false, "restartCount": 0, "state": ["waiting": ["reason": "PodInitializing"]]]
            ],
        ]
        #expect(summary(pod(spec: spec, status: status)) == ["0/1", "Init:1/2", "0"])
    }

    /// printers_test.go "test7": restarts of a running init container, and when it last restarted.
    @Test func restartingInitContainer() {
        let spec: JSONValue = ["initContainers": [[:]], "containers": [[:]]]
        let status: JSONValue = [
            "phase": "podPhase",
            "initContainerStatuses": [
                [
                    "ready": false, "restartCount": 3, "state": ["running": [:]],
                    "lastState": ["terminated": ["finishedAt": F.ago(10)]],
                ]
            ],
            "containerStatuses": [["ready": false, "restartCount": 0, "state": ["waiting": [:]]]],
        ]
        #expect(summary(pod(spec: spec, status: status)) == ["0/1", "Init:0/1", "3 (10s ago)"])
    }

    @Test func failingInitContainers() {
        let spec: JSONValue = ["initContainers": [["name": "migrate"]], "containers": [["name": "web"]]]
        func status(_ state: JSONValue) -> JSONValue {
            ["phase": "Pending", "initContainerStatuses": [["name": "migrate", "restartCount": 2, "state": state]]]
        }
        #expect(
            summary(pod(spec: spec, status: status(["waiting": ["reason": "CrashLoopBackOff"]]))) == [
                "0/1", "Init:CrashLoopBackOff", "2",
            ])
        #expect(
            summary(pod(spec: spec, status: status(["terminated": ["exitCode": 1, "reason": "Error"]]))) == [
                "0/1", "Init:Error", "2",
            ])
        #expect(summary(pod(spec: spec, status: status(["terminated": ["exitCode": 3]]))) == ["0/1", "Init:ExitCode:3", "2"])
        #expect(
            summary(pod(spec: spec, status: status(["terminated": ["exitCode": 137, "signal": 9]]))) == [
                "0/1", "Init:Signal:9", "2",
            ])
        #expect(summary(pod(spec: spec, status: status(["waiting": ["reason": "PodInitializing"]]))) == ["0/1", "Init:0/1", "2"])
    }

    /// A restartable init container counts toward READY; its restarts stay counted once the
    /// pod runs, unlike those of ordinary init containers.
    @Test func sidecarContainers() {
        let spec: JSONValue = [
            "initContainers": [["name": "setup"], ["name": "proxy", "restartPolicy": "Always"]],
            "containers": [["name": "web"]],
        ]
        let status: JSONValue = [
            "phase": "Running",
            "conditions": [["type": "Initialized", "status": "True"], ["type": "Ready", "status": "True"]],
            "initContainerStatuses": [
                [
                    "name": "setup", "ready": false, "restartCount": 4,
                    "state": ["terminated": ["exitCode": 0, "reason": "Completed"]],
                ],
                [
                    "name": "proxy", "ready": true, "started": true, "restartCount": 1, "state": Self.running,
                    "lastState": ["terminated": ["exitCode": 1, "finishedAt": F.ago(125)]],
                ],
            ],
            "containerStatuses": [["name": "web", "ready": true, "restartCount": 0, "state": Self.running]],
        ]
        #expect(summary(pod(spec: spec, status: status)) == ["2/2", "Running", "1 (2m5s ago)"])
    }

    @Test func schedulingGated() {
        let status: JSONValue = [
            "phase": "Pending",
            "conditions": [["type": "PodScheduled", "status": "False", "reason": "SchedulingGated"]],
        ]
        #expect(summary(pod(status: status)) == ["0/1", "SchedulingGated", "0"])
    }

    @Test func wideCells() {
        let spec: JSONValue = [
            "containers": [["name": "web"]],
            "readinessGates": [["conditionType": "example.com/lb"], ["conditionType": "example.com/dns"]],
        ]
        let status: JSONValue = [
            "phase": "Pending", "podIPs": [["ip": "fd00::5"], ["ip": "10.42.0.9"]], "nominatedNodeName": "node-b",
            "conditions": [["type": "example.com/lb", "status": "True"], ["type": "example.com/dns", "status": "False"]],
        ]
        #expect(Array(cells(pod(spec: spec, status: status))[5...]) == ["fd00::5", "<none>", "node-b", "1/2"])
    }

    @Test func rowConditionsMarkFinishedPods() {
        let succeeded = pod(status: ["phase": "Succeeded"])
        let row = TableConverter.row(group: "", resource: "pods", object: succeeded, now: F.now)
        #expect(
            row["conditions"]
                == [
                    [
                        "type": "Completed", "status": "True", "reason": "Succeeded",
                        "message": "The pod has completed successfully.",
                    ]
                ])
        let failed = TableConverter.row(group: "", resource: "pods", object: pod(status: ["phase": "Failed"]), now: F.now)
        #expect(failed["conditions"]?[0]?["message"] == "The pod failed.")
        let running = TableConverter.row(group: "", resource: "pods", object: pod(status: ["phase": "Running"]), now: F.now)
        #expect(running["conditions"] == nil)
    }

    @Test func missingCreationTimestampAgesAsUnknown() {
        let bare: JSONValue = ["metadata": ["name": "x"], "spec": ["containers": [[:]]], "status": ["phase": "Pending"]]
        #expect(cells(bare)[4] == "<unknown>")
    }

    @Test func columns() {
        let columns = TableConverter.columns(group: "", resource: "pods")
        #expect(
            columns.map(\.name) == [
                "Name", "Ready", "Status", "Restarts", "Age", "IP", "Node", "Nominated Node", "Readiness Gates",
            ])
        #expect(columns.map(\.priority) == [0, 0, 0, 0, 0, 1, 1, 1, 1])
        #expect(columns.map(\.type) == Array(repeating: "string", count: 9))
        #expect(columns.map(\.format) == ["name"] + Array(repeating: "", count: 8))
    }
}
