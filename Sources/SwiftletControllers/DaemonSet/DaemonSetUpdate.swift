import Foundation
import SwiftletClient
import SwiftletMachinery

extension DaemonSetController {
    /// `IsPodUpdated`: the pod carries the current revision's hash.
    static func isUpdated(_ pod: JSONValue, hash: String) -> Bool {
        !hash.isEmpty && pod[path: "metadata", "labels", hashLabel]?.stringValue == hash
    }

    /// `updatedDesiredNodeCounts`: how many nodes want a pod, and maxUnavailable resolved
    /// against that (percentages round up; 0 with maxSurge 0 means 1).
    static func maxUnavailable(_ ds: JSONValue, desired: Int) -> Int {
        let rolling = ds[path: "spec", "updateStrategy", "rollingUpdate"]
        let unavailable = DeploymentUtil.scaledValue(rolling?["maxUnavailable"] ?? 1, total: desired, roundUp: true)
        let surge = DeploymentUtil.scaledValue(rolling?["maxSurge"], total: desired, roundUp: true)
        return unavailable == 0 && surge == 0 ? 1 : unavailable
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

    /// `rollingUpdate` without surge: deletes old-template pods so that at most
    /// `maxUnavailable` daemon pods are unavailable; the manage step of a later sync creates
    /// their replacements from the current template. Old pods that are unavailable anyway go
    /// at once. (A maxSurge above zero is treated as zero.)
    func rollingUpdate(_ ds: JSONValue, key: ObjectKey, nodes: [JSONValue], pods: [JSONValue], hash: String) async throws {
        let template = ds[path: "spec", "template"] ?? [:]
        // `updatedDesiredNodeCounts`: a node that wants a pod and has none (its old one is still
        // terminating, or its new one not yet created) counts as unavailable.
        var byNode = Self.podsByNode(pods, includeInactive: false)
        var desired = 0
        for node in nodes where Placement.shouldRun(template, on: node).run {
            desired += 1
            let name = node[path: "metadata", "name"]?.stringValue ?? ""
            if byNode[name] == nil { byNode[name] = [] }
        }
        let maxUnavailable = Self.maxUnavailable(ds, desired: desired)
        let minReady = ds[path: "spec", "minReadySeconds"]?.intValue ?? 0
        let now = clock.now
        var numUnavailable = 0
        var allowed: [JSONValue] = []
        var candidates: [JSONValue] = []
        for node in byNode.keys.sorted() {
            guard let (new, old) = Self.updatedAndOld(byNode[node]!, hash: hash) else {
                queue.add(key)
                continue
            }
            switch (new, old) {
            case (nil, nil), (.some, .some):
                numUnavailable += 1
            case (let new?, nil):
                if !PodState.isAvailable(new, minReadySeconds: minReady, now: now) { numUnavailable += 1 }
            case (nil, let old?):
                if !PodState.isAvailable(old, minReadySeconds: minReady, now: now) {
                    allowed.append(old)
                } else if numUnavailable < maxUnavailable {
                    candidates.append(old)
                }
            }
        }
        let remaining = max(0, min(maxUnavailable - numUnavailable, candidates.count))
        let victims = allowed + candidates.prefix(remaining)
        if victims.isEmpty { return }
        try await syncNodes(ds, key: key, delete: victims, create: [], hash: hash)
    }
}
