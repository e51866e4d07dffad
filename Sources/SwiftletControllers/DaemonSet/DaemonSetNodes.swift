import SwiftletMachinery

extension DaemonSetController {
    /// Where a DaemonSet's pod belongs, from upstream's `NodeShouldRunDaemonPod`, the
    /// `nodeaffinity` and taint helpers and `pkg/controller/daemon/util`, on untyped objects.
    enum Placement {
        static let nameField = "metadata.name"

        /// `AddOrUpdateDaemonPodTolerations`: the tolerations every daemon pod gets, so that it
        /// keeps running through the conditions the node lifecycle controller turns into taints.
        static func daemonTolerations(hostNetwork: Bool) -> [JSONValue] {
            var result: [JSONValue] = [
                ["key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"],
                ["key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"],
                ["key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"],
                ["key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"],
                ["key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"],
                ["key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"],
            ]
            if hostNetwork {
                result.append(["key": "node.kubernetes.io/network-unavailable", "operator": "Exists", "effect": "NoSchedule"])
            }
            return result
        }

        /// `AddOrUpdateTolerationInPodSpec` for each daemon toleration: one with the same key,
        /// operator, value and effect replaces an existing one, otherwise it is appended.
        static func addDaemonTolerations(_ spec: inout JSONValue) {
            var tolerations = spec["tolerations"]?.arrayValue ?? []
            for toleration in daemonTolerations(hostNetwork: spec["hostNetwork"]?.boolValue ?? false) {
                if let i = tolerations.firstIndex(where: { sameToleration($0, toleration) }) {
                    tolerations[i] = toleration
                } else {
                    tolerations.append(toleration)
                }
            }
            spec["tolerations"] = .array(tolerations)
        }

        /// `Toleration.MatchToleration`: key, operator (Equal by default), value and effect equal.
        static func sameToleration(_ a: JSONValue, _ b: JSONValue) -> Bool {
            func op(_ t: JSONValue) -> String { t["operator"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 } ?? "Equal" }
            return a["key"]?.stringValue ?? "" == b["key"]?.stringValue ?? ""
                && op(a) == op(b)
                && a["value"]?.stringValue ?? "" == b["value"]?.stringValue ?? ""
                && a["effect"]?.stringValue ?? "" == b["effect"]?.stringValue ?? ""
        }

        /// `ReplaceDaemonSetPodNodeNameNodeAffinity`: the required node affinity becomes the one
        /// term `metadata.name In [node]` (the controller already checked the rest), preferred
        /// terms are kept.
        static func bindAffinity(_ spec: inout JSONValue, to node: String) {
            let term: JSONValue = ["matchFields": [["key": .string(nameField), "operator": "In", "values": [.string(node)]]]]
            spec[path: "affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution"] = ["nodeSelectorTerms": [term]]
        }

        /// `GetTargetNodeName`: spec.nodeName, or the single node named by a daemon pod's
        /// `metadata.name In [node]` affinity while it waits for the scheduler.
        static func targetNode(of pod: JSONValue) -> String? {
            if let name = pod[path: "spec", "nodeName"]?.stringValue, !name.isEmpty { return name }
            let terms = pod[path: "spec", "affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution",
                            "nodeSelectorTerms"]?.arrayValue ?? []
            for term in terms {
                for field in term["matchFields"]?.arrayValue ?? []
                where field["key"]?.stringValue == nameField && field["operator"]?.stringValue == "In" {
                    if let values = field["values"]?.arrayValue, values.count == 1, let node = values[0].stringValue {
                        return node
                    }
                }
            }
            return nil
        }

        /// `NodeShouldRunDaemonPod` for the DaemonSet's pod template: whether a new pod belongs on
        /// the node, and whether an existing one may stay (a NoSchedule taint keeps new pods
        /// away but lets running ones continue; NoExecute evicts them).
        static func shouldRun(_ template: JSONValue, on node: JSONValue) -> (run: Bool, continueRunning: Bool) {
            let spec = template["spec"] ?? [:]
            let nodeName = node[path: "metadata", "name"]?.stringValue ?? ""
            if let fixed = spec["nodeName"]?.stringValue, !fixed.isEmpty, fixed != nodeName { return (false, false) }
            guard matchesNodeSelector(spec, node: node) else { return (false, false) }
            var tolerationsSpec = spec
            addDaemonTolerations(&tolerationsSpec)
            let tolerations = tolerationsSpec["tolerations"]?.arrayValue ?? []
            let taints = (node[path: "spec", "taints"]?.arrayValue ?? []).filter {
                let effect = $0["effect"]?.stringValue
                return effect == "NoSchedule" || effect == "NoExecute"
            }
            let untolerated = taints.filter { taint in !tolerations.contains { tolerates($0, taint) } }
            if untolerated.isEmpty { return (true, true) }
            return (false, !untolerated.contains { $0["effect"]?.stringValue == "NoExecute" })
        }

        /// `Toleration.ToleratesTaint`: an empty effect matches every effect, an empty key with
        /// Exists every key.
        static func tolerates(_ toleration: JSONValue, _ taint: JSONValue) -> Bool {
            let effect = toleration["effect"]?.stringValue ?? ""
            if !effect.isEmpty, effect != taint["effect"]?.stringValue ?? "" { return false }
            let key = toleration["key"]?.stringValue ?? ""
            if !key.isEmpty, key != taint["key"]?.stringValue ?? "" { return false }
            switch toleration["operator"]?.stringValue ?? "Equal" {
            case "Exists": return true
            case "Equal", "": return toleration["value"]?.stringValue ?? "" == taint["value"]?.stringValue ?? ""
            default: return false
            }
        }

        /// `GetRequiredNodeAffinity(pod).Match(node)`: spec.nodeSelector, and one of the
        /// required node affinity terms.
        static func matchesNodeSelector(_ spec: JSONValue, node: JSONValue) -> Bool {
            let labels = node[path: "metadata", "labels"]?.objectValue ?? JSONObject()
            for (key, value) in spec["nodeSelector"]?.objectValue ?? JSONObject() {
                guard labels[key]?.stringValue == value.stringValue else { return false }
            }
            guard let required = spec[path: "affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution"],
                  !required.isNull else { return true }
            let name = node[path: "metadata", "name"]?.stringValue ?? ""
            return (required["nodeSelectorTerms"]?.arrayValue ?? []).contains { term in
                let expressions = term["matchExpressions"]?.arrayValue ?? []
                let fields = term["matchFields"]?.arrayValue ?? []
                if expressions.isEmpty, fields.isEmpty { return false }
                return expressions.allSatisfy { requirement($0, holdsFor: labels[$0["key"]?.stringValue ?? ""]?.stringValue) }
                    && fields.allSatisfy { $0["key"]?.stringValue == nameField && requirement($0, holdsFor: name) }
            }
        }

        /// One `NodeSelectorRequirement` against a label (or field) value, nil when absent.
        static func requirement(_ requirement: JSONValue, holdsFor value: String?) -> Bool {
            let values = (requirement["values"]?.arrayValue ?? []).compactMap(\.stringValue)
            switch requirement["operator"]?.stringValue {
            case "In": return value.map(values.contains) ?? false
            case "NotIn": return value.map { !values.contains($0) } ?? true
            case "Exists": return value != nil
            case "DoesNotExist": return value == nil
            case "Gt", "Lt":
                guard let value, let actual = Int64(value), values.count == 1, let bound = Int64(values[0]) else { return false }
                return requirement["operator"]?.stringValue == "Gt" ? actual > bound : actual < bound
            default: return false
            }
        }
    }
}
