import SwiftletAPI
import SwiftletMachinery

/// Values the downward API exposes, for env `fieldRef`/`resourceFieldRef` and downwardAPI volumes.
enum FieldPaths {
    /// A `fieldRef.fieldPath` of the pod, or nil when the path is not one the downward API offers.
    static func value(of fieldPath: String, in pod: JSONValue, hostIP: String, podIP: String?) -> String? {
        func mapEntry(_ prefix: String, _ map: JSONValue?) -> String? {
            // metadata.labels['key']
            guard fieldPath.hasPrefix(prefix + "['"), fieldPath.hasSuffix("']") else { return nil }
            let key = String(fieldPath.dropFirst(prefix.count + 2).dropLast(2))
            return map?[key]?.stringValue ?? ""
        }
        switch fieldPath {
        case "metadata.name": return pod[path: "metadata", "name"]?.stringValue
        case "metadata.namespace": return pod[path: "metadata", "namespace"]?.stringValue
        case "metadata.uid": return pod[path: "metadata", "uid"]?.stringValue
        case "metadata.labels": return formatMap(pod[path: "metadata", "labels"])
        case "metadata.annotations": return formatMap(pod[path: "metadata", "annotations"])
        case "spec.nodeName": return pod[path: "spec", "nodeName"]?.stringValue
        case "spec.serviceAccountName": return pod[path: "spec", "serviceAccountName"]?.stringValue ?? "default"
        case "status.hostIP", "status.hostIPs": return hostIP
        case "status.podIP", "status.podIPs": return podIP ?? ""
        default:
            return mapEntry("metadata.labels", pod[path: "metadata", "labels"])
                ?? mapEntry("metadata.annotations", pod[path: "metadata", "annotations"])
        }
    }

    /// `key="value"` lines, sorted, as the kubelet writes label and annotation files.
    private static func formatMap(_ map: JSONValue?) -> String {
        let pairs = (map?.objectValue.map { Array($0) } ?? []).compactMap { key, value in
            value.stringValue.map { (key, $0) }
        }.sorted { $0.0 < $1.0 }
        return pairs.map { "\($0.0)=\"\(escape($0.1))\"" }.joined(separator: "\n")
    }

    private static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    /// A `resourceFieldRef`: the container's limit (or request), else the node's allocatable
    /// for limits, divided by `divisor` and rounded up, as the kubelet computes it.
    static func resource(_ resource: String, divisor: JSONValue?, container: JSONValue?, allocatable: JSONValue) -> String? {
        let parts = resource.split(separator: ".", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { return nil }
        let (section, name) = (parts[0], parts[1])
        var quantity = container?["resources"]?[section]?[name].flatMap { Quantity(json: $0) }
        if quantity == nil {
            quantity = section == "limits" ? allocatable[name].flatMap { Quantity(json: $0) } : Quantity(value: 0)
        }
        guard let quantity else { return nil }
        let divisorQuantity = divisor.flatMap { Quantity(json: $0) }.flatMap { $0.isZero ? nil : $0 }
            ?? Quantity(value: 1)
        let (q, r) = quantity.nanos.quotientAndRemainder(dividingBy: divisorQuantity.nanos)
        return String(r > 0 ? q + 1 : q)
    }
}
