import SwiftletMachinery

/// One column of a `meta.k8s.io/v1` Table (`TableColumnDefinition`). kubectl takes the header
/// from `name` (upper-cased) and hides columns with a priority above 0 unless `-o wide`.
public struct TableColumn: Sendable, Hashable {
    public var name: String
    /// An OpenAPI type: "string", "integer", "boolean", "date".
    public var type: String
    /// "name" marks the column holding the object's name; otherwise empty.
    public var format: String
    public var description: String
    public var priority: Int

    public init(name: String, type: String, format: String = "", description: String, priority: Int = 0) {
        self.name = name
        self.type = type
        self.format = format
        self.description = description
        self.priority = priority
    }

    /// Every member is written, empty or not, as Go's encoder writes this struct.
    public var json: JSONValue {
        [
            "name": .string(name), "type": .string(type), "format": .string(format),
            "description": .string(description), "priority": .int(Int64(priority)),
        ]
    }
}
