import SwiftletMachinery

/// A patch in one of the three formats kube-apiserver accepts for built-in kinds.
public enum ObjectPatch: Sendable, Equatable {
    /// RFC 7386: objects merge, `null` removes, lists are replaced whole.
    case merge(JSONValue)
    /// Kubernetes' strategic merge: lists with a merge key (containers, conditions) merge by it.
    case strategicMerge(JSONValue)
    /// RFC 6902: an array of operations, optionally guarded by `test`.
    case json(JSONValue)

    var contentType: String {
        switch self {
        case .merge: return "application/merge-patch+json"
        case .strategicMerge: return "application/strategic-merge-patch+json"
        case .json: return "application/json-patch+json"
        }
    }

    var body: JSONValue {
        switch self {
        case .merge(let v), .strategicMerge(let v), .json(let v): return v
        }
    }
}
