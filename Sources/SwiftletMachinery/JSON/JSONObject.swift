/// A JSON object that keeps its members in insertion order.
///
/// Kubernetes objects have few keys per map, so a pair of arrays with linear lookup is smaller
/// and faster than a dictionary, and it keeps the order the client wrote (apiVersion, kind,
/// metadata, spec, status), which makes stored objects read naturally.
public struct JSONObject: Sendable, Hashable, Sequence {
    public private(set) var keys: [String] = []
    public private(set) var values: [JSONValue] = []

    public init() {}

    public init(_ pairs: [(String, JSONValue)]) {
        for (k, v) in pairs { self[k] = v }
    }

    public var count: Int { keys.count }
    public var isEmpty: Bool { keys.isEmpty }

    public func index(of key: String) -> Int? { keys.firstIndex(of: key) }

    public subscript(key: String) -> JSONValue? {
        get {
            guard let i = keys.firstIndex(of: key) else { return nil }
            return values[i]
        }
        set {
            if let i = keys.firstIndex(of: key) {
                if let newValue { values[i] = newValue } else {
                    keys.remove(at: i)
                    values.remove(at: i)
                }
            } else if let newValue {
                keys.append(key)
                values.append(newValue)
            }
        }
    }

    /// Appends without checking for an existing key; for parsers that have checked already.
    mutating func appendUnchecked(_ key: String, _ value: JSONValue) {
        keys.append(key)
        values.append(value)
    }

    public func makeIterator() -> some IteratorProtocol<(key: String, value: JSONValue)> {
        var i = 0
        let keys = self.keys, values = self.values
        return AnyIterator {
            guard i < keys.count else { return nil }
            defer { i += 1 }
            return (key: keys[i], value: values[i])
        }
    }

    /// Members compare as a set: the order of keys does not matter for equality.
    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.keys.count == rhs.keys.count else { return false }
        for (i, key) in lhs.keys.enumerated() {
            guard let other = rhs[key], other == lhs.values[i] else { return false }
        }
        return true
    }

    public func hash(into hasher: inout Hasher) {
        // Order-independent, to agree with ==.
        var combined = 0
        for (i, key) in keys.enumerated() {
            var h = Hasher()
            h.combine(key)
            h.combine(values[i])
            combined ^= h.finalize()
        }
        hasher.combine(combined)
    }

    /// The members sorted by key, as Go's encoding/json writes maps.
    public var sortedByKey: [(key: String, value: JSONValue)] {
        zip(keys, values).sorted { $0.0 < $1.0 }.map { (key: $0.0, value: $0.1) }
    }
}
