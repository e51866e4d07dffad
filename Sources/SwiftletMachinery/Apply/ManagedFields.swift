import Foundation

/// One `metadata.managedFields` entry: who (manager, operation, subresource) owns which fields.
public struct ManagedFieldsEntry: Sendable, Equatable {
    public enum Operation: String, Sendable { case apply = "Apply", update = "Update" }

    public var manager: String
    public var operation: Operation
    public var apiVersion: String
    public var time: String?
    public var subresource: String
    public var fields: FieldSet

    public init(manager: String, operation: Operation, apiVersion: String, time: String?, subresource: String = "", fields: FieldSet) {
        self.manager = manager
        self.operation = operation
        self.apiVersion = apiVersion
        self.time = time
        self.subresource = subresource
        self.fields = fields
    }

    /// Entries are one per manager, operation and subresource, as upstream keys them.
    func sameOwner(_ other: ManagedFieldsEntry) -> Bool {
        manager == other.manager && operation == other.operation && subresource == other.subresource
    }

    /// As upstream's `printManager` names the owner in conflicts.
    var ownerText: String {
        var text = GoText.quote(manager)
        if !subresource.isEmpty { text += " with subresource \(GoText.quote(subresource))" }
        if operation == .update {
            text += " using \(apiVersion)"
            if let time { text += " at \(time)" }
        }
        return text
    }

    /// The entry as the API serves it, in Go's field order.
    public var json: JSONValue {
        var object = JSONObject()
        object["manager"] = .string(manager)
        object["operation"] = .string(operation.rawValue)
        object["apiVersion"] = .string(apiVersion)
        if let time { object["time"] = .string(time) }
        object["fieldsType"] = "FieldsV1"
        object["fieldsV1"] = fields.fieldsV1
        if !subresource.isEmpty { object["subresource"] = .string(subresource) }
        return .object(object)
    }

    public init?(json: JSONValue) {
        guard let operation = json["operation"]?.stringValue.flatMap(Operation.init(rawValue:)) else { return nil }
        self.manager = json["manager"]?.stringValue ?? ""
        self.operation = operation
        self.apiVersion = json["apiVersion"]?.stringValue ?? ""
        self.time = json["time"]?.stringValue
        self.subresource = json["subresource"]?.stringValue ?? ""
        self.fields = FieldSet(fieldsV1: json["fieldsV1"] ?? .object(JSONObject()))
    }

    /// The entries an object records; unreadable ones are dropped.
    public static func entries(of object: JSONValue) -> [ManagedFieldsEntry] {
        (object[path: "metadata", "managedFields"]?.arrayValue ?? []).compactMap(ManagedFieldsEntry.init(json:))
    }

    /// The entries as stored, in upstream's order: Apply before Update, then oldest first, then
    /// by manager, API version and subresource.
    public static func json(_ entries: [ManagedFieldsEntry]) -> JSONValue? {
        guard !entries.isEmpty else { return nil }
        let sorted = entries.sorted { p, q in
            if p.operation != q.operation { return p.operation.rawValue < q.operation.rawValue }
            // RFC 3339 times in UTC with whole seconds sort as text.
            if (p.time ?? "") != (q.time ?? "") { return (p.time ?? "") < (q.time ?? "") }
            return (p.manager, p.apiVersion, p.subresource) < (q.manager, q.apiVersion, q.subresource)
        }
        return .array(sorted.map(\.json))
    }
}
