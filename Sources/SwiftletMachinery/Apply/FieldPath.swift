/// One step into an object, as structured-merge-diff names it: a field of a map or struct, an
/// item of an associative list by its key fields, an item of a set by its value, or an item
/// of a list by position.
public enum PathElement: Hashable, Sendable {
    case field(String)
    /// Key fields of a list-map item, sorted by name, each value as compact JSON.
    case key([KeyField])
    /// A set item, as compact JSON.
    case value(String)
    case index(Int)

    public struct KeyField: Hashable, Sendable {
        public var name: String
        public var json: String

        public init(name: String, json: String) {
            self.name = name
            self.json = json
        }
    }

    /// The element as a FieldsV1 member name: `f:name`, `k:{"name":"c"}`, `v:"x"`, `i:0`.
    public var fieldsV1Name: String {
        switch self {
        case .field(let name): return "f:" + name
        case .key(let fields):
            // JSON with the key fields in name order, as the Go encoder writes them.
            var out: [UInt8] = [UInt8(ascii: "{")]
            for (i, field) in fields.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                JSONWriter.writeString(field.name, into: &out)
                out.append(UInt8(ascii: ":"))
                out += Array(field.json.utf8)
            }
            out.append(UInt8(ascii: "}"))
            return "k:" + String(decoding: out, as: UTF8.self)
        case .value(let json): return "v:" + json
        case .index(let i): return "i:\(i)"
        }
    }

    /// Parses a FieldsV1 member name; nil for one this reader does not know.
    public init?(fieldsV1Name name: String) {
        guard name.count >= 2, name.dropFirst().first == ":" else { return nil }
        let rest = String(name.dropFirst(2))
        switch name.first {
        case "f": self = .field(rest)
        case "v": self = .value(rest)
        case "i":
            guard let i = Int(rest) else { return nil }
            self = .index(i)
        case "k":
            guard let object = try? JSONParser.parse(Array(rest.utf8)).value.objectValue else { return nil }
            self = .key(object.sortedByKey.map { KeyField(name: $0.key, json: JSONWriter.string($0.value)) })
        default: return nil
        }
    }

    /// The element as structured-merge-diff prints it in conflict messages.
    public var pathText: String {
        switch self {
        case .field(let name): return "." + name
        case .key(let fields): return "[" + fields.map { "\($0.name)=\($0.json)" }.joined(separator: ",") + "]"
        case .value(let json): return "[=" + json + "]"
        case .index(let i): return "[\(i)]"
        }
    }
}

/// A path from an object's root: `.spec.template.spec.containers[name="web"].image`.
public typealias FieldPath = [PathElement]

extension Array where Element == PathElement {
    public var pathText: String { map(\.pathText).joined() }
}
