import Foundation
import SwiftletAPI
import SwiftletClient
import SwiftletMachinery

extension ReplicaSetController {
    /// The counts and conditions a sync writes to `status`.
    struct Status: Equatable {
        var replicas: Int64
        var fullyLabeled: Int64
        var ready: Int64
        var available: Int64
        var observedGeneration: Int64
        var conditions: [JSONValue]

        init(replicas: Int64, fullyLabeled: Int64, ready: Int64, available: Int64, observedGeneration: Int64,
             conditions: [JSONValue]) {
            self.replicas = replicas
            self.fullyLabeled = fullyLabeled
            self.ready = ready
            self.available = available
            self.observedGeneration = observedGeneration
            self.conditions = conditions
        }

        /// What the object's status holds now (absent fields are zero, as in Go).
        init(of owner: JSONValue) {
            let status = owner["status"]
            func count(_ field: String) -> Int64 { status?[field]?.intValue ?? 0 }
            self.init(replicas: count("replicas"), fullyLabeled: count("fullyLabeledReplicas"), ready: count("readyReplicas"),
                      available: count("availableReplicas"), observedGeneration: count("observedGeneration"),
                      conditions: status?["conditions"]?.arrayValue ?? [])
        }

        /// The status to write: these fields over the object's current status (which may hold
        /// fields this controller does not own), zero counts omitted as Go's `omitempty` does.
        func applied(to current: JSONValue?) -> JSONValue {
            var status = current ?? [:]
            if status.objectValue == nil { status = [:] }
            status["replicas"] = .int(replicas)
            status["fullyLabeledReplicas"] = fullyLabeled == 0 ? nil : .int(fullyLabeled)
            status["readyReplicas"] = ready == 0 ? nil : .int(ready)
            status["availableReplicas"] = available == 0 ? nil : .int(available)
            status["observedGeneration"] = observedGeneration == 0 ? nil : .int(observedGeneration)
            status["conditions"] = conditions.isEmpty ? nil : .array(conditions)
            return status
        }
    }

    static let replicaFailure = "ReplicaFailure"

    /// `calculateStatus`: counts over the claimed active pods, and the ReplicaFailure
    /// condition set while creating or deleting fails and cleared once it works again.
    func calculateStatus(_ owner: JSONValue, pods: [JSONValue], manageError: (any Error)?) -> Status {
        let templateLabels = owner[path: "spec", "template", "metadata", "labels"]?.objectValue ?? JSONObject()
        var templateSet: [String: String] = [:]
        for (key, value) in templateLabels { templateSet[key] = value.stringValue ?? "" }
        let templateSelector = LabelSelector(matching: templateSet)
        let minReady = owner[path: "spec", "minReadySeconds"]?.intValue ?? 0
        let now = clock.now

        var status = Status(of: owner)
        status.replicas = Int64(pods.count)
        status.fullyLabeled = 0
        status.ready = 0
        status.available = 0
        for pod in pods {
            if templateSelector.matches(PodState.labels(pod)) { status.fullyLabeled += 1 }
            if PodState.isReady(pod) {
                status.ready += 1
                if PodState.isAvailable(pod, minReadySeconds: minReady, now: now) { status.available += 1 }
            }
        }
        status.observedGeneration = owner[path: "metadata", "generation"]?.intValue ?? status.observedGeneration

        let hasFailure = status.conditions.contains { $0["type"]?.stringValue == Self.replicaFailure }
        if let manageError, !hasFailure {
            let replicas = owner[path: "spec", "replicas"]?.intValue ?? 1
            let reason = Int64(pods.count) - replicas < 0 ? "FailedCreate" : "FailedDelete"
            let message = (manageError as? APIError)?.message ?? "\(manageError)"
            status.conditions.append([
                "type": .string(Self.replicaFailure), "status": "True",
                "lastTransitionTime": .string(RFC3339.string(from: now)),
                "reason": .string(reason), "message": .string(message),
            ])
        } else if manageError == nil, hasFailure {
            status.conditions.removeAll { $0["type"]?.stringValue == Self.replicaFailure }
        }
        return status
    }

    /// Writes the status through the `status` subresource when it differs from what the
    /// object holds; on a conflict, once more against a fresh read. Returns the object as
    /// written (or as it was, when nothing changed).
    func updateStatus(_ owner: JSONValue, _ status: Status) async throws -> JSONValue {
        if Status(of: owner) == status { return owner }
        var object = owner
        for attempt in 0..<2 {
            object["status"] = status.applied(to: object["status"])
            do {
                return try await client.update(kind.resource, object, subresource: "status")
            } catch {
                guard error.code == 409, attempt == 0 else { throw error }
                object = try await client.get(kind.resource, namespace: owner[path: "metadata", "namespace"]?.stringValue,
                                              name: owner[path: "metadata", "name"]?.stringValue ?? "")
                if Status(of: object) == status { return object }
            }
        }
        return object
    }
}
