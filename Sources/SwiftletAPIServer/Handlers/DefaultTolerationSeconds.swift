import SwiftletMachinery

/// The DefaultTolerationSeconds admission plugin (`plugin/pkg/admission/defaulttolerationseconds`):
/// a pod that does not already tolerate `node.kubernetes.io/not-ready` or
/// `node.kubernetes.io/unreachable` with effect NoExecute gets a toleration for it, for
/// `seconds`. So a pod stays that long on a node that stops answering before taint eviction
/// deletes it, and its controller replaces it elsewhere.
enum DefaultTolerationSeconds {
    static let notReadyTaintKey = "node.kubernetes.io/not-ready"
    static let unreachableTaintKey = "node.kubernetes.io/unreachable"

    static func admit(_ pod: inout JSONValue, seconds: Int64) {
        let tolerations = pod[path: "spec", "tolerations"]?.arrayValue ?? []
        var added: [JSONValue] = []
        for key in [notReadyTaintKey, unreachableTaintKey] where !tolerations.contains(where: { covers($0, key: key) }) {
            added.append(["key": .string(key), "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": .int(seconds)])
        }
        if !added.isEmpty { pod[path: "spec", "tolerations"] = .array(tolerations + added) }
    }

    /// Upstream's test: the key is this one or empty (which validation allows only with
    /// `Exists`, matching every key), and the effect is NoExecute or empty (every effect).
    static func covers(_ toleration: JSONValue, key: String) -> Bool {
        let tolerationKey = toleration["key"]?.stringValue ?? ""
        let effect = toleration["effect"]?.stringValue ?? ""
        return (tolerationKey == key || tolerationKey.isEmpty) && (effect == "NoExecute" || effect.isEmpty)
    }
}
