import Foundation
import SwiftletAPI
import SwiftletClient
import SwiftletMachinery

extension DaemonSetController {
    /// The counts a sync writes to `status`.
    struct Status: Equatable {
        var desiredNumberScheduled: Int64 = 0
        var currentNumberScheduled: Int64 = 0
        var numberMisscheduled: Int64 = 0
        var numberReady: Int64 = 0
        var updatedNumberScheduled: Int64 = 0
        var numberAvailable: Int64 = 0
        var numberUnavailable: Int64 = 0
        var observedGeneration: Int64 = 0

        init() {}

        /// What the object's status holds now (absent fields are zero, as in Go).
        init(of ds: JSONValue) {
            func count(_ field: String) -> Int64 { ds[path: "status", field]?.intValue ?? 0 }
            desiredNumberScheduled = count("desiredNumberScheduled")
            currentNumberScheduled = count("currentNumberScheduled")
            numberMisscheduled = count("numberMisscheduled")
            numberReady = count("numberReady")
            updatedNumberScheduled = count("updatedNumberScheduled")
            numberAvailable = count("numberAvailable")
            numberUnavailable = count("numberUnavailable")
            observedGeneration = count("observedGeneration")
        }

        /// These fields over the current status (collisionCount and conditions kept); the
        /// optional counts omitted when zero, as Go's `omitempty` does.
        func applied(to current: JSONValue?) -> JSONValue {
            var status = current ?? [:]
            if status.objectValue == nil { status = [:] }
            status["desiredNumberScheduled"] = .int(desiredNumberScheduled)
            status["currentNumberScheduled"] = .int(currentNumberScheduled)
            status["numberMisscheduled"] = .int(numberMisscheduled)
            status["numberReady"] = .int(numberReady)
            status["updatedNumberScheduled"] = updatedNumberScheduled == 0 ? nil : .int(updatedNumberScheduled)
            status["numberAvailable"] = numberAvailable == 0 ? nil : .int(numberAvailable)
            status["numberUnavailable"] = numberUnavailable == 0 ? nil : .int(numberUnavailable)
            status["observedGeneration"] = observedGeneration == 0 ? nil : .int(observedGeneration)
            return status
        }
    }

    /// `updateDaemonSetStatus`'s counts: over the nodes that should run the pod, whether one is
    /// there (its oldest active pod counts for ready, available and updated); pods on nodes that
    /// should not run one are misscheduled.
    static func calculateStatus(_ ds: JSONValue, nodes: [JSONValue], pods: [JSONValue], hash: String,
                                observeGeneration: Bool, now: Date) -> Status {
        let template = ds[path: "spec", "template"] ?? [:]
        let minReady = ds[path: "spec", "minReadySeconds"]?.intValue ?? 0
        let byNode = podsByNode(pods, includeInactive: false)
        var status = Status()
        for node in nodes {
            let daemonPods = byNode[node[path: "metadata", "name"]?.stringValue ?? ""] ?? []
            if Placement.shouldRun(template, on: node).run {
                status.desiredNumberScheduled += 1
                guard let pod = daemonPods.first else { continue }
                status.currentNumberScheduled += 1
                if PodState.isReady(pod) {
                    status.numberReady += 1
                    if PodState.isAvailable(pod, minReadySeconds: minReady, now: now) { status.numberAvailable += 1 }
                }
                if isUpdated(pod, hash: hash) { status.updatedNumberScheduled += 1 }
            } else if !daemonPods.isEmpty {
                status.numberMisscheduled += 1
            }
        }
        status.numberUnavailable = status.desiredNumberScheduled - status.numberAvailable
        status.observedGeneration = observeGeneration
            ? ds[path: "metadata", "generation"]?.intValue ?? 0
            : Status(of: ds).observedGeneration
        return status
    }

    /// Computes and writes the status when it changed (one retry on a conflict, with a fresh
    /// read), and re-queues the DaemonSet for when ready pods become available.
    func updateStatus(_ ds: JSONValue, nodes: [JSONValue], selector: LabelSelector, hash: String,
                      observeGeneration: Bool) async throws {
        let namespace = ds[path: "metadata", "namespace"]?.stringValue ?? ""
        let status = Self.calculateStatus(ds, nodes: nodes, pods: ownedPods(ds, selector: selector), hash: hash,
                                          observeGeneration: observeGeneration, now: clock.now)
        var object = ds
        for attempt in 0..<2 {
            if Status(of: object) == status { break }
            object["status"] = status.applied(to: object["status"])
            do {
                object = try await client.update(Resources.daemonsets, object, subresource: "status")
                break
            } catch {
                guard error.code == 409, attempt == 0 else { throw error }
                object = try await client.get(Resources.daemonsets, namespace: namespace,
                                              name: ds[path: "metadata", "name"]?.stringValue ?? "")
                object["apiVersion"] = .string(Self.apiVersion)
                object["kind"] = .string(Self.kind)
            }
        }
        let minReady = ds[path: "spec", "minReadySeconds"]?.intValue ?? 0
        if minReady > 0, status.numberReady != status.numberAvailable, let key = ObjectKey(ds) {
            queue.addAfter(key, .seconds(minReady))
        }
    }
}
