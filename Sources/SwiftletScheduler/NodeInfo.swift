import SwiftletAPI
import SwiftletMachinery

/// What the filters read of a node, parsed once per node change. Equatable so that a
/// heartbeat (which changes nothing here) does not count as a change worth retrying pods for.
struct NodeInfo: Equatable, Sendable {
    var name: String
    var labels: [String: String]
    var unschedulable: Bool
    /// spec.taints with effect NoSchedule or NoExecute, plus the taint the node lifecycle
    /// controller would add for a node that is not Ready (`node.kubernetes.io/not-ready`, or
    /// `unreachable` when the condition is Unknown or missing).
    var taints: [Taint]
    var allocatable: ResourceAmounts
    var allocatablePods: Int64

    init(_ node: JSONValue) {
        name = node[path: "metadata", "name"]?.stringValue ?? ""
        var labels: [String: String] = [:]
        for (key, value) in node[path: "metadata", "labels"]?.objectValue ?? JSONObject() {
            labels[key] = value.stringValue ?? ""
        }
        self.labels = labels
        unschedulable = node[path: "spec", "unschedulable"]?.boolValue ?? false
        var taints = (node[path: "spec", "taints"]?.arrayValue ?? []).map(Taint.init)
            .filter { $0.effect == "NoSchedule" || $0.effect == "NoExecute" }
        let ready = (node[path: "status", "conditions"]?.arrayValue ?? []).first { $0["type"]?.stringValue == "Ready" }
        switch ready?["status"]?.stringValue {
        case "True": break
        case "False": taints.append(Taint(key: "node.kubernetes.io/not-ready", value: "", effect: "NoSchedule"))
        default: taints.append(Taint(key: "node.kubernetes.io/unreachable", value: "", effect: "NoSchedule"))
        }
        self.taints = taints
        let list = node[path: "status", "allocatable"] ?? node[path: "status", "capacity"]
        allocatable = ResourceAmounts(list: list)
        allocatablePods = list?["pods"].flatMap(Quantity.init(json:))?.value ?? 0
    }
}

struct Taint: Equatable, Sendable {
    var key: String
    var value: String
    var effect: String

    init(key: String, value: String, effect: String) {
        self.key = key
        self.value = value
        self.effect = effect
    }

    init(_ json: JSONValue) {
        key = json["key"]?.stringValue ?? ""
        value = json["value"]?.stringValue ?? ""
        effect = json["effect"]?.stringValue ?? ""
    }
}

struct Toleration: Sendable {
    var key: String
    var op: String
    var value: String
    var effect: String

    init(_ json: JSONValue) {
        key = json["key"]?.stringValue ?? ""
        op = json["operator"]?.stringValue ?? "Equal"
        value = json["value"]?.stringValue ?? ""
        effect = json["effect"]?.stringValue ?? ""
    }

    /// v1.Toleration.ToleratesTaint: an empty effect matches every effect, an empty key with
    /// Exists matches every key.
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

/// One term of required node affinity: every expression and field requirement must hold.
/// A term with neither matches no node, as upstream.
struct NodeSelectorTerm: Sendable {
    struct Requirement: Sendable {
        var key: String
        var op: String
        var values: [String]

        init(_ json: JSONValue) {
            key = json["key"]?.stringValue ?? ""
            op = json["operator"]?.stringValue ?? ""
            values = (json["values"]?.arrayValue ?? []).compactMap(\.stringValue)
        }

        func matches(_ value: String?) -> Bool {
            switch op {
            case "In": return value.map(values.contains) ?? false
            case "NotIn": return value.map { !values.contains($0) } ?? true
            case "Exists": return value != nil
            case "DoesNotExist": return value == nil
            case "Gt", "Lt":
                guard let value, let actual = Int64(value), values.count == 1, let bound = Int64(values[0]) else { return false }
                return op == "Gt" ? actual > bound : actual < bound
            default: return false
            }
        }
    }

    var expressions: [Requirement]
    var fields: [Requirement]

    init(_ json: JSONValue) {
        expressions = (json["matchExpressions"]?.arrayValue ?? []).map(Requirement.init)
        fields = (json["matchFields"]?.arrayValue ?? []).map(Requirement.init)
    }

    func matches(_ node: NodeInfo) -> Bool {
        if expressions.isEmpty, fields.isEmpty { return false }
        for requirement in expressions where !requirement.matches(node.labels[requirement.key]) { return false }
        for requirement in fields {
            // metadata.name is the only field node affinity supports.
            guard requirement.key == "metadata.name", requirement.matches(node.name) else { return false }
        }
        return true
    }
}
