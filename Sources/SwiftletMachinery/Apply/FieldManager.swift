/// Server-side apply and field ownership, as upstream's fieldmanager over structured-merge-diff:
/// every write records which fields its manager set (`metadata.managedFields`); an apply merges
/// the applied configuration into the live object, refuses to take fields another manager set
/// to something else unless forced, and removes what the manager applied before and no
/// longer applies when nobody else owns it.
public struct FieldManager: Sendable {
    public var schema: (any ApplySchema)?
    public var apiVersion: String
    /// The root members this endpoint writes: `status` alone for the status subresource; for
    /// the resource itself everything but `status` when a status subresource exists.
    public var endpoint: Endpoint

    public enum Endpoint: Sendable {
        case whole, mainWithStatusApart, status
    }

    public init(schema: (any ApplySchema)?, apiVersion: String, endpoint: Endpoint) {
        self.schema = schema
        self.apiVersion = apiVersion
        self.endpoint = endpoint
    }

    /// Metadata the server sets: nobody owns it.
    static let serverMetadata: Set<String> = [
        "name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp", "deletionTimestamp",
        "deletionGracePeriodSeconds", "selfLink", "managedFields",
    ]

    static func serverOwned(_ path: FieldPath) -> Bool {
        switch path.first {
        case .field("apiVersion"), .field("kind"): return path.count == 1
        case .field("metadata"):
            if path.count == 2, case .field(let name) = path[1] { return serverMetadata.contains(name) }
            return false
        default: return false
        }
    }

    func values(_ object: JSONValue?) -> FieldValues {
        let endpoint = self.endpoint
        return FieldValues(object ?? .object(JSONObject()), schema: schema) { path in
            if Self.serverOwned(path) { return true }
            guard path.count == 1 else { return false }
            switch endpoint {
            case .whole: return false
            case .mainWithStatusApart: return path[0] == .field("status")
            case .status: return path[0] != .field("status")
            }
        }
    }

    private var subresource: String { endpoint == .status ? "status" : "" }

    /// Records an update (create, replace, patch): the manager owns what it changed, and
    /// nobody else owns that any more (updates are always forced). An update that changes
    /// nothing leaves the entries as they were, timestamps included, as upstream's does, so
    /// that a repeated write stays a no-op.
    public func update(old: JSONValue?, new: JSONValue, manager: String, time: String) -> [ManagedFieldsEntry] {
        var entries = old.map(ManagedFieldsEntry.entries(of:)) ?? []
        let change = FieldValues.compare(values(old), values(new))
        let changed = change.added.union(change.modified)
        if changed.isEmpty && change.removed.isEmpty { return entries }
        var me = ManagedFieldsEntry(manager: manager, operation: .update, apiVersion: apiVersion, time: time,
                                    subresource: subresource, fields: FieldSet())
        for i in entries.indices {
            if entries[i].sameOwner(me) {
                me.fields = entries[i].fields
            } else {
                entries[i].fields = entries[i].fields.subtracting(change.modified).subtracting(change.removed)
            }
        }
        entries.removeAll { $0.sameOwner(me) }
        me.fields = me.fields.union(changed).subtracting(change.removed)
        entries.append(me)
        return entries.filter { !$0.fields.isEmpty }
    }

    /// The live object with `config` applied by `manager`, and the new ownership. `live` is
    /// nil when the apply creates the object.
    public func apply(live: JSONValue?, config: JSONValue, manager: String, force: Bool, time: String)
        throws(APIError) -> (object: JSONValue, entries: [ManagedFieldsEntry]) {
        var entries = live.map(ManagedFieldsEntry.entries(of:)) ?? []
        var me = ManagedFieldsEntry(manager: manager, operation: .apply, apiVersion: apiVersion, time: time,
                                    subresource: subresource, fields: values(config).set)
        let previous = entries.first { $0.sameOwner(me) }
        let lastApplied = previous?.fields ?? FieldSet()
        var merged = Self.merge(live, config, schema)
        let change = FieldValues.compare(values(live), values(merged))
        let taken = change.modified.union(change.added)

        var conflicts: [(owner: String, path: FieldPath)] = []
        for entry in entries where !entry.sameOwner(me) {
            for path in entry.fields.intersection(taken).paths { conflicts.append((entry.ownerText, path)) }
        }
        if !force && !conflicts.isEmpty {
            // kubectl moving an object from client-side to server-side apply: the fields its
            // last-applied annotation set, and that still hold those values, are taken over
            // without a conflict, as upstream's lastAppliedManager lets them be.
            let upgraded = manager == Self.kubectlManager ? clientSideApplied(live) : FieldSet()
            let remaining = conflicts.filter { !upgraded.contains($0.path) }
            if !remaining.isEmpty { throw Self.conflictError(remaining) }
        }

        for i in entries.indices where !entries[i].sameOwner(me) {
            entries[i].fields = entries[i].fields.subtracting(taken).subtracting(change.removed)
        }
        entries.removeAll { $0.sameOwner(me) }
        let others = entries.reduce(FieldSet()) { $0.union($1.fields) }
        // What this manager applied before and applies no more goes, unless someone else owns it.
        let released = lastApplied.subtracting(me.fields).subtracting(others)
        if !released.isEmpty { Self.remove(released, from: &merged, schema: schema) }
        // An apply that changes nothing keeps its entry's time, as upstream's does.
        if let previous, previous.fields == me.fields, let live, Self.sameIgnoringOwnership(live, merged) { me.time = previous.time }
        entries.append(me)
        if manager == Self.kubectlManager, live?[path: "metadata", "annotations", Self.lastAppliedAnnotation]?.stringValue?.isEmpty == false {
            // Kept in step, so that a later client-side apply computes its patch from what
            // was applied last, whichever way.
            var lastApplied = config
            lastApplied[path: "metadata", "annotations", Self.lastAppliedAnnotation] = nil
            if lastApplied[path: "metadata", "annotations"]?.objectValue?.isEmpty == true { lastApplied[path: "metadata", "annotations"] = nil }
            merged[path: "metadata", "annotations", Self.lastAppliedAnnotation] = .string(JSONWriter.string(lastApplied.sortingKeys()) + "\n")
        }
        return (merged, entries.filter { !$0.fields.isEmpty })
    }

    /// The manager `kubectl apply --server-side` applies as. Only it inherits what client-side
    /// apply set: a user who names another manager opts out, as upstream.
    static let kubectlManager = "kubectl"
    static let lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

    /// The fields client-side apply last applied (its annotation, in this manager's
    /// apiVersion) that the live object still holds with the same values.
    func clientSideApplied(_ live: JSONValue?) -> FieldSet {
        guard let text = live?[path: "metadata", "annotations", Self.lastAppliedAnnotation]?.stringValue, !text.isEmpty,
              let lastApplied = try? JSONParser.parse(text), lastApplied["apiVersion"]?.stringValue == apiVersion else {
            return FieldSet()
        }
        let liveValues = values(live).values
        return FieldSet(Set(values(lastApplied).values.compactMap { path, value in
            liveValues[path].map { $0 == value } == true ? path : nil
        }))
    }

    static func sameIgnoringOwnership(_ a: JSONValue, _ b: JSONValue) -> Bool {
        var a = a, b = b
        a[path: "metadata", "managedFields"] = nil
        b[path: "metadata", "managedFields"] = nil
        return a == b
    }

    // MARK: Merging

    /// structured-merge-diff's merge of an applied configuration into the live object.
    static func merge(_ live: JSONValue?, _ config: JSONValue, _ schema: (any ApplySchema)?) -> JSONValue {
        switch config {
        case .object(let members):
            guard case .object(var result)? = live, schema?.isAtomicMap != true else { return config }
            for (name, value) in members { result[name] = merge(result[name], value, schema?.applyMember(name)) }
            return .object(result)
        case .array(let items):
            guard case .array(var result)? = live else { return config }
            switch schema?.listType ?? .atomic {
            case .atomic:
                return config
            case .set:
                var present = Set(result)
                for item in items where present.insert(item).inserted { result.append(item) }
                return .array(result)
            case .map(let keys):
                // Items by key, once: a merge stays linear in the list's length.
                let elements = schema?.applyElements
                var index: [PathElement: Int] = [:]
                for (i, item) in result.enumerated() {
                    let element = FieldValues.element(of: item, keys: keys, index: i)
                    if index[element] == nil { index[element] = i }
                }
                for (i, item) in items.enumerated() {
                    let element = FieldValues.element(of: item, keys: keys, index: i)
                    if let j = index[element] {
                        result[j] = merge(result[j], item, elements)
                    } else {
                        index[element] = result.count
                        result.append(item)
                    }
                }
                return .array(result)
            }
        default:
            return config
        }
    }

    /// Removes the members at `paths`, in one walk of the object; a map left empty by the
    /// removals goes too. Only the branches leading to a removed member are walked.
    static func remove(_ paths: FieldSet, from value: inout JSONValue, schema: (any ApplySchema)?) {
        var prefixes = Set<FieldPath>()
        for path in paths.paths {
            for length in 1..<max(1, path.count) { prefixes.insert(Array(path.prefix(length))) }
        }
        remove(paths.paths, prefixes, at: [], from: &value, schema: schema)
    }

    private static func remove(_ targets: Set<FieldPath>, _ prefixes: Set<FieldPath>, at path: FieldPath,
                               from value: inout JSONValue, schema: (any ApplySchema)?) {
        switch value {
        case .object(var members):
            for (name, member) in members {
                let childPath = path + [.field(name)]
                if targets.contains(childPath) {
                    members[name] = nil
                } else if prefixes.contains(childPath) {
                    var child = member
                    let wasEmpty = child.objectValue?.isEmpty == true
                    remove(targets, prefixes, at: childPath, from: &child, schema: schema?.applyMember(name))
                    members[name] = (!wasEmpty && child.objectValue?.isEmpty == true) ? nil : child
                }
            }
            value = .object(members)
        case .array(let items):
            var kept: [JSONValue] = []
            kept.reserveCapacity(items.count)
            let keys: [String]?
            if case .map(let k)? = schema?.listType { keys = k } else { keys = nil }
            for (i, item) in items.enumerated() {
                let element: PathElement = keys.map { FieldValues.element(of: item, keys: $0, index: i) } ?? .value(JSONWriter.string(item))
                let itemPath = path + [element]
                if targets.contains(itemPath) { continue }
                var child = item
                if prefixes.contains(itemPath) { remove(targets, prefixes, at: itemPath, from: &child, schema: schema?.applyElements) }
                kept.append(child)
            }
            value = .array(kept)
        default:
            return
        }
    }

    // MARK: Conflicts

    /// Upstream's 409 for an apply that would take fields from other managers.
    static func conflictError(_ conflicts: [(owner: String, path: FieldPath)]) -> APIError {
        let sorted = conflicts.sorted { ($0.owner, $0.path.pathText) < ($1.owner, $1.path.pathText) }
        let causes: [JSONValue] = sorted.map {
            ["reason": "FieldManagerConflict", "message": .string("conflict with \($0.owner)"), "field": .string($0.path.pathText)]
        }
        let message: String
        if sorted.count == 1 {
            message = "Apply failed with 1 conflict: conflict with \(sorted[0].owner): \(sorted[0].path.pathText)"
        } else {
            var lines: [String] = []
            var lastOwner: String?
            for conflict in sorted {
                if conflict.owner != lastOwner {
                    lines.append("conflicts with \(conflict.owner):")
                    lastOwner = conflict.owner
                }
                lines.append("- \(conflict.path.pathText)")
            }
            message = "Apply failed with \(sorted.count) conflicts: " + lines.joined(separator: "\n")
        }
        return APIError(code: 409, reason: "Conflict", message: message, details: ["causes": .array(causes)])
    }
}
