import Foundation
import SwiftletMachinery

/// Builds `pod.status` from what the agent knows, as the kubelet's status manager reports it:
/// phase, conditions, container statuses with state and lastState, addresses and start time.
struct PodStatusBuilder {
    let hostIP: String
    let now: Date

    /// Per container, whether it is ready and started (from probes).
    struct Readiness { var ready: Bool; var started: Bool }

    func status(pod: JSONValue, record: PodRecord, readiness: [String: Readiness]) -> JSONValue {
        let old = pod["status"] ?? [:]
        let containers = pod[path: "spec", "containers"]?.arrayValue ?? []
        let initContainers = pod[path: "spec", "initContainers"]?.arrayValue ?? []
        let containerStatuses = containers.map { spec -> JSONValue in
            let name = spec["name"]?.stringValue ?? ""
            return containerStatus(spec: spec, record: record.containers[name] ?? ContainerRecord(name: name),
                                   readiness: readiness[name] ?? Readiness(ready: false, started: false),
                                   defaultWaiting: "ContainerCreating")
        }
        let initStatuses = initContainers.map { spec -> JSONValue in
            let name = spec["name"]?.stringValue ?? ""
            return containerStatus(spec: spec, record: record.initContainers[name] ?? ContainerRecord(name: name),
                                   readiness: Readiness(ready: false, started: false), defaultWaiting: "PodInitializing")
        }
        let initialized = initContainers.allSatisfy { spec in
            record.initContainers[spec["name"]?.stringValue ?? ""]?.terminated?.exitCode == 0
        }
        let phase = record.finalPhase ?? Self.phase(pod: pod, record: record, initialized: initialized)
        let containersReady = containers.allSatisfy { readiness[$0["name"]?.stringValue ?? ""]?.ready == true }
            && phase == "Running"

        var conditions: [JSONValue] = []
        let previous = old["conditions"]?.arrayValue ?? []
        func condition(_ type: String, _ value: Bool, reason: String? = nil, message: String? = nil) {
            let status = value ? "True" : "False"
            let earlier = previous.first { $0["type"]?.stringValue == type }
            let since = earlier?["status"]?.stringValue == status ? earlier?["lastTransitionTime"] : nil
            var c: JSONValue = ["type": .string(type), "status": .string(status), "lastProbeTime": nil,
                                "lastTransitionTime": since ?? .string(RFC3339.string(from: now))]
            if let reason { c["reason"] = .string(reason) }
            if let message { c["message"] = .string(message) }
            conditions.append(c)
        }
        let sandboxReady = record.hasNetwork && record.finalPhase == nil
        condition("PodReadyToStartContainers", sandboxReady)
        if initialized {
            condition("Initialized", true)
        } else {
            let pending = initContainers.compactMap { $0["name"]?.stringValue }
                .filter { record.initContainers[$0]?.terminated?.exitCode != 0 }
            condition("Initialized", false, reason: "ContainersNotInitialized",
                      message: "containers with incomplete status: [\(pending.joined(separator: " "))]")
        }
        let notReady = containers.compactMap { $0["name"]?.stringValue }.filter { readiness[$0]?.ready != true }
        let notReadyMessage = "containers with unready status: [\(notReady.joined(separator: " "))]"
        let terminal = phase == "Succeeded" || phase == "Failed"
        let notReadyReason = terminal ? "PodCompleted" : "ContainersNotReady"
        if containersReady {
            condition("Ready", true)
            condition("ContainersReady", true)
        } else {
            condition("Ready", false, reason: notReadyReason, message: terminal ? nil : notReadyMessage)
            condition("ContainersReady", false, reason: notReadyReason, message: terminal ? nil : notReadyMessage)
        }
        // Conditions other writers own (PodScheduled, DisruptionTarget...) are kept.
        let mine: Set<String> = ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady"]
        conditions += previous.filter { !mine.contains($0["type"]?.stringValue ?? "") }

        var status: JSONValue = [
            "phase": .string(phase),
            "conditions": .array(conditions),
            "hostIP": .string(hostIP), "hostIPs": [["ip": .string(hostIP)]],
            "startTime": .string(RFC3339.string(from: record.startTime)),
            "containerStatuses": .array(containerStatuses),
        ]
        if let ip = record.podIP {
            status["podIP"] = .string(ip)
            status["podIPs"] = [["ip": .string(ip)]]
        }
        if !initStatuses.isEmpty { status["initContainerStatuses"] = .array(initStatuses) }
        if let qos = old["qosClass"] { status["qosClass"] = qos }
        return status
    }

    private func containerStatus(spec: JSONValue, record: ContainerRecord, readiness: Readiness, defaultWaiting: String) -> JSONValue {
        var status: JSONValue = [
            "name": .string(record.name),
            "image": .string(record.image ?? spec["image"]?.stringValue ?? ""),
            "imageID": .string(record.imageID ?? ""),
            "ready": .bool(readiness.ready && record.isRunning),
            "restartCount": .int(Int64(record.restartCount)),
            "started": .bool(readiness.started && record.isRunning),
            "lastState": record.lastTermination.map { ["terminated": Self.terminated($0)] } ?? [:],
        ]
        if let terminated = record.terminated {
            status["state"] = ["terminated": Self.terminated(terminated)]
            status["containerID"] = .string(terminated.containerID)
        } else if let id = record.runtimeID, let startedAt = record.startedAt {
            status["state"] = ["running": ["startedAt": .string(RFC3339.string(from: startedAt))]]
            status["containerID"] = .string("runc://\(id)")
        } else {
            var waiting: JSONValue = ["reason": .string(record.waiting?.reason ?? defaultWaiting)]
            if let message = record.waiting?.message { waiting["message"] = .string(message) }
            status["state"] = ["waiting": waiting]
        }
        return status
    }

    static func terminated(_ t: Termination) -> JSONValue {
        var value: JSONValue = [
            "exitCode": .int(Int64(t.exitCode)), "reason": .string(t.reason),
            "finishedAt": .string(RFC3339.string(from: t.finishedAt)), "containerID": .string(t.containerID),
        ]
        value["startedAt"] = t.startedAt.map { .string(RFC3339.string(from: $0)) } ?? nil
        if let message = t.message, !message.isEmpty { value["message"] = .string(message) }
        return value
    }

    /// The kubelet's getPhase: Pending until every container has started once; Running while
    /// one runs or will be restarted; Succeeded/Failed when all have ended for good.
    static func phase(pod: JSONValue, record: PodRecord, initialized: Bool) -> String {
        let restartPolicy = pod[path: "spec", "restartPolicy"]?.stringValue ?? "Always"
        let names = (pod[path: "spec", "containers"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
        if !initialized {
            let failedInit = record.initContainers.values.contains { ($0.terminated?.exitCode ?? 0) != 0 }
            return failedInit && restartPolicy == "Never" ? "Failed" : "Pending"
        }
        var running = 0, waiting = 0, stopped = 0, succeeded = 0
        for name in names {
            guard let c = record.containers[name] else { waiting += 1; continue }
            if let t = c.terminated {
                stopped += 1
                if t.exitCode == 0 { succeeded += 1 }
            } else if c.isRunning {
                running += 1
            } else if c.lastTermination != nil {
                stopped += 1  // waiting to restart
                if c.lastTermination?.exitCode == 0 { succeeded += 1 }
            } else {
                waiting += 1
            }
        }
        if waiting > 0 { return "Pending" }
        if running > 0 { return "Running" }
        if stopped > 0 {
            if restartPolicy == "Always" { return "Running" }
            if stopped == succeeded { return "Succeeded" }
            if restartPolicy == "Never" { return "Failed" }
            return "Running"
        }
        return "Pending"
    }
}
