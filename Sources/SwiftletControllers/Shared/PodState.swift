import Foundation
import SwiftletMachinery

/// Pod predicates from `pkg/api/v1/pod` and `pkg/controller`, on untyped pods.
enum PodState {
    /// `controller.IsPodActive`: neither terminal nor being deleted.
    static func isActive(_ pod: JSONValue) -> Bool {
        let phase = pod[path: "status", "phase"]?.stringValue
        return phase != "Succeeded" && phase != "Failed" && pod[path: "metadata", "deletionTimestamp"] == nil
    }

    static func readyCondition(_ pod: JSONValue) -> JSONValue? {
        pod[path: "status", "conditions"]?.arrayValue?.first { $0["type"]?.stringValue == "Ready" }
    }

    static func isReady(_ pod: JSONValue) -> Bool {
        readyCondition(pod)?["status"]?.stringValue == "True"
    }

    /// When the pod last became ready; nil when it is not ready or the time is unknown.
    static func readyTime(_ pod: JSONValue) -> Date? {
        guard let condition = readyCondition(pod), condition["status"]?.stringValue == "True" else { return nil }
        return condition["lastTransitionTime"]?.stringValue.flatMap(RFC3339.date(from:))
    }

    /// `podutil.IsPodAvailable`: ready, and for longer than `minReadySeconds`.
    static func isAvailable(_ pod: JSONValue, minReadySeconds: Int64, now: Date) -> Bool {
        guard isReady(pod) else { return false }
        if minReadySeconds == 0 { return true }
        guard let since = readyTime(pod) else { return false }
        return since.addingTimeInterval(TimeInterval(minReadySeconds)) < now
    }

    static func labels(_ pod: JSONValue) -> JSONObject? { pod[path: "metadata", "labels"]?.objectValue }

    static func nodeName(_ pod: JSONValue) -> String { pod[path: "spec", "nodeName"]?.stringValue ?? "" }

    static func key(_ pod: JSONValue) -> String {
        let ns = pod[path: "metadata", "namespace"]?.stringValue ?? ""
        return "\(ns)/\(pod[path: "metadata", "name"]?.stringValue ?? "")"
    }
}
