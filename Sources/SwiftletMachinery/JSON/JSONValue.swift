/// An untyped JSON value: how Swiftlet holds every API object.
///
/// Kubernetes objects are stored and served as they came, so a field Swiftlet does not act on is
/// never dropped or altered. Code that needs a field reads it through the accessors here.
/// Integers stay integers (`replicas: 3` must not come back as `3.0`).
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case let (.bool(a), .bool(b)): return a == b
        case let (.int(a), .int(b)): return a == b
        case let (.double(a), .double(b)): return a == b
        case let (.int(a), .double(b)), let (.double(b), .int(a)): return Double(a) == b
        case let (.string(a), .string(b)): return a == b
        case let (.array(a), .array(b)): return a == b
        case let (.object(a), .object(b)): return a == b
        default: return false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .null: hasher.combine(0)
        case .bool(let b): hasher.combine(b)
        case .int(let i): hasher.combine(Double(i))
        case .double(let d): hasher.combine(d)
        case .string(let s): hasher.combine(s)
        case .array(let a): hasher.combine(a)
        case .object(let o): hasher.combine(o)
        }
    }
}

// MARK: - Typed access

extension JSONValue {
    public var isNull: Bool { if case .null = self { return true } else { return false } }

    public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }

    public var boolValue: Bool? { if case .bool(let b) = self { return b } else { return nil } }

    /// Integers, and doubles that hold a whole number (a client may send `3.0`).
    public var intValue: Int64? {
        switch self {
        case .int(let i): return i
        case .double(let d) where d.rounded() == d && abs(d) < 9.2e18: return Int64(d)
        default: return nil
        }
    }

    public var doubleValue: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }

    public var arrayValue: [JSONValue]? { if case .array(let a) = self { return a } else { return nil } }

    public var objectValue: JSONObject? { if case .object(let o) = self { return o } else { return nil } }

    /// The JSON type name, as error messages name it ("string", "integer", "object", ...).
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .int: return "integer"
        case .double: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    /// How Go's encoding/json names a JSON value's type in "cannot unmarshal X into ..."
    /// errors, which Kubernetes passes through to clients for undecodable bodies.
    public var goJSONTypeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "bool"
        case .int, .double: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    /// Member access on objects. Reading a missing key, or from a non-object, gives nil.
    /// Writing turns a non-object into an empty object first; writing nil removes the key.
    public subscript(key: String) -> JSONValue? {
        get {
            if case .object(let o) = self { return o[key] }
            return nil
        }
        set {
            var o: JSONObject
            if case .object(let existing) = self { o = existing } else { o = JSONObject() }
            self = .null  // release the old storage so `o` is uniquely referenced
            o[key] = newValue
            self = .object(o)
        }
    }

    /// Element access on arrays; nil when out of range or not an array.
    public subscript(index: Int) -> JSONValue? {
        if case .array(let a) = self, a.indices.contains(index) { return a[index] }
        return nil
    }

    /// The value at a path of object keys, e.g. `obj[path: "metadata", "name"]`.
    public subscript(path path: String...) -> JSONValue? {
        get { self[keyPath: path] }
        set { self[keyPath: path] = newValue }
    }

    /// The value at a path of object keys. Setting creates the intermediate objects.
    public subscript(keyPath path: [String]) -> JSONValue? {
        get {
            var current: JSONValue? = self
            for key in path { current = current?[key] }
            return current
        }
        set {
            guard let first = path.first else {
                if let newValue { self = newValue }
                return
            }
            if path.count == 1 {
                self[first] = newValue
                return
            }
            var child = self[first] ?? .object(JSONObject())
            if newValue == nil, self[first] == nil { return }
            child[keyPath: Array(path.dropFirst())] = newValue
            self[first] = child
        }
    }
}

extension JSONValue {
    /// The same value with every object's keys in byte order, as Go's encoding/json writes
    /// maps (what a client comparing annotation text expects).
    public func sortingKeys() -> JSONValue {
        switch self {
        case .object(let object): return .object(JSONObject(object.sortedByKey.map { ($0.key, $0.value.sortingKeys()) }))
        case .array(let items): return .array(items.map { $0.sortingKeys() })
        default: return self
        }
    }
}

// MARK: - Literals

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral, ExpressibleByFloatLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        var o = JSONObject()
        for (k, v) in elements { o[k] = v }
        self = .object(o)
    }
    public init(nilLiteral: ()) { self = .null }
}
