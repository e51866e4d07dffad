import Foundation
import SwiftletAPI
import SwiftletClient
import SwiftletMachinery

/// The Deployment controller (upstream pkg/controller/deployment): rolls a Deployment's pod
/// template out through ReplicaSets, one per template (named `<deployment>-<pod-template-hash>`),
/// scaling them with the RollingUpdate or Recreate strategy, and reports progress in the
/// Deployment's status. Pods are the ReplicaSet controller's business; availability is read
/// from the ReplicaSets' status.
public final class DeploymentController: Controller {
    public let name = "deployment"

    let client: APIClient
    let clock: any Clock
    let log: LogSink
    let recorder: EventRecorder
    let deployments: SharedInformer
    let replicaSets: SharedInformer
    let queue: WorkQueue<ObjectKey>

    public init(context: ControllerContext) {
        client = context.client(for: "deployment-controller")
        clock = context.clock
        log = context.log
        recorder = context.recorder(component: "deployment-controller", client: client)
        deployments = context.informers.informer(for: Resources.deployments)
        replicaSets = context.informers.informer(for: Resources.replicasets)
        queue = WorkQueue(clock: context.clock)

        deployments.addIndexer(.namespace)
        replicaSets.addIndexer(.namespace)
        deployments.addEventHandler(EventHandler(
            onAdd: { [self] d in enqueue(d) },
            onUpdate: { [self] _, d in enqueue(d) },
            onDelete: { [self] d in enqueue(d) }))
        replicaSets.addEventHandler(EventHandler(
            onAdd: { [self] rs in replicaSetAdded(rs) },
            onUpdate: { [self] old, rs in replicaSetUpdated(old, rs) },
            onDelete: { [self] rs in replicaSetDeleted(rs) }))
    }

    public func run(workers: Int) async {
        let runner = ControllerRunner(name: name, queue: queue, workers: workers, log: log) { [self] key in
            try await sync(key)
        }
        await runner.run()
    }

    // MARK: Event handlers

    func enqueue(_ deployment: JSONValue) {
        if let key = ObjectKey(deployment) { queue.add(key) }
    }

    /// The Deployment a controller reference names, if it is still that object (same uid).
    func resolve(namespace: String?, _ ref: JSONValue) -> JSONValue? {
        guard ref["kind"]?.stringValue == "Deployment", let name = ref["name"]?.stringValue,
              let d = deployments.get(namespace: namespace, name: name),
              d[path: "metadata", "uid"] == ref["uid"] else { return nil }
        return d
    }

    /// Deployments whose selector matches an orphan ReplicaSet's labels: they may adopt it.
    func deploymentsSelecting(_ rs: JSONValue) -> [JSONValue] {
        let ns = rs[path: "metadata", "namespace"]?.stringValue ?? ""
        let labels = DeploymentUtil.labels(rs)
        return deployments.byIndex(name: "namespace", value: ns).filter { d in
            guard let selector = try? LabelSelector.fromJSON(d[path: "spec", "selector"]),
                  selector != .everything else { return false }
            return selector.matches(labels)
        }
    }

    func replicaSetAdded(_ rs: JSONValue) {
        if rs[path: "metadata", "deletionTimestamp"].map({ !$0.isNull }) ?? false {
            replicaSetDeleted(rs)
            return
        }
        let ns = rs[path: "metadata", "namespace"]?.stringValue
        if let ref = Indexer.controllerReference(of: rs) {
            if let d = resolve(namespace: ns, ref) { enqueue(d) }
            return
        }
        for d in deploymentsSelecting(rs) { enqueue(d) }
    }

    func replicaSetUpdated(_ old: JSONValue, _ rs: JSONValue) {
        if old[path: "metadata", "resourceVersion"] == rs[path: "metadata", "resourceVersion"] { return }
        let ns = rs[path: "metadata", "namespace"]?.stringValue
        let oldRef = Indexer.controllerReference(of: old), newRef = Indexer.controllerReference(of: rs)
        let refChanged = oldRef?["uid"] != newRef?["uid"]
        if refChanged, let oldRef, let d = resolve(namespace: ns, oldRef) { enqueue(d) }
        if let newRef {
            if let d = resolve(namespace: ns, newRef) { enqueue(d) }
            return
        }
        if refChanged || DeploymentUtil.labels(old) != DeploymentUtil.labels(rs) {
            for d in deploymentsSelecting(rs) { enqueue(d) }
        }
    }

    func replicaSetDeleted(_ rs: JSONValue) {
        guard let ref = Indexer.controllerReference(of: rs) else { return }
        if let d = resolve(namespace: rs[path: "metadata", "namespace"]?.stringValue, ref) { enqueue(d) }
    }

    // MARK: Sync

    /// syncDeployment: reads the Deployment and its ReplicaSets from the caches and acts.
    func sync(_ key: ObjectKey) async throws {
        guard var d = deployments.get(key) else { return }
        let selectorJSON = d[path: "spec", "selector"]
        guard let selector = try? LabelSelector.fromJSON(selectorJSON) else { return }
        if selector == .everything {
            recorder.event(d, type: .warning, reason: "SelectingAll",
                           message: "This deployment is selecting all pods. A non-empty selector is required.")
            let generation = d[path: "metadata", "generation"]?.intValue ?? 0
            if (d[path: "status", "observedGeneration"]?.intValue ?? 0) < generation {
                var status = d["status"] ?? [:]
                status["observedGeneration"] = .int(generation)
                try await writeStatus(&d, status)
            }
            return
        }

        let rsList = try await claimReplicaSets(&d, selector: selector)

        if d[path: "metadata", "deletionTimestamp"].map({ !$0.isNull }) ?? false {
            let (newRS, oldRSs) = try await allReplicaSetsAndSyncRevision(&d, rsList, create: false)
            try await syncDeploymentStatus(&d, oldRSs + [newRS].compactMap { $0 }, newRS)
            return
        }

        try await checkPausedConditions(&d)
        if d[path: "spec", "paused"]?.boolValue == true {
            try await syncScaling(&d, rsList)
            return
        }
        if try await isScalingEvent(&d, rsList) {
            try await syncScaling(&d, rsList)
            return
        }
        if DeploymentUtil.isRollingUpdate(d) {
            try await rolloutRolling(&d, rsList)
        } else {
            try await rolloutRecreate(&d, rsList)
        }
    }

    // MARK: Owning ReplicaSets

    /// getReplicaSetsForDeployment with ClaimReplicaSets: keeps the ReplicaSets this Deployment
    /// controls and that its selector still matches, releases the others, adopts matching orphans.
    func claimReplicaSets(_ d: inout JSONValue, selector: LabelSelector) async throws -> [ReplicaSetView] {
        let ns = d[path: "metadata", "namespace"]?.stringValue ?? ""
        let uid = d[path: "metadata", "uid"]?.stringValue ?? ""
        let deleting = d[path: "metadata", "deletionTimestamp"].map { !$0.isNull } ?? false
        var claimed: [ReplicaSetView] = []
        var canAdopt: Bool?
        for rs in replicaSets.byIndex(name: "namespace", value: ns) {
            let view = ReplicaSetView(object: rs)
            let matches = selector.matches(DeploymentUtil.labels(rs))
            if let ref = Indexer.controllerReference(of: rs) {
                guard ref["uid"]?.stringValue == uid else { continue }
                if matches {
                    claimed.append(view)
                } else if !deleting && !view.deleting {
                    try await release(rs, ownerUID: uid)
                }
                continue
            }
            guard matches, !deleting, !view.deleting else { continue }
            if canAdopt == nil {
                // Recheck with a live read that this is still the Deployment the cache shows.
                let fresh = try? await client.get(Resources.deployments, namespace: ns, name: d[path: "metadata", "name"]?.stringValue ?? "")
                canAdopt = fresh?[path: "metadata", "uid"]?.stringValue == uid
                    && !(fresh?[path: "metadata", "deletionTimestamp"].map { !$0.isNull } ?? false)
            }
            guard canAdopt == true else { continue }
            if let adopted = try await adopt(rs, by: d) { claimed.append(ReplicaSetView(object: adopted)) }
        }
        return claimed
    }

    static func controllerRef(_ d: JSONValue) -> JSONValue {
        ["apiVersion": "apps/v1", "kind": "Deployment", "name": d[path: "metadata", "name"] ?? "",
         "uid": d[path: "metadata", "uid"] ?? "", "controller": true, "blockOwnerDeletion": true]
    }

    /// Adds the Deployment's controller reference to an orphan, on the version the cache
    /// showed: a stale view is a conflict, retried once the cache has caught up.
    func adopt(_ rs: JSONValue, by d: JSONValue) async throws -> JSONValue? {
        let refs = (rs[path: "metadata", "ownerReferences"]?.arrayValue ?? []) + [Self.controllerRef(d)]
        let patch: JSONValue = ["metadata": [
            "resourceVersion": rs[path: "metadata", "resourceVersion"] ?? "", "ownerReferences": .array(refs),
        ]]
        do {
            return try await client.patch(Resources.replicasets, namespace: rs[path: "metadata", "namespace"]?.stringValue,
                                          name: rs[path: "metadata", "name"]?.stringValue ?? "", .merge(patch))
        } catch {
            if error.isNotFound { return nil }
            throw error
        }
    }

    func release(_ rs: JSONValue, ownerUID: String) async throws {
        let refs = (rs[path: "metadata", "ownerReferences"]?.arrayValue ?? []).filter { $0["uid"]?.stringValue != ownerUID }
        let patch: JSONValue = [
            ["op": "test", "path": "/metadata/uid", "value": rs[path: "metadata", "uid"] ?? ""],
            ["op": "add", "path": "/metadata/ownerReferences", "value": .array(refs)],
        ]
        do {
            _ = try await client.patch(Resources.replicasets, namespace: rs[path: "metadata", "namespace"]?.stringValue,
                                       name: rs[path: "metadata", "name"]?.stringValue ?? "", .json(patch))
        } catch {
            if error.code == 404 || error.code == 422 { return }
            throw error
        }
    }

    // MARK: Writing

    /// Replaces the Deployment's status (status subresource) and keeps `d` current.
    func writeStatus(_ d: inout JSONValue, _ status: JSONValue) async throws {
        let patch: JSONValue = [["op": "add", "path": "/status", "value": status]]
        d = try await client.patch(Resources.deployments, namespace: d[path: "metadata", "namespace"]?.stringValue,
                                   name: d[path: "metadata", "name"]?.stringValue ?? "", .json(patch), subresource: "status")
    }

    /// SetDeploymentRevision, written as a metadata-only merge patch (a status write keeps metadata).
    func syncDeploymentRevision(_ d: inout JSONValue, _ revision: String) async throws {
        guard d[path: "metadata", "annotations", DeploymentUtil.revisionAnnotation]?.stringValue != revision else { return }
        let patch: JSONValue = ["metadata": ["annotations": [DeploymentUtil.revisionAnnotation: .string(revision)]]]
        let status = d["status"]
        d = try await client.patch(Resources.deployments, namespace: d[path: "metadata", "namespace"]?.stringValue,
                                   name: d[path: "metadata", "name"]?.stringValue ?? "", .merge(patch))
        // Keep the in-sync view of status (it may hold conditions not yet written).
        d["status"] = status
    }

    /// Scales one ReplicaSet and refreshes its replica annotations, on the version the cache
    /// showed, as upstream's update with a resourceVersion: a stale view is a conflict (409),
    /// retried once the cache has caught up. Records ScalingReplicaSet when the size changed.
    @discardableResult
    func scaleReplicaSet(_ rs: ReplicaSetView, to newScale: Int, _ d: JSONValue,
                         operation: String? = nil) async throws -> (scaled: Bool, rs: ReplicaSetView) {
        let desired = DeploymentUtil.replicas(d)
        var ann = DeploymentUtil.annotations(rs.object)
        let annotationsChanged = DeploymentUtil.setReplicasAnnotations(&ann, desired: desired, max: desired + DeploymentUtil.maxSurge(d))
        let sizeChanged = rs.specReplicas != newScale
        guard sizeChanged || annotationsChanged else { return (false, rs) }
        let annotations = JSONValue.object(JSONObject(ann.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) }))
        let patch: JSONValue = [
            "metadata": ["resourceVersion": rs.object[path: "metadata", "resourceVersion"] ?? "", "annotations": annotations],
            "spec": ["replicas": .int(Int64(newScale))],
        ]
        let updated = try await client.patch(Resources.replicasets, namespace: rs.object[path: "metadata", "namespace"]?.stringValue,
                                             name: rs.name, .merge(patch))
        if sizeChanged {
            let op = operation ?? (rs.specReplicas < newScale ? "up" : "down")
            recorder.event(d, type: .normal, reason: "ScalingReplicaSet",
                           message: "Scaled \(op) replica set \(rs.name) from \(rs.specReplicas) to \(newScale)")
        }
        return (sizeChanged, ReplicaSetView(object: updated))
    }
}
