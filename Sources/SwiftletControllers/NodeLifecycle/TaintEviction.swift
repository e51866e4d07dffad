import Foundation
import SwiftletAPI
import SwiftletClient
import SwiftletMachinery

extension NodeLifecycleController {
    /// A node taint, as `v1.Taint`.
    struct Taint: Equatable, Sendable {
        var key: String
        var value: String
        var effect: String
        var timeAdded: Date?

        init(_ json: JSONValue) {
            key = json["key"]?.stringValue ?? ""
            value = json["value"]?.stringValue ?? ""
            effect = json["effect"]?.stringValue ?? ""
            timeAdded = json["timeAdded"]?.stringValue.flatMap(RFC3339.date(from:))
        }
    }

    /// A pod toleration, as `v1.Toleration`.
    struct Toleration: Sendable {
        var key: String
        var op: String
        var value: String
        var effect: String
        /// nil: tolerated forever.
        var seconds: Int64?

        init(_ json: JSONValue) {
            key = json["key"]?.stringValue ?? ""
            op = json["operator"]?.stringValue ?? "Equal"
            value = json["value"]?.stringValue ?? ""
            effect = json["effect"]?.stringValue ?? ""
            seconds = json["tolerationSeconds"]?.intValue
        }

        /// `ToleratesTaint`: an empty effect matches every effect; an empty key with Exists
        /// matches every key.
        func tolerates(_ taint: Taint) -> Bool {
            if !effect.isEmpty, effect != taint.effect { return false }
            if !key.isEmpty, key != taint.key { return false }
            switch op {
            case "Exists": return true
            case "Equal", "": return value == taint.value
            default: return false
            }
        }
    }

    /// What taint eviction does with a pod.
    enum EvictionDecision: Equatable, Sendable {
        case keep
        case deleteNow
        case deleteAt(Date)
    }

    static func noExecuteTaints(_ node: JSONValue) -> [Taint] {
        (node[path: "spec", "taints"]?.arrayValue ?? []).map(Taint.init).filter { $0.effect == "NoExecute" }
    }

    /// `processPodOnNode`/`getMinTolerationTime`: delete now if a NoExecute taint is not
    /// tolerated; otherwise at the earliest time a tolerated taint runs out (its `timeAdded`,
    /// or `now` when unknown, plus the smallest matching `tolerationSeconds`); keep if every
    /// taint is tolerated forever.
    static func evictionDecision(pod: JSONValue, taints: [Taint], now: Date) -> EvictionDecision {
        guard !taints.isEmpty else { return .keep }
        let tolerations = (pod[path: "spec", "tolerations"]?.arrayValue ?? []).map(Toleration.init)
        var deadline: Date?
        for taint in taints {
            let matching = tolerations.filter { $0.tolerates(taint) }
            if matching.isEmpty { return .deleteNow }
            // A matching toleration without seconds keeps the pod forever against this taint.
            guard !matching.contains(where: { $0.seconds == nil }) else { continue }
            let seconds = max(0, matching.compactMap(\.seconds).min() ?? 0)
            let due = (taint.timeAdded ?? now).addingTimeInterval(TimeInterval(seconds))
            deadline = deadline.map { min($0, due) } ?? due
        }
        guard let deadline else { return .keep }
        return deadline <= now ? .deleteNow : .deleteAt(deadline)
    }

    /// Processes every pod on a node, or one pod.
    func sync(_ key: EvictionKey) async throws {
        switch key {
        case .node(let name):
            var failure: (any Error)?
            for pod in pods.byIndex(name: Self.podsByNode.name, value: name) {
                do { try await process(pod) } catch { failure = error }
            }
            if let failure { throw failure }
        case .pod(let podKey):
            guard let pod = pods.get(podKey) else { return }
            try await process(pod)
        }
    }

    func process(_ pod: JSONValue) async throws(APIError) {
        guard pod[path: "metadata", "deletionTimestamp"] == nil,
              let nodeName = pod[path: "spec", "nodeName"]?.stringValue, !nodeName.isEmpty,
              let node = nodes.get(name: nodeName), let key = ObjectKey(pod) else { return }
        let now = clock.now
        switch Self.evictionDecision(pod: pod, taints: Self.noExecuteTaints(node), now: now) {
        case .keep:
            return
        case .deleteAt(let date):
            let seconds = date.timeIntervalSince(now)
            queue.addAfter(.pod(key), .nanoseconds(Int64((seconds * 1e9).rounded(.up))))
        case .deleteNow:
            try await evict(pod, key: key)
        }
    }

    /// `addConditionAndDeletePod`: a DisruptionTarget condition, an event, then the deletion
    /// (graceful, as upstream; the pod's controller replaces it elsewhere).
    func evict(_ pod: JSONValue, key: ObjectKey) async throws(APIError) {
        let uid = pod[path: "metadata", "uid"]?.stringValue
        evictionRecorder.event(Self.typed(pod, kind: "Pod"), type: .normal, reason: "TaintManagerEviction",
                               message: "Marking for deletion Pod \(key)")
        do {
            var updated = pod
            var conditions = (pod[path: "status", "conditions"]?.arrayValue ?? []).filter {
                $0["type"]?.stringValue != "DisruptionTarget"
            }
            conditions.append([
                "type": "DisruptionTarget", "status": "True", "reason": "DeletionByTaintManager",
                "message": "Taint manager: deleting due to NoExecute taint",
                "lastTransitionTime": .string(RFC3339.string(from: clock.now)),
            ])
            updated[path: "status", "conditions"] = .array(conditions)
            _ = try await client.update(Resources.pods, updated, subresource: "status")
        } catch {
            // Best effort: the deletion is what matters.
            if error.code == 404 { return }
        }
        do {
            try await client.delete(Resources.pods, namespace: key.namespace, name: key.name,
                                    options: DeleteOptions(preconditionUID: uid))
        } catch {
            if error.code == 404 || error.code == 409 { return }
            throw error
        }
    }
}
