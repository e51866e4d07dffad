import Foundation
import SwiftletClient
import SwiftletMachinery

/// Helpers of upstream's pkg/controller/deployment/util, on untyped objects.
enum DeploymentUtil {
    static let hashLabel = "pod-template-hash"
    static let revisionAnnotation = "deployment.kubernetes.io/revision"
    static let revisionHistoryAnnotation = "deployment.kubernetes.io/revision-history"
    static let desiredReplicasAnnotation = "deployment.kubernetes.io/desired-replicas"
    static let maxReplicasAnnotation = "deployment.kubernetes.io/max-replicas"
    static let maxRevisionHistoryChars = 2000

    /// Deployment annotations never copied to its ReplicaSets.
    static let annotationsToSkip: Set<String> = [
        "kubectl.kubernetes.io/last-applied-configuration", revisionAnnotation, revisionHistoryAnnotation,
        desiredReplicasAnnotation, maxReplicasAnnotation, "deprecated.deployment.rollback.to",
    ]

    // Condition types and reasons, as upstream words them.
    static let available = "Available"
    static let progressing = "Progressing"
    static let newRSReason = "NewReplicaSetCreated"
    static let failedRSCreateReason = "ReplicaSetCreateError"
    static let foundNewRSReason = "FoundNewReplicaSet"
    static let rsUpdatedReason = "ReplicaSetUpdated"
    static let newRSAvailableReason = "NewReplicaSetAvailable"
    static let timedOutReason = "ProgressDeadlineExceeded"
    static let pausedReason = "DeploymentPaused"
    static let resumedReason = "DeploymentResumed"
    static let minimumReplicasAvailable = "MinimumReplicasAvailable"
    static let minimumReplicasUnavailable = "MinimumReplicasUnavailable"

    // MARK: Template hash

    /// A stable hash of a pod template: FNV-32a over a canonical rendering (keys sorted, nulls
    /// and empty maps/lists left out, as Go's omitempty does), plus the collision count, rendered
    /// with `safeEncode` like upstream's `rand.SafeEncodeString(fmt.Sprint(hash))`.
    static func podTemplateHash(_ template: JSONValue?, collisionCount: Int64?) -> String {
        var hash: UInt32 = 2_166_136_261
        func feed<S: Sequence>(_ bytes: S) where S.Element == UInt8 {
            for byte in bytes {
                hash ^= UInt32(byte)
                hash = hash &* 16_777_619
            }
        }
        var canonical: [UInt8] = []
        if let template = normalized(template) { writeCanonical(template, into: &canonical) }
        feed(canonical)
        if let collisionCount {
            let c = UInt32(truncatingIfNeeded: collisionCount)
            feed([UInt8(c & 0xff), UInt8((c >> 8) & 0xff), UInt8((c >> 16) & 0xff), UInt8((c >> 24) & 0xff)])
        }
        return safeEncode(String(hash))
    }

    static let safeAlphabet = Array("bcdfghjklmnpqrstvwxz2456789".utf8)

    /// rand.SafeEncodeString: each byte mapped into an alphabet without vowels or look-alikes.
    static func safeEncode(_ s: String) -> String {
        String(decoding: s.utf8.map { safeAlphabet[Int($0) % safeAlphabet.count] }, as: UTF8.self)
    }

    /// The value with nulls and empty objects/arrays removed (recursively): the semantic
    /// equality of Go's API types, where nil and empty are the same.
    static func normalized(_ value: JSONValue?) -> JSONValue? {
        guard let value else { return nil }
        switch value {
        case .null: return nil
        case .object(let o):
            var out = JSONObject()
            for (k, v) in o { if let n = normalized(v) { out[k] = n } }
            return out.isEmpty ? nil : .object(out)
        case .array(let a):
            let items = a.map { normalized($0) ?? .null }
            return items.isEmpty ? nil : .array(items)
        case .double(let d) where d.rounded() == d && abs(d) < 9.2e18:
            return .int(Int64(d))
        default: return value
        }
    }

    static func writeCanonical(_ value: JSONValue, into out: inout [UInt8]) {
        switch value {
        case .object(let o):
            out.append(UInt8(ascii: "{"))
            for (i, member) in o.sortedByKey.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                JSONWriter.writeString(member.key, into: &out)
                out.append(UInt8(ascii: ":"))
                writeCanonical(member.value, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        case .array(let a):
            out.append(UInt8(ascii: "["))
            for (i, item) in a.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                writeCanonical(item, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        default:
            JSONWriter.write(value, into: &out)
        }
    }

    /// EqualIgnoreHash: two pod templates equal once the pod-template-hash label is dropped.
    static func equalIgnoringHash(_ a: JSONValue?, _ b: JSONValue?) -> Bool {
        var a = a ?? [:], b = b ?? [:]
        a[path: "metadata", "labels", hashLabel] = nil
        b[path: "metadata", "labels", hashLabel] = nil
        return normalized(a) == normalized(b)
    }

    // MARK: Fenceposts

    /// GetScaledValueFromIntOrPercent: ints as they are, "N%" of `total` rounded up or down.
    static func scaledValue(_ value: JSONValue?, total: Int, roundUp: Bool) -> Int {
        guard let value else { return 0 }
        if let i = value.intValue { return Int(i) }
        if let s = value.stringValue {
            if s.hasSuffix("%"), let percent = Int(s.dropLast()) {
                let product = percent * total
                return roundUp ? Int((Double(product) / 100).rounded(.up)) : Int((Double(product) / 100).rounded(.down))
            }
            if let i = Int(s) { return i }
        }
        return 0
    }

    static func isRollingUpdate(_ d: JSONValue) -> Bool {
        (d[path: "spec", "strategy", "type"]?.stringValue ?? "RollingUpdate") == "RollingUpdate"
    }

    static func replicas(_ d: JSONValue) -> Int { Int(d[path: "spec", "replicas"]?.intValue ?? 1) }

    /// ResolveFenceposts: surge rounds up, unavailable down; both zero means unavailable 1.
    static func fenceposts(_ d: JSONValue) -> (surge: Int, unavailable: Int) {
        let desired = replicas(d)
        let rolling = d[path: "spec", "strategy", "rollingUpdate"]
        let surge = scaledValue(rolling?["maxSurge"], total: desired, roundUp: true)
        var unavailable = scaledValue(rolling?["maxUnavailable"], total: desired, roundUp: false)
        if surge == 0 && unavailable == 0 { unavailable = 1 }
        return (surge, unavailable)
    }

    static func maxSurge(_ d: JSONValue) -> Int {
        guard isRollingUpdate(d) else { return 0 }
        return fenceposts(d).surge
    }

    static func maxUnavailable(_ d: JSONValue) -> Int {
        let desired = replicas(d)
        guard isRollingUpdate(d), desired != 0 else { return 0 }
        return min(fenceposts(d).unavailable, desired)
    }

    // MARK: Revisions and annotations

    static func revision(_ object: JSONValue?) -> Int64 {
        Int64(object?[path: "metadata", "annotations", revisionAnnotation]?.stringValue ?? "") ?? 0
    }

    static func annotations(_ object: JSONValue) -> [String: String] {
        var out: [String: String] = [:]
        for (k, v) in object[path: "metadata", "annotations"]?.objectValue ?? JSONObject() { out[k] = v.stringValue ?? "" }
        return out
    }

    static func labels(_ object: JSONValue) -> [String: String] {
        var out: [String: String] = [:]
        for (k, v) in object[path: "metadata", "labels"]?.objectValue ?? JSONObject() { out[k] = v.stringValue ?? "" }
        return out
    }

    /// SetNewReplicaSetAnnotations: copies the Deployment's annotations, raises the revision
    /// (recording the previous one in revision-history), and for a new RS sets the replica
    /// annotations. Returns whether anything changed.
    static func setNewReplicaSetAnnotations(_ d: JSONValue, _ rs: inout JSONValue, newRevision: String, exists: Bool) -> Bool {
        var changed = false
        var ann = annotations(rs)
        for (k, v) in annotations(d) where !annotationsToSkip.contains(k) && ann[k] != v {
            ann[k] = v
            changed = true
        }
        let oldRevision = ann[revisionAnnotation] ?? ""
        let oldValue = Int64(oldRevision) ?? 0
        if oldValue < (Int64(newRevision) ?? 0) {
            ann[revisionAnnotation] = newRevision
            changed = true
            if !oldRevision.isEmpty {
                let history = ann[revisionHistoryAnnotation] ?? ""
                if history.isEmpty {
                    ann[revisionHistoryAnnotation] = oldRevision
                } else {
                    var old = history.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                    var total = history.count + oldRevision.count + 1
                    var start = 0
                    while total > maxRevisionHistoryChars && start < old.count {
                        total -= old[start].count + 1
                        start += 1
                    }
                    if total <= maxRevisionHistoryChars {
                        old = Array(old[start...]) + [oldRevision]
                        ann[revisionHistoryAnnotation] = old.joined(separator: ",")
                    }
                }
            }
        }
        if !exists {
            let desired = replicas(d)
            if setReplicasAnnotations(&ann, desired: desired, max: desired + maxSurge(d)) { changed = true }
        }
        rs[path: "metadata", "annotations"] = .object(JSONObject(ann.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) }))
        return changed
    }

    @discardableResult
    static func setReplicasAnnotations(_ ann: inout [String: String], desired: Int, max: Int) -> Bool {
        var changed = false
        if ann[desiredReplicasAnnotation] != String(desired) { ann[desiredReplicasAnnotation] = String(desired); changed = true }
        if ann[maxReplicasAnnotation] != String(max) { ann[maxReplicasAnnotation] = String(max); changed = true }
        return changed
    }

    // MARK: Conditions

    static func condition(_ status: JSONValue?, _ type: String) -> JSONValue? {
        status?["conditions"]?.arrayValue?.first { $0["type"]?.stringValue == type }
    }

    static func newCondition(_ type: String, _ status: String, _ reason: String, _ message: String, now: Date) -> JSONValue {
        let t = JSONValue.string(RFC3339.string(from: now))
        return ["type": .string(type), "status": .string(status), "lastUpdateTime": t, "lastTransitionTime": t,
                "reason": .string(reason), "message": .string(message)]
    }

    /// SetDeploymentCondition: same status and reason leaves it alone; same status keeps the
    /// transition time; the condition goes last.
    static func setCondition(_ status: inout JSONValue, _ condition: JSONValue) {
        var condition = condition
        let type = condition["type"]?.stringValue ?? ""
        if let current = self.condition(status, type) {
            if current["status"] == condition["status"], current["reason"] == condition["reason"] { return }
            if current["status"] == condition["status"] { condition["lastTransitionTime"] = current["lastTransitionTime"] }
        }
        var conditions = (status["conditions"]?.arrayValue ?? []).filter { $0["type"]?.stringValue != type }
        conditions.append(condition)
        status["conditions"] = .array(conditions)
    }

    static func removeCondition(_ status: inout JSONValue, _ type: String) {
        let conditions = (status["conditions"]?.arrayValue ?? []).filter { $0["type"]?.stringValue != type }
        status["conditions"] = conditions.isEmpty ? nil : .array(conditions)
    }

    static func hasProgressDeadline(_ d: JSONValue) -> Bool {
        guard let seconds = d[path: "spec", "progressDeadlineSeconds"]?.intValue else { return false }
        return seconds != Int64(Int32.max)
    }

    static func statusInt(_ status: JSONValue?, _ field: String) -> Int { Int(status?[field]?.intValue ?? 0) }

    /// DeploymentComplete: every replica updated and available, and the spec observed.
    static func isComplete(_ d: JSONValue, _ status: JSONValue?) -> Bool {
        let want = replicas(d)
        return statusInt(status, "updatedReplicas") == want && statusInt(status, "replicas") == want
            && statusInt(status, "availableReplicas") == want
            && (status?["observedGeneration"]?.intValue ?? 0) >= (d[path: "metadata", "generation"]?.intValue ?? 0)
    }

    /// DeploymentProgressing: more updated, fewer old, or more ready/available replicas.
    static func isProgressing(_ d: JSONValue, _ new: JSONValue) -> Bool {
        let old = d["status"]
        let oldOld = statusInt(old, "replicas") - statusInt(old, "updatedReplicas")
        let newOld = statusInt(new, "replicas") - statusInt(new, "updatedReplicas")
        return statusInt(new, "updatedReplicas") > statusInt(old, "updatedReplicas") || newOld < oldOld
            || statusInt(new, "readyReplicas") > statusInt(old, "readyReplicas")
            || statusInt(new, "availableReplicas") > statusInt(old, "availableReplicas")
    }

    /// DeploymentTimedOut: the Progressing condition was last updated longer than the deadline ago.
    static func timedOut(_ d: JSONValue, _ new: JSONValue, now: Date) -> Bool {
        guard hasProgressDeadline(d), let condition = condition(new, progressing) else { return false }
        let reason = condition["reason"]?.stringValue
        if reason == newRSAvailableReason { return false }
        if reason == timedOutReason { return true }
        guard let from = condition["lastUpdateTime"]?.stringValue.flatMap(RFC3339.date(from:)) else { return false }
        let deadline = Double(d[path: "spec", "progressDeadlineSeconds"]?.intValue ?? 600)
        return from.addingTimeInterval(deadline) < now
    }
}

/// A ReplicaSet as the Deployment controller reads it.
struct ReplicaSetView: Sendable {
    var object: JSONValue

    var name: String { object[path: "metadata", "name"]?.stringValue ?? "" }
    var uid: String { object[path: "metadata", "uid"]?.stringValue ?? "" }
    var specReplicas: Int { Int(object[path: "spec", "replicas"]?.intValue ?? 1) }
    var statusReplicas: Int { Int(object[path: "status", "replicas"]?.intValue ?? 0) }
    var readyReplicas: Int { Int(object[path: "status", "readyReplicas"]?.intValue ?? 0) }
    var availableReplicas: Int { Int(object[path: "status", "availableReplicas"]?.intValue ?? 0) }
    var generation: Int64 { object[path: "metadata", "generation"]?.intValue ?? 0 }
    var observedGeneration: Int64 { object[path: "status", "observedGeneration"]?.intValue ?? 0 }
    var creationTimestamp: Date {
        object[path: "metadata", "creationTimestamp"]?.stringValue.flatMap(RFC3339.date(from:)) ?? .distantPast
    }
    var deleting: Bool { object[path: "metadata", "deletionTimestamp"].map { !$0.isNull } ?? false }
    var revision: Int64 { DeploymentUtil.revision(object) }
    var template: JSONValue? { object[path: "spec", "template"] }

    /// ReplicaSetsByCreationTimestamp: older first, then by name.
    static func olderFirst(_ a: ReplicaSetView, _ b: ReplicaSetView) -> Bool {
        if a.creationTimestamp == b.creationTimestamp { return a.name < b.name }
        return a.creationTimestamp < b.creationTimestamp
    }

    /// ReplicaSetsBySizeNewer: larger first, ties newer first.
    static func bySizeNewer(_ a: ReplicaSetView, _ b: ReplicaSetView) -> Bool {
        if a.specReplicas == b.specReplicas { return olderFirst(b, a) }
        return a.specReplicas > b.specReplicas
    }

    /// ReplicaSetsBySizeOlder: larger first, ties older first.
    static func bySizeOlder(_ a: ReplicaSetView, _ b: ReplicaSetView) -> Bool {
        if a.specReplicas == b.specReplicas { return olderFirst(a, b) }
        return a.specReplicas > b.specReplicas
    }

    /// ReplicaSetsByRevision: lower revision first, ties older first.
    static func byRevision(_ a: ReplicaSetView, _ b: ReplicaSetView) -> Bool {
        if a.revision == b.revision { return olderFirst(a, b) }
        return a.revision < b.revision
    }
}

extension Array where Element == ReplicaSetView {
    var active: [ReplicaSetView] { filter { $0.specReplicas > 0 } }
    var specReplicaCount: Int { reduce(0) { $0 + $1.specReplicas } }
    var statusReplicaCount: Int { reduce(0) { $0 + $1.statusReplicas } }
    var readyCount: Int { reduce(0) { $0 + $1.readyReplicas } }
    var availableCount: Int { reduce(0) { $0 + $1.availableReplicas } }
}
