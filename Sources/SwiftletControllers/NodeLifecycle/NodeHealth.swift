import Foundation
import SwiftletAPI
import SwiftletClient
import SwiftletMachinery

extension NodeLifecycleController {
    /// `monitorNodeHealth`: one pass over every cached node. A node that fails is logged and
    /// tried again on the next pass.
    func monitorNodeHealth() async {
        for node in nodes.list() {
            guard let name = node[path: "metadata", "name"]?.stringValue else { continue }
            do {
                try await monitor(node)
            } catch {
                log("\(self.name): checking node \(name) failed: \(error)")
            }
        }
    }

    /// Checks one node: conditions to Unknown when it has gone quiet, the NoExecute taint that
    /// matches its Ready condition, and its pods not Ready while it is not Ready.
    func monitor(_ cached: JSONValue) async throws(APIError) {
        guard let name = cached[path: "metadata", "name"]?.stringValue else { return }
        var node = cached
        let (probe, previousReady) = observe(node)
        let grace = Self.readyCondition(node) == nil ? Self.startupGracePeriod : gracePeriod
        if clock.elapsed > probe + grace {
            node = try await markUnknown(node)
        }

        let ready = Self.readyCondition(node)?["status"]?.stringValue ?? "Unknown"
        health.withLock { $0[name]?.readyStatus = ready }
        if previousReady == "True" && ready != "True" {
            nodeRecorder.event(Self.typed(node, kind: "Node"), type: .normal, reason: "NodeNotReady", message: "Node \(name) status is now: NodeNotReady")
        } else if previousReady != nil && previousReady != "True" && ready == "True" {
            nodeRecorder.event(Self.typed(node, kind: "Node"), type: .normal, reason: "NodeReady", message: "Node \(name) status is now: NodeReady")
        }

        try await reconcileTaints(node, ready: ready)
        if ready != "True" { try await markPodsNotReady(on: name) }
    }

    /// `tryUpdateNodeHealth`'s bookkeeping: notes a new Ready heartbeat or a newer lease
    /// renewal as "seen now". Returns the time the node was last seen and the Ready status
    /// seen at the previous check.
    func observe(_ node: JSONValue) -> (probe: Duration, previousReady: String?) {
        let name = node[path: "metadata", "name"]?.stringValue ?? ""
        let heartbeat = Self.readyCondition(node)?["lastHeartbeatTime"]
        let renewTime = leases.get(namespace: Self.leaseNamespace, name: name)?[path: "spec", "renewTime"]?.stringValue
            .flatMap(RFC3339.date(from:))
        let now = clock.elapsed
        return health.withLock { all in
            guard var record = all[name] else {
                // First sight (or a restart): the node gets a full grace period.
                all[name] = Health(probe: now, readyHeartbeat: heartbeat, leaseRenewTime: renewTime, readyStatus: nil)
                return (now, nil)
            }
            if record.readyHeartbeat != heartbeat {
                record.readyHeartbeat = heartbeat
                record.probe = now
            }
            if let renewTime, record.leaseRenewTime.map({ $0 < renewTime }) ?? true {
                record.leaseRenewTime = renewTime
                record.probe = now
            }
            all[name] = record
            return (record.probe, record.readyStatus)
        }
    }

    /// Sets every kubelet condition that is not already Unknown to Unknown (adding the ones
    /// never posted), through the status subresource. Returns the node as written.
    func markUnknown(_ cached: JSONValue) async throws(APIError) -> JSONValue {
        var node = cached
        for attempt in 0..<3 {
            guard let updated = Self.withUnknownConditions(node, now: clock.now) else { return node }
            do {
                return try await client.update(Resources.nodes, updated, subresource: "status")
            } catch {
                guard error.code == 409, attempt < 2 else { throw error }
            }
            node = try await client.get(Resources.nodes, name: node[path: "metadata", "name"]?.stringValue ?? "")
        }
        return node
    }

    /// The node with its kubelet conditions Unknown, or nil when they all are already.
    static func withUnknownConditions(_ node: JSONValue, now: Date) -> JSONValue? {
        let time = JSONValue.string(RFC3339.string(from: now))
        var conditions = node[path: "status", "conditions"]?.arrayValue ?? []
        var changed = false
        for type in watchedConditions {
            if let index = conditions.firstIndex(where: { $0["type"]?.stringValue == type }) {
                guard conditions[index]["status"]?.stringValue != "Unknown" else { continue }
                conditions[index]["status"] = "Unknown"
                conditions[index]["reason"] = "NodeStatusUnknown"
                conditions[index]["message"] = "Kubelet stopped posting node status."
                conditions[index]["lastTransitionTime"] = time
            } else {
                conditions.append([
                    "type": .string(type), "status": "Unknown", "reason": "NodeStatusNeverUpdated",
                    "message": "Kubelet never posted node status.",
                    "lastHeartbeatTime": node[path: "metadata", "creationTimestamp"] ?? time,
                    "lastTransitionTime": time,
                ])
            }
            changed = true
        }
        guard changed else { return nil }
        var node = node
        node[path: "status", "conditions"] = .array(conditions)
        return node
    }

    // MARK: Taints

    /// `processTaintBaseEviction`: Ready False → not-ready, Unknown → unreachable, True → neither.
    func reconcileTaints(_ cached: JSONValue, ready: String) async throws(APIError) {
        let wanted: String? = switch ready {
        case "True": nil
        case "False": Self.notReadyTaintKey
        default: Self.unreachableTaintKey
        }
        var node = cached
        for attempt in 0..<3 {
            guard let updated = Self.withLifecycleTaint(node, key: wanted, now: clock.now) else { return }
            do {
                _ = try await client.update(Resources.nodes, updated)
                return
            } catch {
                guard error.code == 409, attempt < 2 else { throw error }
            }
            node = try await client.get(Resources.nodes, name: node[path: "metadata", "name"]?.stringValue ?? "")
        }
    }

    /// The node with exactly the lifecycle NoExecute taint `key` (or none), keeping the
    /// `timeAdded` of one already there; nil when nothing changes.
    static func withLifecycleTaint(_ node: JSONValue, key: String?, now: Date) -> JSONValue? {
        let lifecycleKeys: Set<String> = [unreachableTaintKey, notReadyTaintKey]
        let taints = node[path: "spec", "taints"]?.arrayValue ?? []
        func isLifecycle(_ taint: JSONValue) -> Bool {
            taint["effect"]?.stringValue == "NoExecute" && lifecycleKeys.contains(taint["key"]?.stringValue ?? "")
        }
        var kept = taints.filter { taint in
            !isLifecycle(taint) || taint["key"]?.stringValue == key
        }
        if let key, !kept.contains(where: { isLifecycle($0) && $0["key"]?.stringValue == key }) {
            kept.append(["key": .string(key), "effect": "NoExecute", "timeAdded": .string(RFC3339.string(from: now))])
        }
        guard kept != taints else { return nil }
        var node = node
        node[path: "spec", "taints"] = kept.isEmpty ? nil : .array(kept)
        return node
    }

    // MARK: Pods

    /// `MarkPodsNotReady`: the Ready condition of every pod on the node goes False.
    func markPodsNotReady(on node: String) async throws(APIError) {
        for pod in pods.byIndex(name: Self.podsByNode.name, value: node) {
            guard pod[path: "metadata", "deletionTimestamp"] == nil,
                  var conditions = pod[path: "status", "conditions"]?.arrayValue,
                  let index = conditions.firstIndex(where: { $0["type"]?.stringValue == "Ready" }),
                  conditions[index]["status"]?.stringValue == "True" else { continue }
            conditions[index]["status"] = "False"
            conditions[index]["lastTransitionTime"] = .string(RFC3339.string(from: clock.now))
            var updated = pod
            updated[path: "status", "conditions"] = .array(conditions)
            do {
                let written = try await client.update(Resources.pods, updated, subresource: "status")
                nodeRecorder.event(Self.typed(written, kind: "Pod"), type: .warning, reason: "NodeNotReady", message: "Node is not ready")
            } catch {
                // Gone, or changed meanwhile: the next pass looks again.
                if error.code == 404 || error.code == 409 { continue }
                throw error
            }
        }
    }

    /// The object with the kind and apiVersion an event's reference needs (cached objects
    /// may lack them).
    static func typed(_ object: JSONValue, kind: String) -> JSONValue {
        var object = object
        object["apiVersion"] = "v1"
        object["kind"] = .string(kind)
        return object
    }

    static func readyCondition(_ node: JSONValue) -> JSONValue? {
        node[path: "status", "conditions"]?.arrayValue?.first { $0["type"]?.stringValue == "Ready" }
    }
}
