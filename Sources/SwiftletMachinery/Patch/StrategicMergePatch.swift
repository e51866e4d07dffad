/// Kubernetes' strategic merge patch (`application/strategic-merge-patch+json`), the patch
/// kubectl `apply`, `edit` and `set` send for built-in kinds.
///
/// It follows k8s.io/apimachinery `pkg/util/strategicpatch` (`StrategicMergeMapPatch`, the
/// server side, which merges the parallel directive lists and ignores unmatched nulls),
/// because kubectl computes its patches assuming exactly that merge. Where upstream relies on
/// decoding the result into a Go struct to clean up, this cleans up itself, since Swiftlet
/// stores the merged JSON as it is: values the patch introduces lose their null members and
/// have their directives processed (upstream copies them raw), so no directive ever reaches
/// the result. Where upstream fails on a case kubectl never produces, this picks the
/// evident meaning instead:
///
/// - `$setElementOrder/f` orders only lists whose strategy is "merge"; for any other list,
///   which the patch replaces whole, it is dropped. It is also dropped when `f` is not a list
///   in the patch or the original, leaving `f` to the ordinary rules.
/// - Ordering an empty result is a no-op, not "no elements in any of the given slices".
/// - Integers and floats count as one element type of a list.
///
/// `$patch: merge` is refused as upstream refuses it (in a map "unknown patch type", in a
/// list "merging lists cannot yet be specified"): merging is already the default, and
/// accepting it would let patches through that a real API server rejects.
public enum StrategicMergePatch {
    /// Applies `patch` to `original`. `schema` describes `original`'s kind; nil means nothing
    /// is known, so objects merge (null deletes) and lists are replaced.
    public static func apply(_ patch: JSONValue, to original: JSONValue,
                             schema: (any StrategicMergeSchema)?) throws(PatchError) -> JSONValue {
        switch patch {
        case .object(let members):
            return .object(try mergeObject(original.objectValue ?? JSONObject(), members, schema))
        case .null:
            // Go decodes a `null` body into an empty map: nothing to merge.
            return original
        default:
            throw .malformed("json: cannot unmarshal \(patch.goJSONTypeName) into Go value of type map[string]interface {}")
        }
    }
}

/// The patch directives: keys a strategic patch uses to steer the merge, never data.
enum Directive {
    static let patch = "$patch"
    static let retainKeys = "$retainKeys"
    static let setElementOrder = "$setElementOrder"
    static let deleteFromPrimitiveList = "$deleteFromPrimitiveList"
}

/// What the schema says about one field of an object.
struct FieldMeta {
    let name: String
    let schema: (any StrategicMergeSchema)?
    /// "merge" or "replace", or nil for the default (objects merge, lists are replaced).
    /// "retainKeys" is not kept: it only permits the `$retainKeys` directive, which acts
    /// wherever it appears.
    let strategy: String?

    init(_ name: String, in parent: (any StrategicMergeSchema)?) throws(PatchError) {
        self.name = name
        schema = parent?.member(name)
        let others = (schema?.patchStrategies ?? []).subtracting(["retainKeys"])
        guard others.count <= 1 else {
            throw .unmergeable("unexpected patch strategy: [\(schema?.patchStrategies.sorted().joined(separator: " ") ?? "")]")
        }
        strategy = others.first
    }

    var mergeKey: String? {
        guard let key = schema?.patchMergeKey, !key.isEmpty else { return nil }
        return key
    }
}

extension StrategicMergePatch {
    /// Merges `patch` into `original`: directives first (`$patch`, then `$retainKeys`, then
    /// the `$setElementOrder` lists), then every other member in patch order, as upstream's
    /// `mergeMap` does.
    static func mergeObject(_ original: JSONObject, _ patch: JSONObject,
                            _ schema: (any StrategicMergeSchema)?) throws(PatchError) -> JSONObject {
        if let directive = patch[Directive.patch] {
            switch directive {
            case "replace":
                var replacement = patch
                replacement[Directive.patch] = nil
                return try mergeObject(JSONObject(), replacement, schema)
            case "delete":
                return JSONObject()
            default:
                throw .unmergeable("unknown patch type: \(directive.goDescription) in map: \(JSONValue.object(patch).goDescription)")
            }
        }

        var result = original
        if let retained = patch[Directive.retainKeys] {
            result = try retainingKeys(retained, of: result, patch: patch)
        }

        var ordered: Set<String> = []
        for (key, value) in patch where key.hasPrefix(Directive.setElementOrder) {
            let field = try directiveField(key, Directive.setElementOrder, malformed: "invalid patch format of setElementOrder list")
            if let list = try orderedList(FieldMeta(field, in: schema), order: value,
                                          original: result[field], patch: patch[field]) {
                result[field] = list
                ordered.insert(field)
            }
        }

        for (key, value) in patch {
            if key == Directive.retainKeys || key.hasPrefix(Directive.setElementOrder) || ordered.contains(key) {
                continue
            }
            let deleting = key.hasPrefix(Directive.deleteFromPrimitiveList)
            let field = deleting
                ? try directiveField(key, Directive.deleteFromPrimitiveList, malformed: "invalid patch format of primitive list")
                : key
            if value.isNull {
                result[field] = nil
                continue
            }
            let meta = try FieldMeta(field, in: schema)
            switch (result[field], value) {
            case (.object(let current)?, .object(let members)):
                result[field] = meta.strategy == "replace"
                    ? try materialize(value, meta.schema)
                    : .object(try mergeObject(current, members, meta.schema))
            case (.array(let current)?, .array(let elements)) where meta.strategy == "merge" || deleting:
                result[field] = .array(try mergeList(current, elements, meta, deleting: deleting))
            default:
                // A deletion list only ever removes from an existing list.
                if !deleting { result[field] = try materialize(value, meta.schema) }
            }
        }
        return result
    }

    /// `$retainKeys`: members of the original not listed are cleared before the merge, so a
    /// union field (a volume source, a deployment strategy) can switch variants. Every member
    /// the patch sets must be listed, or the patch is malformed.
    private static func retainingKeys(_ retained: JSONValue, of original: JSONObject,
                                      patch: JSONObject) throws(PatchError) -> JSONObject {
        guard case .array(let names) = retained else { throw .malformed("invalid patch format of retainKeys") }
        let keep = Set(names.compactMap(\.stringValue))
        for (key, value) in patch where !value.isNull && key != Directive.retainKeys
            && !key.hasPrefix(Directive.deleteFromPrimitiveList) && !key.hasPrefix(Directive.setElementOrder) {
            guard keep.contains(key) else { throw .malformed("invalid patch format of retainKeys") }
        }
        var kept = JSONObject()
        for (key, value) in original where keep.contains(key) { kept[key] = value }
        return kept
    }

    /// The field a `$prefix/field` directive names.
    private static func directiveField(_ key: String, _ prefix: String, malformed: String) throws(PatchError) -> String {
        guard let slash = key.firstIndex(of: "/"), key[..<slash] == prefix else { throw .malformed(malformed) }
        return String(key[key.index(after: slash)...])
    }

    /// The value a patch creates where the original has nothing: the patch value merged into
    /// nothing, so nested directives act and null members vanish. Nil when the value is
    /// itself a deletion.
    static func materialize(_ value: JSONValue, _ schema: (any StrategicMergeSchema)?) throws(PatchError) -> JSONValue? {
        switch value {
        case .object(let members):
            if members[Directive.patch] == "delete" { return nil }
            return .object(try mergeObject(JSONObject(), members, schema))
        case .array(let elements):
            return .array(try materializeList(elements, schema?.elements))
        default:
            return value
        }
    }

    /// A list the patch creates. Elements carrying `$patch` are markers for merging into an
    /// existing list (delete this element, replace the list), so with no list they go.
    static func materializeList(_ elements: [JSONValue], _ elementSchema: (any StrategicMergeSchema)?) throws(PatchError) -> [JSONValue] {
        var result: [JSONValue] = []
        for element in elements {
            if case .object(let members) = element, members[Directive.patch] != nil { continue }
            if let value = try materialize(element, elementSchema) { result.append(value) }
        }
        return result
    }
}
