import Foundation
import SwiftletClient
import SwiftletMachinery

extension DaemonSetController {
    /// `IsPodUpdated`: the pod carries the current revision's hash.
    static func isUpdated(_ pod: JSONValue, hash: String) -> Bool {
        !hash.isEmpty && pod[path: "metadata", "labels", hashLabel]?.stringValue == hash
    }

    /// `util.SurgeCount`: maxSurge resolved against the nodes that want a pod (percentages
    /// round up); 0 unless the strategy is RollingUpdate and sets it.
    static func maxSurge(_ ds: JSONValue, desired: Int) -> Int {
        guard isRollingUpdate(ds) else { return 0 }
        return DeploymentUtil.scaledValue(ds[path: "spec", "updateStrategy", "rollingUpdate", "maxSurge"], total: desired, roundUp: true)
    }

    /// `util.AllowsSurge`: whether a node may run an old and a new pod side by side.
    static func allowsSurge(_ ds: JSONValue) -> Bool { maxSurge(ds, desired: 1) != 0 }

    /// `updatedDesiredNodeCounts`: maxUnavailable resolved against the nodes that want a pod
    /// (percentages round up; 0 with maxSurge 0 means 1).
    static func maxUnavailable(_ ds: JSONValue, desired: Int) -> Int {
        let rolling = ds[path: "spec", "updateStrategy", "rollingUpdate"]
        let unavailable = DeploymentUtil.scaledValue(rolling?["maxUnavailable"] ?? 1, total: desired, roundUp: true)
        return unavailable == 0 && maxSurge(ds, desired: desired) == 0 ? 1 : unavailable
    }

    /// `findUpdatedPodsOnNode`: the node's one updated and one old active pod; nil when it
    /// has more than one of either (the manage step removes the extra first).
    static func updatedAndOld(_ pods: [JSONValue], hash: String) -> (new: JSONValue?, old: JSONValue?)? {
        var new: JSONValue?, old: JSONValue?
        for pod in pods where pod[path: "metadata", "deletionTimestamp"] == nil {
            if isUpdated(pod, hash: hash) {
                if new != nil { return nil }
                new = pod
            } else {
                if old != nil { return nil }
                old = pod
            }
        }
        return (new, old)
    }

    /// What one rolling-update step does: old pods to delete, nodes to surge a new pod onto.
    struct UpdateStep {
        var delete: [JSONValue] = []
        var create: [String] = []
    }

    /// `rollingUpdate`: one step of replacing old-template pods, from the active pods.
    func rollingUpdate(_ ds: JSONValue, key: ObjectKey, nodes: [JSONValue], pods: [JSONValue], hash: String) async throws {
        let step = Self.rollingUpdateStep(ds, nodes: nodes, pods: pods, hash: hash, now: clock.now)
        if step.delete.isEmpty && step.create.isEmpty { return }
        try await syncNodes(ds, key: key, delete: step.delete, create: step.create, hash: hash)
    }

    static func rollingUpdateStep(_ ds: JSONValue, nodes: [JSONValue], pods: [JSONValue], hash: String, now: Date) -> UpdateStep {
        let template = ds[path: "spec", "template"] ?? [:]
        // `updatedDesiredNodeCounts`: a node that wants a pod and has none (its old one is still
        // terminating, or its new one not yet created) is in the map too.
        var byNode = podsByNode(pods, includeInactive: false)
        var shouldRun: Set<String> = []
        for node in nodes where Placement.shouldRun(template, on: node).run {
            let name = node[path: "metadata", "name"]?.stringValue ?? ""
            shouldRun.insert(name)
            if byNode[name] == nil { byNode[name] = [] }
        }
        let minReady = ds[path: "spec", "minReadySeconds"]?.intValue ?? 0
        let context = UpdateContext(byNode: byNode, shouldRun: shouldRun, hash: hash,
                                    maxSurge: maxSurge(ds, desired: shouldRun.count),
                                    maxUnavailable: maxUnavailable(ds, desired: shouldRun.count)) {
            PodState.isAvailable($0, minReadySeconds: minReady, now: now)
        }
        return context.maxSurge == 0 ? context.withoutSurge() : context.withSurge()
    }

    /// The inputs of a rolling-update step; nodes are visited in name order (upstream's map
    /// order is random).
    struct UpdateContext {
        var byNode: [String: [JSONValue]]
        /// The nodes that should run the pod; a pod's node missing from the list counts as one
        /// that should not (upstream fails the step until the node cache has it).
        var shouldRun: Set<String>
        var hash: String
        var maxSurge: Int
        var maxUnavailable: Int
        var isAvailable: (JSONValue) -> Bool

        /// Without surge: deletes old pods so that at most `maxUnavailable` daemon pods are
        /// unavailable; the manage step of a later sync creates their replacements. Old pods
        /// that are unavailable anyway go at once.
        func withoutSurge() -> UpdateStep {
            var numUnavailable = 0
            var allowed: [JSONValue] = []
            var candidates: [JSONValue] = []
            for node in byNode.keys.sorted() {
                guard let (new, old) = updatedAndOld(byNode[node]!, hash: hash) else {
                    // Excess pods: the manage step cleans up; unavailable meanwhile.
                    numUnavailable += 1
                    continue
                }
                switch (new, old) {
                case (nil, nil), (.some, .some):
                    numUnavailable += 1
                case (let new?, nil):
                    if !isAvailable(new) { numUnavailable += 1 }
                case (nil, let old?):
                    if !isAvailable(old) {
                        allowed.append(old)
                    } else if numUnavailable < maxUnavailable {
                        candidates.append(old)
                    }
                }
            }
            let remaining = max(0, min(maxUnavailable - numUnavailable, candidates.count))
            return UpdateStep(delete: allowed + candidates.prefix(remaining))
        }

        /// With surge: a new pod is created next to an old one, on at most `maxSurge` nodes at
        /// once (a node whose old pod is unavailable anyway does not count), and the old pod
        /// is deleted once the new one is available. On nodes that should no longer run the
        /// pod, available old pods go only while enough pods elsewhere are available.
        func withSurge() -> UpdateStep {
            var step = UpdateStep()
            var shouldNotRunToDelete: [JSONValue] = []
            var candidateNodes: [String] = []
            var numSurge = 0
            var numAvailable = 0
            for node in byNode.keys.sorted() {
                guard let (new, old) = updatedAndOld(byNode[node]!, hash: hash) else {
                    // Excess pods: the manage step cleans up; a surge node meanwhile.
                    numSurge += 1
                    continue
                }
                if let pod = old ?? new, isAvailable(pod) { numAvailable += 1 }
                switch (new, old) {
                case (_, nil):
                    continue  // nothing to replace; the manage step creates a missing pod
                case (nil, let old?):
                    if !isAvailable(old) {
                        if shouldRun.contains(node) {
                            step.create.append(node)
                        } else {
                            step.delete.append(old)
                        }
                    } else if !shouldRun.contains(node) {
                        shouldNotRunToDelete.append(old)
                    } else if numSurge < maxSurge {
                        candidateNodes.append(node)
                    }
                case (let new?, let old?):
                    if isAvailable(new) {
                        step.delete.append(old)
                    } else {
                        numSurge += 1  // waiting for the new pod to become available
                    }
                }
            }
            // With surge the owner expects every node served: a pod on a node that no longer
            // qualifies goes only once as many pods as are wanted are available elsewhere.
            let deletable = min(max(0, numAvailable - shouldRun.count), shouldNotRunToDelete.count)
            step.delete += shouldNotRunToDelete.prefix(deletable)
            let remainingSurge = max(0, min(maxSurge - numSurge, candidateNodes.count))
            step.create += candidateNodes.prefix(remainingSurge)
            return step
        }
    }
}
