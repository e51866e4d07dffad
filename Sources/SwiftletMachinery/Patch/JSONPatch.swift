/// RFC 6902 JSON Patch (`application/json-patch+json`), applied as Kubernetes applies it with
/// gopkg.in/evanphx/json-patch.v4, since clients (kubectl `rollout undo`, controllers) are
/// written against that library. Where v4 departs from the RFC, this follows v4:
///
/// - `replace`, `copy` and `test` read a missing object member as null, so `replace` of a
///   missing member adds it. v4.8 reverted the RFC's "target must exist" check for
///   compatibility, and Kubernetes vendors v4.13. Missing array elements and missing
///   containers on the way are still errors, and `remove`/`move` still need the member.
/// - Negative array indices count from the end.
/// - `add` at the root ("") fails; `replace` at the root needs an object or array value.
/// - A missing `value` member is null.
///
/// Every failure of a decoded patch is `PatchError.inapplicable` (422 upstream); a body that
/// is not an array of objects is `malformed` (400). A `null` body decodes, as in Go, to an
/// empty patch.
public enum JSONPatch {
    /// How much one patch may do: kube-apiserver takes at most 10,000 operations, and its JSON
    /// patch library lets `copy` operations add at most the request body limit (3 MiB) in all,
    /// so a small patch cannot grow an object without end.
    public struct Limits: Sendable {
        public var maxOperations: Int
        public var maxCopiedBytes: Int

        public init(maxOperations: Int, maxCopiedBytes: Int) {
            self.maxOperations = maxOperations
            self.maxCopiedBytes = maxCopiedBytes
        }

        public static let apiServer = Limits(maxOperations: 10_000, maxCopiedBytes: 3 * 1024 * 1024)
        public static let none = Limits(maxOperations: .max, maxCopiedBytes: .max)
    }

    public static func apply(_ patch: JSONValue, to document: JSONValue, limits: Limits = .none) throws(PatchError) -> JSONValue {
        let operations: [JSONValue]
        switch patch {
        case .array(let a): operations = a
        case .null: return document
        default:
            throw .malformed("json: cannot unmarshal \(patch.goJSONTypeName) into Go value of type jsonpatch.Patch")
        }
        // Upstream decodes the whole body before applying anything, so an undecodable element
        // is a 400 even when the operations before it would have failed first.
        for operation in operations {
            switch operation {
            case .object, .null: continue
            default:
                throw .malformed("json: cannot unmarshal \(operation.goJSONTypeName) into Go value of type jsonpatch.Operation")
            }
        }
        guard operations.count <= limits.maxOperations else {
            throw .tooLarge("The allowed maximum operations in a JSON patch is \(limits.maxOperations), got \(operations.count)")
        }
        var result = document
        var copied = 0
        for operation in operations {
            try Operation(fields: operation.objectValue ?? JSONObject()).apply(to: &result) { (bytes) throws(PatchError) in
                copied += bytes
                guard copied <= limits.maxCopiedBytes else {
                    throw .tooLarge("Unable to complete the copy, the accumulated size increase of copy is \(copied), exceeding the limit \(limits.maxCopiedBytes)")
                }
            }
        }
        return result
    }
}

private struct Operation {
    let fields: JSONObject

    /// `copying` is told the encoded size of each value a `copy` adds.
    func apply(to document: inout JSONValue, copying: (Int) throws(PatchError) -> Void) throws(PatchError) {
        let kind = fields["op"]?.stringValue ?? "unknown"
        switch kind {
        case "add":
            let path = try pointer("path", kind)
            try run(kind, path) { () throws(PointerFailure) in
                try path.modifyParent(of: &document) { (c, key) throws(PointerFailure) in
                    try Operation.insert(value, into: &c, at: key)
                }
            }
        case "remove":
            let path = try pointer("path", kind)
            try run(kind, path) { () throws(PointerFailure) in
                try path.modifyParent(of: &document) { (c, key) throws(PointerFailure) in
                    _ = try Operation.remove(from: &c, at: key)
                }
            }
        case "replace":
            let path = try pointer("path", kind)
            if path.tokens.isEmpty {
                switch value {
                case .object, .array: document = value
                default: throw .inapplicable("replace operation value must be object or array")
                }
                return
            }
            try run(kind, path) { () throws(PointerFailure) in
                try path.modifyParent(of: &document) { (c, key) throws(PointerFailure) in
                    try Operation.replace(in: &c, at: key, with: value)
                }
            }
        case "move":
            let from = try pointer("from", kind)
            var moved = JSONValue.null
            try run(kind, from, role: "from path") { () throws(PointerFailure) in
                try from.modifyParent(of: &document) { (c, key) throws(PointerFailure) in
                    moved = try Operation.remove(from: &c, at: key)
                }
            }
            let path = try pointer("path", kind)
            try run(kind, path, role: "destination path") { () throws(PointerFailure) in
                try path.modifyParent(of: &document) { (c, key) throws(PointerFailure) in
                    try Operation.insert(moved, into: &c, at: key)
                }
            }
        case "copy":
            let from = try pointer("from", kind)
            let copied = try run(kind, from, role: "from path") { () throws(PointerFailure) in
                try from.value(in: document)
            }
            try copying(JSONWriter.write(copied).count)
            let path = try pointer("path", kind)
            try run(kind, path, role: "destination path") { () throws(PointerFailure) in
                try path.modifyParent(of: &document) { (c, key) throws(PointerFailure) in
                    try Operation.insert(copied, into: &c, at: key)
                }
            }
        case "test":
            let path = try pointer("path", kind)
            let actual = try run(kind, path) { () throws(PointerFailure) in try path.value(in: document) }
            // v4 treats a missing member and an explicit null alike: both match only null.
            let matches = actual.isNull ? value.isNull : actual == value
            guard matches else { throw .inapplicable("testing value \(path) failed: test failed") }
        default:
            throw .inapplicable("Unexpected kind: \(kind)")
        }
    }

    private var value: JSONValue { fields["value"] ?? .null }

    private func pointer(_ member: String, _ kind: String) throws(PatchError) -> JSONPointer {
        switch fields[member] {
        case .string(let s)?:
            guard let p = JSONPointer(s) else {
                throw .inapplicable("\(kind) operation does not apply: doc is missing path: \"\(s)\": missing value")
            }
            return p
        case nil, .null?:
            throw .inapplicable("\(kind) operation failed to decode \(member): operation missing \(member) field: missing value")
        case let other?:
            throw .inapplicable("\(kind) operation failed to decode \(member): json: cannot unmarshal \(other.goJSONTypeName) into Go value of type string")
        }
    }

    /// Words a pointer failure the way v4 does for this operation and role.
    private func run<T>(_ kind: String, _ pointer: JSONPointer, role: String = "path",
                        _ body: () throws(PointerFailure) -> T) throws(PatchError) -> T {
        do {
            return try body()
        } catch {
            switch error {
            case .noParent:
                throw .inapplicable("\(kind) operation does not apply: doc is missing \(role): \"\(pointer)\": missing value")
            case .badTarget(let detail):
                throw .inapplicable("error in \(kind) for path: '\(pointer)': \(detail)")
            }
        }
    }

    /// "add": sets an object member (replacing any value) or inserts into an array, where
    /// "-" appends and an index may equal the count.
    static func insert(_ value: JSONValue, into container: inout JSONValue, at key: String) throws(PointerFailure) {
        switch container {
        case .object(var o):
            container = .null
            o[key] = value
            container = .object(o)
        case .array(var a):
            var position = a.count
            if key != "-" {
                guard let i = Int(key) else { throw .badTarget("value was not a proper array index: '\(key)'") }
                position = i < 0 ? i + a.count + 1 : i
                guard position >= 0, position <= a.count else {
                    throw .badTarget("Unable to access invalid index: \(i): invalid index referenced")
                }
            }
            container = .null
            a.insert(value, at: position)
            container = .array(a)
        default:
            throw .noParent
        }
    }

    static func remove(from container: inout JSONValue, at key: String) throws(PointerFailure) -> JSONValue {
        switch container {
        case .object(var o):
            guard let removed = o[key] else {
                throw .badTarget("Unable to remove nonexistent key: \(key): missing value")
            }
            container = .null
            o[key] = nil
            container = .object(o)
            return removed
        case .array(var a):
            let i = try JSONPointer.existingIndex(key, count: a.count)
            container = .null
            let removed = a.remove(at: i)
            container = .array(a)
            return removed
        default:
            throw .noParent
        }
    }

    static func replace(in container: inout JSONValue, at key: String, with value: JSONValue) throws(PointerFailure) {
        switch container {
        case .object(var o):
            container = .null
            o[key] = value
            container = .object(o)
        case .array(var a):
            let i = try JSONPointer.existingIndex(key, count: a.count)
            container = .null
            a[i] = value
            container = .array(a)
        default:
            throw .noParent
        }
    }
}
