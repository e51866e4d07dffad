import Foundation
import Synchronization
import SwiftletAPI
import SwiftletClient
import SwiftletMachinery

extension DaemonSetController {
    /// Brings one DaemonSet's revisions, pods and status in line with its spec and the nodes,
    /// from the informer caches (`syncDaemonSet`). Throws to have the key retried with backoff.
    public func sync(_ key: ObjectKey) async throws {
        guard var ds = daemonSets.get(key) else {
            expectations.delete(key)
            return
        }
        if ds[path: "metadata", "deletionTimestamp"] != nil { return }
        ds["apiVersion"] = .string(Self.apiVersion)
        ds["kind"] = .string(Self.kind)
        let selector: LabelSelector
        do {
            selector = try LabelSelector.fromJSON(ds[path: "spec", "selector"])
        } catch {
            log("\(name): \(key) has an invalid selector: \(error)")
            return
        }
        if selector.isEverything {
            recorder.event(ds, type: .warning, reason: "SelectingAll",
                           message: "This daemon set is selecting all pods. A non-empty selector is required.")
            return
        }
        let nodeList = nodes.list()
        let (current, old) = try await constructHistory(ds, selector: selector)
        let hash = Self.revisionHash(current)

        guard expectations.satisfied(key) else {
            // Only the status: the cache is behind this controller's own writes.
            try await updateStatus(ds, nodes: nodeList, selector: selector, hash: hash, observeGeneration: false)
            return
        }
        var syncError: (any Error)?
        do {
            let claimed = try await claimPods(ds, selector: selector)
            try await manage(ds, key: key, nodes: nodeList, pods: claimed, hash: hash)
            if expectations.satisfied(key), Self.isRollingUpdate(ds) {
                // What the manage step changed is in the cache now: count from there.
                try await rollingUpdate(ds, key: key, nodes: nodeList, pods: ownedPods(ds, selector: selector), hash: hash)
            }
            try await cleanupHistory(ds, old: old, pods: claimed)
        } catch {
            syncError = error
        }
        try await updateStatus(ds, nodes: nodeList, selector: selector, hash: hash, observeGeneration: true)
        if let syncError { throw syncError }
    }

    static func isRollingUpdate(_ ds: JSONValue) -> Bool {
        (ds[path: "spec", "updateStrategy", "type"]?.stringValue ?? "RollingUpdate") == "RollingUpdate"
    }

    // MARK: Claiming

    /// The pods in the DaemonSet's namespace (terminal and terminating ones too) it controls,
    /// after adopting matching orphans and releasing owned pods that no longer match.
    func claimPods(_ ds: JSONValue, selector: LabelSelector) async throws -> [JSONValue] {
        let namespace = ds[path: "metadata", "namespace"]?.stringValue ?? ""
        return try await claim(Resources.pods, ds, selector: selector,
                               from: pods.byIndex(name: Indexer.namespace.name, value: namespace))
    }

    /// `ControllerRefManager.Claim*` for the pods and ControllerRevisions in the DaemonSet's
    /// namespace.
    func claim(_ resource: ResourceInfo, _ ds: JSONValue, selector: LabelSelector,
               from objects: [JSONValue]) async throws -> [JSONValue] {
        let manager = ControllerRefManager(client: client, owner: ds, ownerResource: Resources.daemonsets,
                                           controllerReference: controllerReference(to: ds), selector: selector)
        return try await manager.claim(resource, objects)
    }

    /// The DaemonSet's pods as the cache holds them now, without claiming.
    func ownedPods(_ ds: JSONValue, selector: LabelSelector) -> [JSONValue] {
        let namespace = ds[path: "metadata", "namespace"]?.stringValue ?? ""
        return pods.byIndex(name: Indexer.controllerUID.name, value: ds[path: "metadata", "uid"]?.stringValue ?? "")
            .filter { $0[path: "metadata", "namespace"]?.stringValue == namespace && selector.matches(PodState.labels($0)) }
    }

    func controllerReference(to ds: JSONValue) -> JSONValue {
        ["apiVersion": .string(Self.apiVersion), "kind": .string(Self.kind),
         "name": ds[path: "metadata", "name"] ?? "", "uid": ds[path: "metadata", "uid"] ?? "",
         "controller": true, "blockOwnerDeletion": true]
    }

    // MARK: Nodes and pods

    /// `getNodesToDaemonPods`: the claimed pods by the node they run on or are bound for,
    /// oldest first; terminal and terminating pods only when `includeInactive`.
    static func podsByNode(_ pods: [JSONValue], includeInactive: Bool) -> [String: [JSONValue]] {
        var result: [String: [JSONValue]] = [:]
        for pod in pods where includeInactive || PodState.isActive(pod) {
            guard let node = Placement.targetNode(of: pod) else { continue }
            result[node, default: []].append(pod)
        }
        return result.mapValues { $0.sorted(by: olderFirst) }
    }

    /// `podByCreationTimestampAndPhase`: scheduled pods first, then older first, then by name.
    static func olderFirst(_ a: JSONValue, _ b: JSONValue) -> Bool {
        let sa = !PodState.nodeName(a).isEmpty, sb = !PodState.nodeName(b).isEmpty
        if sa != sb { return sa }
        let ta = a[path: "metadata", "creationTimestamp"]?.stringValue.flatMap(RFC3339.date(from:)) ?? .distantPast
        let tb = b[path: "metadata", "creationTimestamp"]?.stringValue.flatMap(RFC3339.date(from:)) ?? .distantPast
        if ta != tb { return ta < tb }
        return a[path: "metadata", "name"]?.stringValue ?? "" < b[path: "metadata", "name"]?.stringValue ?? ""
    }

    /// `manage` + `podsShouldBeOnNode`: which nodes need a pod and which pods must go.
    static func plan(_ ds: JSONValue, nodes: [JSONValue], pods: [JSONValue], hash: String, now: Date)
        -> (create: [String], delete: [JSONValue], failed: [(pod: JSONValue, node: String)]) {
        let template = ds[path: "spec", "template"] ?? [:]
        let surge = allowsSurge(ds)
        let minReady = ds[path: "spec", "minReadySeconds"]?.intValue ?? 0
        let byNode = podsByNode(pods, includeInactive: true)
        var create: [String] = []
        var delete: [JSONValue] = []
        var failed: [(pod: JSONValue, node: String)] = []
        var known: Set<String> = []
        for node in nodes {
            let name = node[path: "metadata", "name"]?.stringValue ?? ""
            known.insert(name)
            let (shouldRun, shouldContinue) = Placement.shouldRun(template, on: node)
            let daemonPods = byNode[name] ?? []
            if shouldRun && daemonPods.isEmpty {
                create.append(name)
            } else if shouldContinue {
                var running: [JSONValue] = []
                for pod in daemonPods where pod[path: "metadata", "deletionTimestamp"] == nil {
                    switch pod[path: "status", "phase"]?.stringValue {
                    case "Failed":
                        failed.append((pod, name))
                        delete.append(pod)
                    case "Succeeded":
                        delete.append(pod)
                    default:
                        running.append(pod)
                    }
                }
                if !surge {
                    // More than one pod on a node: keep the oldest.
                    delete += running.dropFirst()
                } else if running.isEmpty {
                    // Surging: the old pod may still be terminating, the new one comes now.
                    if shouldRun { create.append(name) }
                } else {
                    delete += surgeExcess(running, hash: hash) { PodState.isAvailable($0, minReadySeconds: minReady, now: now) }
                }
            } else {
                delete += daemonPods.filter { $0[path: "metadata", "deletionTimestamp"] == nil }
            }
        }
        // `getUnscheduledPodsWithoutNode`: pods waiting for a node that is gone.
        for (node, daemonPods) in byNode where !known.contains(node) {
            delete += daemonPods.filter { PodState.nodeName($0).isEmpty && $0[path: "metadata", "deletionTimestamp"] == nil }
        }
        return (create, delete, failed)
    }

    /// With surge, a node keeps its oldest new-template and oldest old-template pod, and the
    /// old one only while it is ready and the new one not yet available; the rest go.
    static func surgeExcess(_ running: [JSONValue], hash: String, isAvailable: (JSONValue) -> Bool) -> [JSONValue] {
        var oldestNew: JSONValue?, oldestOld: JSONValue?
        var excess: [JSONValue] = []
        for pod in running {
            if isUpdated(pod, hash: hash) {
                if oldestNew == nil { oldestNew = pod } else { excess.append(pod) }
            } else {
                if oldestOld == nil { oldestOld = pod } else { excess.append(pod) }
            }
        }
        if let oldestNew, let oldestOld, !PodState.isReady(oldestOld) || isAvailable(oldestNew) {
            excess.append(oldestOld)
        }
        return excess
    }

    func manage(_ ds: JSONValue, key: ObjectKey, nodes: [JSONValue], pods: [JSONValue], hash: String) async throws {
        let (create, delete, failed) = Self.plan(ds, nodes: nodes, pods: pods, hash: hash, now: clock.now)
        for (pod, node) in failed {
            let namespace = pod[path: "metadata", "namespace"]?.stringValue ?? ""
            recorder.event(ds, type: .warning, reason: "FailedDaemonPod",
                           message: "Found failed daemon pod \(namespace)/\(pod[path: "metadata", "name"]?.stringValue ?? "") on node \(node), will try to kill it")
        }
        try await syncNodes(ds, key: key, delete: delete, create: create, hash: hash)
    }

    /// `syncNodes`: creates a pod for each node in `create` (slow start) and deletes `delete`,
    /// at most `burstReplicas` of each, under expectations.
    func syncNodes(_ ds: JSONValue, key: ObjectKey, delete: [JSONValue], create: [String], hash: String) async throws {
        let creating = Array(create.prefix(Self.burstReplicas))
        let deleting = Array(delete.prefix(Self.burstReplicas))
        expectations.expect(key, creations: creating.count, deleting: deleting.map(PodState.key))

        var errors: [any Error] = []
        if !deleting.isEmpty {
            errors += await withTaskGroup(of: (any Error)?.self) { group in
                for pod in deleting {
                    group.addTask { await self.deletePod(pod, ds: ds, key: key) }
                }
                var errors: [any Error] = []
                for await error in group { if let error { errors.append(error) } }
                return errors
            }
        }
        if !creating.isEmpty {
            let template = Self.podTemplate(for: ds, hash: hash)
            let remaining = Mutex(creating)
            let (successes, error) = await ReplicaSetController.slowStartBatch(count: creating.count, initialBatchSize: 1) {
                let node = remaining.withLock { $0.removeFirst() }
                try await self.createPod(template, on: node, ds: ds)
            }
            let skipped = creating.count - successes
            if skipped > 0 { expectations.creationObserved(key, count: skipped) }
            if let error { errors.append(error) }
        }
        if let first = errors.first { throw first }
    }

    /// `CreatePodTemplate` + `GetPodFromTemplate`: the template with the daemon tolerations,
    /// the `pod-template-generation` and `controller-revision-hash` labels, a controller
    /// reference and a generated name `<ds>-xxxxx`. `createPod` adds the node affinity.
    static func podTemplate(for ds: JSONValue, hash: String) -> JSONValue {
        let template = ds[path: "spec", "template"] ?? [:]
        var labels = template[path: "metadata", "labels"]?.objectValue ?? JSONObject()
        labels[generationLabel] = .string(String(ds[path: "metadata", "generation"]?.intValue ?? 0))
        if !hash.isEmpty { labels[hashLabel] = .string(hash) }
        var metadata: JSONValue = [
            "generateName": .string("\(ds[path: "metadata", "name"]?.stringValue ?? "")-"),
            "namespace": ds[path: "metadata", "namespace"] ?? "",
            "labels": .object(labels),
            "ownerReferences": [["apiVersion": .string(apiVersion), "kind": .string(kind),
                                 "name": ds[path: "metadata", "name"] ?? "", "uid": ds[path: "metadata", "uid"] ?? "",
                                 "controller": true, "blockOwnerDeletion": true]],
        ]
        for field in ["annotations", "finalizers"] {
            if let value = template[path: "metadata", field], !value.isNull { metadata[field] = value }
        }
        var spec = template["spec"] ?? [:]
        Placement.addDaemonTolerations(&spec)
        return ["apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec]
    }

    func createPod(_ template: JSONValue, on node: String, ds: JSONValue) async throws {
        var pod = template
        var spec = pod["spec"] ?? [:]
        Placement.bindAffinity(&spec, to: node)
        pod["spec"] = spec
        do {
            let created = try await client.create(Resources.pods, namespace: ds[path: "metadata", "namespace"]?.stringValue, pod)
            recorder.event(ds, type: .normal, reason: "SuccessfulCreate",
                           message: "Created pod: \(created[path: "metadata", "name"]?.stringValue ?? "")")
        } catch {
            if ReplicaSetController.isNamespaceTerminating(error) { return }
            recorder.event(ds, type: .warning, reason: "FailedCreate", message: "Error creating: \(error.message)")
            throw error
        }
    }

    /// Deletes one pod; a failure lowers the deletion expectation, since no event will come.
    func deletePod(_ pod: JSONValue, ds: JSONValue, key: ObjectKey) async -> (any Error)? {
        let name = pod[path: "metadata", "name"]?.stringValue ?? ""
        do {
            try await client.delete(Resources.pods, namespace: pod[path: "metadata", "namespace"]?.stringValue, name: name,
                                    options: DeleteOptions(preconditionUID: pod[path: "metadata", "uid"]?.stringValue))
            recorder.event(ds, type: .normal, reason: "SuccessfulDelete", message: "Deleted pod: \(name)")
            return nil
        } catch {
            expectations.deletionObserved(key, pod: PodState.key(pod))
            if error.code == 404 || error.code == 409 { return nil }
            recorder.event(ds, type: .warning, reason: "FailedDelete", message: "Error deleting: \(error.message)")
            return error
        }
    }
}
