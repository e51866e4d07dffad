import Foundation
import SwiftletAPI
import SwiftletClient
import SwiftletMachinery

extension ReplicaSetController {
    /// Brings one ReplicaSet's pods and status in line with its spec, from the informer caches.
    /// Throws to have the key retried with backoff.
    public func sync(_ key: ObjectKey) async throws {
        guard var owner = owners.get(key) else {
            expectations.delete(key)
            return
        }
        if owner[path: "metadata", "deletionTimestamp"] != nil { return }
        owner["apiVersion"] = .string(kind.apiVersion)
        owner["kind"] = .string(kind.kind)
        let needsSync = expectations.satisfied(key)
        let selector: LabelSelector
        do {
            selector = try kind.selector(of: owner)
        } catch {
            // A selector the API server accepted cannot be wrong; retrying would not help.
            log("\(name): \(key) has an invalid selector: \(error)")
            return
        }

        let namespace = key.namespace ?? ""
        let active = pods.byIndex(name: Indexer.namespace.name, value: namespace).filter(PodState.isActive)
        let claimed = try await claimPods(owner, selector: selector, from: active)

        var manageError: (any Error)?
        if needsSync {
            do { try await manageReplicas(owner, key: key, pods: claimed) } catch { manageError = error }
        }

        let status = calculateStatus(owner, pods: claimed, manageError: manageError)
        let updated = try await updateStatus(owner, status)
        let minReady = updated[path: "spec", "minReadySeconds"]?.intValue ?? 0
        if manageError == nil, minReady > 0, status.ready == status.replicas, status.available != status.replicas {
            queue.addAfter(key, .seconds(minReady))
        }
        if let manageError { throw manageError }
    }

    // MARK: Claiming

    /// `ControllerRefManager.ClaimPods`: the active pods this owner controls after adopting
    /// matching orphans and releasing owned pods that no longer match.
    func claimPods(_ owner: JSONValue, selector: LabelSelector, from pods: [JSONValue]) async throws -> [JSONValue] {
        let manager = ControllerRefManager(client: client, owner: owner, ownerResource: kind.resource,
                                           controllerReference: controllerReference(to: owner), selector: selector)
        return try await manager.claim(Resources.pods, pods)
    }

    func controllerReference(to owner: JSONValue) -> JSONValue {
        ["apiVersion": .string(kind.apiVersion), "kind": .string(kind.kind),
         "name": owner[path: "metadata", "name"] ?? "", "uid": owner[path: "metadata", "uid"] ?? "",
         "controller": true, "blockOwnerDeletion": true]
    }

    // MARK: Creating and deleting

    /// `manageReplicas`: creates or deletes pods so that `pods.count` reaches `spec.replicas`.
    func manageReplicas(_ owner: JSONValue, key: ObjectKey, pods: [JSONValue]) async throws {
        let replicas = Int(owner[path: "spec", "replicas"]?.intValue ?? 1)
        let diff = pods.count - replicas
        if diff < 0 {
            let count = min(-diff, Self.burstReplicas)
            expectations.expectCreations(key, count)
            let template = podTemplate(for: owner)
            let (successes, error) = await Self.slowStartBatch(count: count, initialBatchSize: Self.slowStartInitialBatchSize) {
                try await self.createPod(template, owner: owner)
            }
            let skipped = count - successes
            if skipped > 0 {
                // The skipped creates will never be observed; lower the expectation for each.
                expectations.creationObserved(key, count: skipped)
            }
            if let error { throw error }
        } else if diff > 0 {
            let count = min(diff, Self.burstReplicas)
            let related = relatedPods(of: owner)
            let victims = Self.podsToDelete(pods, related: related, count: count, now: clock.now)
            expectations.expectDeletions(key, pods: victims.map(PodState.key))
            let errors = await withTaskGroup(of: (any Error)?.self) { group in
                for pod in victims {
                    group.addTask { await self.deletePod(pod, owner: owner, key: key) }
                }
                var errors: [any Error] = []
                for await error in group { if let error { errors.append(error) } }
                return errors
            }
            if let first = errors.first { throw first }
        }
    }

    /// Runs `body` `count` times in batches of 1, 2, 4, ... concurrent calls, stopping after the
    /// first batch with a failure, so that a quota or admission error costs one call, not
    /// hundreds. Returns how many calls succeeded, and the first error.
    static func slowStartBatch(count: Int, initialBatchSize: Int,
                               _ body: @escaping @Sendable () async throws -> Void) async -> (Int, (any Error)?) {
        var remaining = count
        var successes = 0
        var batch = min(remaining, initialBatchSize)
        while batch > 0 {
            let results = await withTaskGroup(of: (any Error)?.self) { group in
                for _ in 0..<batch {
                    group.addTask {
                        do { try await body(); return nil } catch { return error }
                    }
                }
                var errors: [any Error] = []
                for await error in group { if let error { errors.append(error) } }
                return errors
            }
            successes += batch - results.count
            if let first = results.first { return (successes, first) }
            remaining -= batch
            batch = min(2 * batch, remaining)
        }
        return (successes, nil)
    }

    /// `GetPodFromTemplate`: the template's labels, annotations, finalizers and spec, a
    /// controller reference, and a generated name `<owner>-xxxxx`.
    func podTemplate(for owner: JSONValue) -> JSONValue {
        let template = owner[path: "spec", "template"] ?? [:]
        var metadata: JSONValue = [
            "generateName": .string("\(owner[path: "metadata", "name"]?.stringValue ?? "")-"),
            "namespace": owner[path: "metadata", "namespace"] ?? "",
            "ownerReferences": [controllerReference(to: owner)],
        ]
        for field in ["labels", "annotations", "finalizers"] {
            if let value = template[path: "metadata", field], !value.isNull { metadata[field] = value }
        }
        return ["apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": template["spec"] ?? [:]]
    }

    func createPod(_ pod: JSONValue, owner: JSONValue) async throws {
        do {
            let created = try await client.create(Resources.pods, namespace: owner[path: "metadata", "namespace"]?.stringValue, pod)
            recorder.event(owner, type: .normal, reason: "SuccessfulCreate",
                           message: "Created pod: \(created[path: "metadata", "name"]?.stringValue ?? "")")
        } catch {
            if Self.isNamespaceTerminating(error) {
                // The namespace is going away; its pods will not be observed, nor needed.
                return
            }
            recorder.event(owner, type: .warning, reason: "FailedCreate", message: "Error creating: \(error.message)")
            throw error
        }
    }

    static func isNamespaceTerminating(_ error: APIError) -> Bool {
        (error.details?["causes"]?.arrayValue ?? []).contains { $0["type"]?.stringValue == "NamespaceTerminating" }
            || (error.code == 403 && error.message.contains("because it is being terminated"))
    }

    /// Deletes one pod; a failure lowers the deletion expectation, since no event will come.
    func deletePod(_ pod: JSONValue, owner: JSONValue, key: ObjectKey) async -> (any Error)? {
        let name = pod[path: "metadata", "name"]?.stringValue ?? ""
        do {
            try await client.delete(Resources.pods, namespace: pod[path: "metadata", "namespace"]?.stringValue, name: name,
                                    options: DeleteOptions(preconditionUID: pod[path: "metadata", "uid"]?.stringValue))
            recorder.event(owner, type: .normal, reason: "SuccessfulDelete", message: "Deleted pod: \(name)")
            return nil
        } catch {
            expectations.deletionObserved(key, pod: PodState.key(pod))
            // Gone already, or replaced by a namesake (the uid precondition failed): nothing to do.
            if error.code == 404 || error.code == 409 { return nil }
            recorder.event(owner, type: .warning, reason: "FailedDelete", message: "Error deleting: \(error.message)")
            return error
        }
    }

    /// `getIndirectlyRelatedPods`: the pods selected by every owner that shares this owner's
    /// controller (a Deployment's ReplicaSets), this owner's included. An owner without a
    /// controller has no related pods, so ranking by node is a Deployment-only refinement.
    func relatedPods(of owner: JSONValue) -> [JSONValue] {
        guard let parent = Indexer.controllerReference(of: owner)?["uid"]?.stringValue else { return [] }
        var seen: Set<String> = []
        var result: [JSONValue] = []
        for relative in owners.byIndex(name: Indexer.controllerUID.name, value: parent) {
            guard let selector = try? kind.selector(of: relative) else { continue }
            let namespace = relative[path: "metadata", "namespace"]?.stringValue ?? ""
            for pod in pods.byIndex(name: Indexer.namespace.name, value: namespace) where selector.matches(PodState.labels(pod)) {
                if seen.insert(PodState.key(pod)).inserted { result.append(pod) }
            }
        }
        return result
    }
}
