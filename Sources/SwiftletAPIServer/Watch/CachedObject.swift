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

    init(key: String, bytes: [UInt8], revision: Int64, object: JSONValue, type: ResourceType) {
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
        self.fields = type.fieldValues(of: object)
    }

    /// Parses the stored bytes (they were valid JSON when written).
    public func object() -> JSONValue {
        (try? JSONParser.parse(bytes).value) ?? .null
    }
}
