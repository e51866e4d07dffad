/// A set of field paths, as managedFields record what each manager owns. Members are the
/// leaves of an object (scalars, atomic lists and maps, empty maps) and the items of
/// associative lists and sets; a struct holding other members is not a member itself.
public struct FieldSet: Sendable, Equatable {
    public private(set) var paths: Set<FieldPath>

    public init(_ paths: Set<FieldPath> = []) {
        self.paths = paths
    }

    public var isEmpty: Bool { paths.isEmpty }

    public func contains(_ path: FieldPath) -> Bool { paths.contains(path) }
    public func union(_ other: FieldSet) -> FieldSet { FieldSet(paths.union(other.paths)) }
    public func subtracting(_ other: FieldSet) -> FieldSet { FieldSet(paths.subtracting(other.paths)) }
    public func intersection(_ other: FieldSet) -> FieldSet { FieldSet(paths.intersection(other.paths)) }

    /// Removes every path that starts with one of `prefixes` (upstream's reset fields, which
    /// belong to another endpoint: status on the main resource, everything else on /status).
    public func removingPrefixes(_ prefixes: [FieldPath]) -> FieldSet {
        FieldSet(paths.filter { path in !prefixes.contains { path.starts(with: $0) } })
    }

    /// Keeps only paths under one of `prefixes`.
    public func keepingPrefixes(_ prefixes: [FieldPath]) -> FieldSet {
        FieldSet(paths.filter { path in prefixes.contains { path.starts(with: $0) } })
    }

    // MARK: FieldsV1

    /// The FieldsV1 object: nested members named `f:`, `k:`, `v:` or `i:`, `{}` for a leaf,
    /// and `".": {}` in a node that is itself a member and has members below it.
    public var fieldsV1: JSONValue {
        final class Node {
            var children: [String: Node] = [:]
            var order: [String] = []
            var isMember = false
        }
        let root = Node()
        for path in paths {
            var node = root
            for element in path {
                let name = element.fieldsV1Name
                if let next = node.children[name] {
                    node = next
                } else {
                    let next = Node()
                    node.children[name] = next
                    node.order.append(name)
                    node = next
                }
            }
            node.isMember = true
        }
        func encode(_ node: Node) -> JSONValue {
            var object = JSONObject()
            if node.isMember && !node.children.isEmpty { object["."] = .object(JSONObject()) }
            // Go's encoder writes map keys sorted.
            for name in node.order.sorted() { object[name] = encode(node.children[name]!) }
            return .object(object)
        }
        return encode(root)
    }

    /// Reads a FieldsV1 object. Members it cannot parse are skipped, as a set that names an
    /// unknown element can own nothing this server writes.
    public init(fieldsV1 value: JSONValue) {
        var paths = Set<FieldPath>()
        func read(_ value: JSONValue, _ prefix: FieldPath) {
            guard let object = value.objectValue else { return }
            if object.isEmpty {
                if !prefix.isEmpty { paths.insert(prefix) }
                return
            }
            for (name, child) in object {
                if name == "." {
                    if !prefix.isEmpty { paths.insert(prefix) }
                    continue
                }
                guard let element = PathElement(fieldsV1Name: name) else { continue }
                read(child, prefix + [element])
            }
        }
        read(value, [])
        self.paths = paths
    }
}

/// An object seen as structured-merge-diff sees it: each member path, with its value for
/// leaves and nil for list items (which hold members of their own).
public struct FieldValues: Sendable {
    public private(set) var values: [FieldPath: JSONValue?] = [:]

    public var set: FieldSet { FieldSet(Set(values.keys)) }

    /// Walks `object` below its root members `roots` (nil: all of them), leaving out what
    /// `skip` says the server owns (identity and bookkeeping in metadata).
    public init(_ object: JSONValue, schema: (any ApplySchema)?, skip: (FieldPath) -> Bool) {
        guard let members = object.objectValue else { return }
        for (name, value) in members {
            let path: FieldPath = [.field(name)]
            if skip(path) { continue }
            walk(value, schema?.applyMember(name), path, skip)
        }
    }

    private mutating func walk(_ value: JSONValue, _ schema: (any ApplySchema)?, _ path: FieldPath, _ skip: (FieldPath) -> Bool) {
        switch value {
        case .object(let object):
            if object.isEmpty || schema?.isAtomicMap == true {
                values[path] = .some(value)
                return
            }
            for (name, child) in object {
                let childPath = path + [.field(name)]
                if skip(childPath) { continue }
                walk(child, schema?.applyMember(name), childPath, skip)
            }
        case .array(let items):
            switch schema?.listType ?? .atomic {
            case .atomic:
                values[path] = .some(value)
            case .set:
                for item in items { values[path + [.value(JSONWriter.string(item))]] = .some(item) }
            case .map(let keys):
                let elements = schema?.applyElements
                for (i, item) in items.enumerated() {
                    let itemPath = path + [Self.element(of: item, keys: keys, index: i)]
                    values[itemPath] = .some(nil)
                    guard let fields = item.objectValue else { continue }
                    for (name, child) in fields {
                        walk(child, elements?.applyMember(name), itemPath + [.field(name)], skip)
                    }
                }
            }
        default:
            values[path] = .some(value)
        }
    }

    /// The path element of a list-map item: its key fields (a missing one takes its default),
    /// or its position when it has none of them.
    static func element(of item: JSONValue, keys: [String], index: Int) -> PathElement {
        var fields: [PathElement.KeyField] = []
        for key in keys.sorted() {
            guard let value = item[key] ?? ListMapKeyDefaults.values[key] else { continue }
            fields.append(.init(name: key, json: JSONWriter.string(value)))
        }
        return fields.isEmpty ? .index(index) : .key(fields)
    }

    /// What changed from `old` to `new`: members only `new` has, only `old` has, and leaves
    /// whose values differ (structured-merge-diff's Comparison).
    public static func compare(_ old: FieldValues, _ new: FieldValues) -> (added: FieldSet, removed: FieldSet, modified: FieldSet) {
        var added = Set<FieldPath>(), removed = Set<FieldPath>(), modified = Set<FieldPath>()
        for (path, value) in new.values {
            guard let previous = old.values[path] else {
                added.insert(path)
                continue
            }
            if let value, previous != value { modified.insert(path) }
        }
        for path in old.values.keys where new.values[path] == nil { removed.insert(path) }
        return (FieldSet(added), FieldSet(removed), FieldSet(modified))
    }
}
