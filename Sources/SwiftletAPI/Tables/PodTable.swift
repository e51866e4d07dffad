import Foundation
import SwiftletMachinery

/// `kubectl get pods`: printPod, whose STATUS column condenses phase, init progress and the
/// most telling container state into one word.
enum PodTable {
    static let printer = TablePrinter(
        columns: [
            TableFormat.name,
            TableFormat.column("Ready", "string", "The aggregate readiness state of this pod for accepting traffic."),
            TableFormat.column("Status", "string", "The aggregate status of the containers in this pod."),
            TableFormat.column(
                "Restarts", "string",
                "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."
            ),
            TableFormat.age,
            TableFormat.column(
                "IP", "string",
                "podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.",
                priority: 1),
            TableFormat.column(
                "Node", "string",
                "NodeName indicates in which node this pod is scheduled. If empty, this pod is a candidate for scheduling by the scheduler defined in schedulerName. Once this field is set, the kubelet for this node becomes responsible for the lifecycle of this pod. This field should not be used to express a desire for the pod to be scheduled on a specific node. https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#nodename",
                priority: 1),
            TableFormat.column(
                "Nominated Node", "string",
                "nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods. This field does not guarantee that the pod will be scheduled on this node. Scheduler may decide to place the pod elsewhere if other nodes become available sooner. Scheduler may also decide to give the resources on this node to a higher priority pod that is created after preemption. As a result, this field may be different than PodSpec.nodeName when the pod is scheduled.",
                priority: 1),
            TableFormat.column(
                "Readiness Gates", "string",
                "If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when all its containers are ready AND all conditions specified in the readiness gates have status equal to \"True\" More info: https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates",
                priority: 1),
        ],
        cells: cells, conditions: conditions)

    /// Succeeded and failed pods carry a `Completed` row condition.
    static func conditions(_ pod: JSONValue) -> [JSONValue] {
        switch TableFormat.text(pod[path: "status", "phase"]) {
        case "Succeeded":
            return [
                ["type": "Completed", "status": "True", "reason": "Succeeded", "message": "The pod has completed successfully."]
            ]
        case "Failed":
            return [["type": "Completed", "status": "True", "reason": "Failed", "message": "The pod failed."]]
        default:
            return []
        }
    }

    static func cells(_ pod: JSONValue, now: Date) -> [JSONValue] {
        let spec = pod["spec"]
        let status = pod["status"]
        let phase = TableFormat.text(status?["phase"])
        var summary = summarize(spec: spec, status: status, phase: phase)

        if TableFormat.present(pod[path: "metadata", "deletionTimestamp"]) != nil {
            if TableFormat.text(status?["reason"]) == "NodeLost" {
                summary.reason = "Unknown"
            } else if phase != "Succeeded" && phase != "Failed" {
                summary.reason = "Terminating"
            }
        }

        var restarts = "\(summary.restarts)"
        if summary.restarts != 0, let last = summary.lastRestart {
            restarts += " (\(HumanDuration.string(now.timeIntervalSince(last))) ago)"
        }

        return [
            TableFormat.objectName(pod), .string("\(summary.ready)/\(summary.total)"), .string(summary.reason),
            .string(restarts), TableFormat.creationAge(pod, now: now),
            .string(orNone(podIP(status))), .string(orNone(TableFormat.text(spec?["nodeName"]))),
            .string(orNone(TableFormat.text(status?["nominatedNodeName"]))), .string(readinessGates(spec: spec, status: status)),
        ]
    }

    private struct Summary {
        var reason: String
        var ready = 0
        var total: Int
        var restarts: Int64 = 0
        var lastRestart: Date?
    }

    /// The Ready, Status and Restarts cells before deletion is considered. Init containers are
    /// read in order until the first one that has not finished; app containers are read last
    /// to first, so the first container's state wins the STATUS column.
    private static func summarize(spec: JSONValue?, status: JSONValue?, phase: String) -> Summary {
        var reason = nonEmpty(status?["reason"]) ?? phase
        let conditions = TableFormat.array(status?["conditions"])
        if conditions.contains(where: {
            TableFormat.text($0["type"]) == "PodScheduled" && TableFormat.text($0["reason"]) == "SchedulingGated"
        }) {
            reason = "SchedulingGated"
        }

        let initContainers = TableFormat.array(spec?["initContainers"])
        // Sidecars: init containers that keep running, which count as containers of the pod.
        let sidecars = initContainers.filter { TableFormat.text($0["restartPolicy"]) == "Always" }
        let sidecarNames = Set(sidecars.map { TableFormat.text($0["name"]) })
        var summary = Summary(reason: reason, total: TableFormat.array(spec?["containers"]).count + sidecars.count)

        var sidecarRestarts: Int64 = 0
        var lastSidecarRestart: Date?
        var initializing = false
        for (index, container) in TableFormat.array(status?["initContainerStatuses"]).enumerated() {
            let restartCount = TableFormat.int(container["restartCount"])
            let finishedAt = lastTerminationTime(container)
            summary.restarts += restartCount
            latest(&summary.lastRestart, finishedAt)
            let isSidecar = sidecarNames.contains(TableFormat.text(container["name"]))
            if isSidecar {
                sidecarRestarts += restartCount
                latest(&lastSidecarRestart, finishedAt)
            }

            let terminated = TableFormat.present(container[path: "state", "terminated"])
            if let terminated, TableFormat.int(terminated["exitCode"]) == 0 { continue }
            if isSidecar && container["started"]?.boolValue == true {
                if container["ready"]?.boolValue == true { summary.ready += 1 }
                continue
            }
            if let terminated {
                if let terminatedReason = nonEmpty(terminated["reason"]) {
                    summary.reason = "Init:" + terminatedReason
                } else if TableFormat.int(terminated["signal"]) != 0 {
                    summary.reason = "Init:Signal:\(TableFormat.int(terminated["signal"]))"
                } else {
                    summary.reason = "Init:ExitCode:\(TableFormat.int(terminated["exitCode"]))"
                }
            } else if let waitingReason = nonEmpty(container[path: "state", "waiting", "reason"]),
                waitingReason != "PodInitializing"
            {
                summary.reason = "Init:" + waitingReason
            } else {
                summary.reason = "Init:\(index)/\(initContainers.count)"
            }
            initializing = true
            break
        }

        let initialized = TableFormat.text(TableFormat.condition(status?["conditions"], type: "Initialized")?["status"]) == "True"
        guard !initializing || initialized else { return summary }

        // Restarts of init containers that ran to completion no longer matter once the pod runs.
        summary.restarts = sidecarRestarts
        summary.lastRestart = lastSidecarRestart
        var hasRunning = false
        var errorReason = ""
        for container in TableFormat.array(status?["containerStatuses"]).reversed() {
            summary.restarts += TableFormat.int(container["restartCount"])
            latest(&summary.lastRestart, lastTerminationTime(container))

            if let waitingReason = nonEmpty(container[path: "state", "waiting", "reason"]) {
                summary.reason = waitingReason
            } else if let terminated = TableFormat.present(container[path: "state", "terminated"]) {
                if let terminatedReason = nonEmpty(terminated["reason"]) {
                    summary.reason = terminatedReason
                } else if TableFormat.int(terminated["signal"]) != 0 {
                    summary.reason = "Signal:\(TableFormat.int(terminated["signal"]))"
                } else {
                    summary.reason = "ExitCode:\(TableFormat.int(terminated["exitCode"]))"
                }
                if TableFormat.int(terminated["exitCode"]) != 0 { errorReason = summary.reason }
            } else if container["ready"]?.boolValue == true,
                TableFormat.present(container[path: "state", "running"]) != nil
            {
                hasRunning = true
                summary.ready += 1
            }
        }

        // A pod whose containers mostly completed but one still runs is not "Completed".
        if summary.reason == "Completed" {
            let podReady = conditions.contains {
                TableFormat.text($0["type"]) == "Ready" && TableFormat.text($0["status"]) == "True"
            }
            if hasRunning && podReady {
                summary.reason = "Running"
            } else if !errorReason.isEmpty {
                summary.reason = errorReason
            } else if hasRunning {
                summary.reason = "NotReady"
            }
        }
        return summary
    }

    /// When the previous run of the container ended; nil when it never terminated.
    private static func lastTerminationTime(_ containerStatus: JSONValue) -> Date? {
        guard let terminated = TableFormat.present(containerStatus[path: "lastState", "terminated"]) else { return nil }
        return TableFormat.timestamp(terminated["finishedAt"])
    }

    private static func latest(_ current: inout Date?, _ candidate: Date?) {
        guard let candidate else { return }
        if let existing = current, existing >= candidate { return }
        current = candidate
    }

    /// The conversion from v1 makes podIP authoritative over podIPs when both are set.
    private static func podIP(_ status: JSONValue?) -> String {
        nonEmpty(status?["podIP"]) ?? TableFormat.text(status?["podIPs"]?[0]?["ip"])
    }

    private static func readinessGates(spec: JSONValue?, status: JSONValue?) -> String {
        let gates = TableFormat.array(spec?["readinessGates"])
        guard !gates.isEmpty else { return "<none>" }
        let passing = gates.filter {
            let condition = TableFormat.condition(status?["conditions"], type: TableFormat.text($0["conditionType"]))
            return TableFormat.text(condition?["status"]) == "True"
        }
        return "\(passing.count)/\(gates.count)"
    }

    private static func nonEmpty(_ value: JSONValue?) -> String? {
        guard let text = value?.stringValue, !text.isEmpty else { return nil }
        return text
    }

    private static func orNone(_ text: String) -> String { text.isEmpty ? "<none>" : text }
}
