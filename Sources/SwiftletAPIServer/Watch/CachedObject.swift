import SwiftletAPI
import SwiftletMachinery

/// One object as the watch cache holds it: the stored JSON bytes, ready to be written into
/// responses without re-encoding, plus what selectors filter on, extracted once.
public struct CachedObject: Sendable {
    public let key: String
    public let bytes: [UInt8]
    public let revision: Int64
    public let namespace: String?
    public let name: String
    public let labels: [String: String]
    /// Values of the fields that field selectors may name for this resource.
    public let fields: [String: String]

    init(key: String, bytes: [UInt8], revision: Int64, object: JSONValue, resource: ResourceInfo) {
        self.key = key
        self.bytes = bytes
        self.revision = revision
        let metadata = object["metadata"]
        self.namespace = metadata?["namespace"]?.stringValue
        self.name = metadata?["name"]?.stringValue ?? ""
        var labels: [String: String] = [:]
        if let l = metadata?["labels"]?.objectValue {
            for (k, v) in l { if let s = v.stringValue { labels[k] = s } }
        }
        self.labels = labels
        self.fields = FieldSelectorSupport.values(of: object, resource: resource)
    }

    /// Parses the stored bytes (they were valid JSON when written).
    public func object() -> JSONValue {
        (try? JSONParser.parse(bytes).value) ?? .null
    }
}

/// Which fields each resource lets field selectors use, as kube-apiserver allows them
/// (`metadata.name` and `metadata.namespace` everywhere, plus the per-kind ones).
public enum FieldSelectorSupport {
    static let perResource: [String: [(String, [String])]] = [
        "pods": [
            ("spec.nodeName", ["spec", "nodeName"]), ("spec.restartPolicy", ["spec", "restartPolicy"]),
            ("spec.schedulerName", ["spec", "schedulerName"]), ("spec.serviceAccountName", ["spec", "serviceAccountName"]),
            ("spec.hostNetwork", ["spec", "hostNetwork"]), ("status.phase", ["status", "phase"]),
            ("status.podIP", ["status", "podIP"]), ("status.nominatedNodeName", ["status", "nominatedNodeName"]),
        ],
        "events": [
            ("involvedObject.kind", ["involvedObject", "kind"]), ("involvedObject.namespace", ["involvedObject", "namespace"]),
            ("involvedObject.name", ["involvedObject", "name"]), ("involvedObject.uid", ["involvedObject", "uid"]),
            ("involvedObject.apiVersion", ["involvedObject", "apiVersion"]),
            ("involvedObject.resourceVersion", ["involvedObject", "resourceVersion"]),
            ("involvedObject.fieldPath", ["involvedObject", "fieldPath"]), ("reason", ["reason"]),
            ("reportingComponent", ["reportingComponent"]), ("source", ["source", "component"]), ("type", ["type"]),
        ],
        "nodes": [("spec.unschedulable", ["spec", "unschedulable"])],
        "secrets": [("type", ["type"])],
        "namespaces": [("status.phase", ["status", "phase"])],
        "replicasets": [("status.replicas", ["status", "replicas"])],
        "replicationcontrollers": [("status.replicas", ["status", "replicas"])],
    ]

    public static func supported(_ field: String, resource: ResourceInfo) -> Bool {
        if field == "metadata.name" || (resource.namespaced && field == "metadata.namespace") { return true }
        return perResource[resource.resource]?.contains { $0.0 == field } ?? false
    }

    static func values(of object: JSONValue, resource: ResourceInfo) -> [String: String] {
        var values: [String: String] = [:]
        values["metadata.name"] = object[path: "metadata", "name"]?.stringValue ?? ""
        if resource.namespaced { values["metadata.namespace"] = object[path: "metadata", "namespace"]?.stringValue ?? "" }
        for (field, path) in perResource[resource.resource] ?? [] {
            switch object[keyPath: path] {
            case .string(let s): values[field] = s
            case .bool(let b): values[field] = String(b)
            case .int(let i): values[field] = String(i)
            default:
                // Unset booleans read as "false", as upstream's field set converts them.
                values[field] = (field == "spec.unschedulable" || field == "spec.hostNetwork") ? "false" : ""
            }
        }
        return values
    }
}
