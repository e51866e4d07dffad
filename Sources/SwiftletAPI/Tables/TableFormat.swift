import Foundation
import SwiftletMachinery

/// Columns and cell formatting shared by the printers. Each helper mirrors one upstream helper
/// (named in its comment) because kubectl users compare the output with real clusters.
///
/// Printers read the stored v1 JSON rather than typed objects, so the readers here also apply
/// what Go's decoding would: a missing or null field reads as its zero value.
enum TableFormat {
    // MARK: - Columns every printer shares

    static let nameDescription =
        "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
    static let creationTimestampDescription =
        "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"

    static let name = TableColumn(name: "Name", type: "string", format: "name", description: nameDescription)
    static let age = TableColumn(name: "Age", type: "string", description: creationTimestampDescription)
    static let containers = TableColumn(
        name: "Containers", type: "string", description: "Names of each container in the template.", priority: 1)
    static let images = TableColumn(
        name: "Images", type: "string", description: "Images referenced by each container in the template.", priority: 1)

    static func column(_ name: String, _ type: String, _ description: String, priority: Int = 0) -> TableColumn {
        TableColumn(name: name, type: type, description: description, priority: priority)
    }

    // MARK: - Reading fields with Go's zero values

    static func text(_ value: JSONValue?) -> String { value?.stringValue ?? "" }

    static func int(_ value: JSONValue?) -> Int64 { value?.intValue ?? 0 }

    static func array(_ value: JSONValue?) -> [JSONValue] { value?.arrayValue ?? [] }

    /// The field when set: JSON null decodes to a nil pointer in Go.
    static func present(_ value: JSONValue?) -> JSONValue? {
        guard let value, !value.isNull else { return nil }
        return value
    }

    /// nil where Go would hold the zero `metav1.Time`: missing, null, unparsable or year 1.
    static func timestamp(_ value: JSONValue?) -> Date? {
        guard let text = value?.stringValue, let date = RFC3339.date(from: text), date != RFC3339.goZero else { return nil }
        return date
    }

    /// translateTimestampSince: the AGE cell.
    static func age(_ value: JSONValue?, now: Date) -> String {
        guard let date = timestamp(value) else { return "<unknown>" }
        return HumanDuration.string(now.timeIntervalSince(date))
    }

    static func creationAge(_ object: JSONValue, now: Date) -> JSONValue {
        .string(age(object[path: "metadata", "creationTimestamp"], now: now))
    }

    static func objectName(_ object: JSONValue) -> JSONValue {
        .string(text(object[path: "metadata", "name"]))
    }

    /// Go compares strings bytewise; Swift's `<` follows Unicode collation rules.
    static func goLess(_ a: String, _ b: String) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }

    // MARK: - Labels and selectors

    /// labels.FormatLabels: `k=v` pairs sorted as whole strings, or `<none>`.
    static func labels(_ map: JSONValue?) -> String {
        let pairs = (map?.objectValue ?? JSONObject()).map { "\($0.key)=\(text($0.value))" }.sorted(by: goLess)
        return pairs.isEmpty ? "<none>" : pairs.joined(separator: ",")
    }

    /// metav1.LabelSelectorAsSelector(…).String(): nil when the selector is invalid, "" when it
    /// is missing or empty.
    static func selectorString(_ selector: JSONValue?) -> String? {
        guard let selector = present(selector) else { return "" }
        var requirements: [(key: String, text: String)] = []
        for (key, value) in selector["matchLabels"]?.objectValue ?? JSONObject() {
            requirements.append((key, "\(key)=\(text(value))"))
        }
        for expression in array(selector["matchExpressions"]) {
            let key = text(expression["key"])
            let values = array(expression["values"]).map { text($0) }
            switch text(expression["operator"]) {
            case "In", "NotIn":
                guard !values.isEmpty else { return nil }
                let op = text(expression["operator"]) == "In" ? " in " : " notin "
                requirements.append((key, "\(key)\(op)(\(values.sorted(by: goLess).joined(separator: ",")))"))
            case "Exists":
                guard values.isEmpty else { return nil }
                requirements.append((key, key))
            case "DoesNotExist":
                guard values.isEmpty else { return nil }
                requirements.append((key, "!\(key)"))
            default:
                return nil
            }
        }
        return requirements.enumerated()
            .sorted { goLess($0.element.key, $1.element.key) || ($0.element.key == $1.element.key && $0.offset < $1.offset) }
            .map(\.element.text).joined(separator: ",")
    }

    /// metav1.FormatLabelSelector.
    static func labelSelector(_ selector: JSONValue?) -> String {
        guard let text = selectorString(selector) else { return "<error>" }
        return text.isEmpty ? "<none>" : text
    }

    // MARK: - Other shared cells

    /// layoutContainerCells: the Containers and Images cells of a pod template.
    static func containerCells(_ podSpec: JSONValue?) -> [JSONValue] {
        let containers = array(podSpec?["containers"])
        return [
            .string(containers.map { text($0["name"]) }.joined(separator: ",")),
            .string(containers.map { text($0["image"]) }.joined(separator: ",")),
        ]
    }

    /// listWithMoreString: at most `max` items, then "+ N more...".
    static func listWithMore(_ items: [String], max: Int) -> String {
        let shown = items.prefix(max).joined(separator: ",")
        if items.count > max { return "\(shown) + \(items.count - max) more..." }
        return shown.isEmpty ? "<unset>" : shown
    }

    /// net.JoinHostPort.
    static func hostPort(_ host: String, _ port: Int64) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// The first condition of that type, as the printers' loops find it.
    static func condition(_ conditions: JSONValue?, type: String) -> JSONValue? {
        array(conditions).first { text($0["type"]) == type }
    }
}
