/// Lists with the "merge" strategy: elements are matched by merge key (lists of objects) or
/// by value (lists of scalars, like finalizers), and the result's order is the one upstream
/// computes, since kubectl's three-way patches are built to reproduce it:
///
/// - Elements the patch mentions come in patch order (or `$setElementOrder` order).
/// - Elements only the server has keep their server order, and are interleaved with the
///   patch's by upstream's `mergeSortedSlice`: a server-only element goes first only when the
///   server already had it before the patch element it is compared with. So an element new
///   to the list is placed before the server-only elements that follow it: a patch adding one
///   container to `[a, b]` gives `[new, a, b]`, not `[a, b, new]`.
extension StrategicMergePatch {
    enum ElementKind: Equatable {
        case null, bool, number, string, object
    }

    /// Merges `patch` into `original` for a merge-strategy list, or for a
    /// `$deleteFromPrimitiveList` directive when `deleting`.
    static func mergeList(_ original: [JSONValue], _ patch: [JSONValue], _ meta: FieldMeta,
                          deleting: Bool) throws(PatchError) -> [JSONValue] {
        guard let kind = try elementKind(original, patch) else { return original }
        guard kind == .object else {
            if deleting { return original.filter { !patch.contains($0) } }
            var seen: Set<JSONValue> = []
            let merged = (original + patch).filter { seen.insert($0).inserted }
            return try ordered(merged, patchOrder: patch, serverOrder: original, key: nil)
        }
        guard let key = meta.mergeKey else {
            throw .unmergeable("cannot merge lists without merge key for \(meta.name)")
        }
        let (base, rest) = try applyingListDirectives(original, patch, key: key, meta.schema?.elements)
        var merged = base
        for element in rest {
            guard case .object(let members) = element, let id = members[key] else {
                throw noMergeKey(element, key)
            }
            if let i = merged.firstIndex(where: { $0[key] == id }), case .object(let existing) = merged[i] {
                merged[i] = .object(try mergeObject(existing, members, meta.schema?.elements))
            } else {
                merged.append(.object(try mergeObject(JSONObject(), members, meta.schema?.elements)))
            }
        }
        return try ordered(merged, patchOrder: rest, serverOrder: base, key: key)
    }

    /// Acts on the list-level markers among the patch elements: `{"$patch": "delete", key: v}`
    /// removes every original element with that key, `{"$patch": "replace"}` makes the other
    /// patch elements the whole list. Returns the list to merge into and the ordinary elements.
    private static func applyingListDirectives(_ original: [JSONValue], _ patch: [JSONValue], key: String,
                                               _ elementSchema: (any StrategicMergeSchema)?) throws(PatchError) -> ([JSONValue], [JSONValue]) {
        var base = original
        var rest: [JSONValue] = []
        var replacing = false
        for element in patch {
            guard case .object(let members) = element, let directive = members[Directive.patch] else {
                rest.append(element)
                continue
            }
            switch directive {
            case "delete":
                guard let id = members[key] else { throw noMergeKey(element, key) }
                base.removeAll { $0[key] == id }
            case "replace":
                replacing = true
            case "merge":
                throw .unmergeable("merging lists cannot yet be specified in the patch")
            default:
                throw .unmergeable("unknown patch type: \(directive.goDescription) in map: \(element.goDescription)")
            }
        }
        if replacing {
            return (try materializeList(rest, elementSchema), [])
        }
        return (base, rest)
    }

    /// `$setElementOrder/<field>`: merges the field's list as usual, then orders the elements
    /// the directive names as it says, interleaving the server-only ones. Nil when the
    /// directive does not apply and the field is left to the ordinary merge.
    static func orderedList(_ meta: FieldMeta, order orderValue: JSONValue,
                            original originalValue: JSONValue?, patch patchValue: JSONValue?) throws(PatchError) -> JSONValue? {
        guard case .array(let order) = orderValue else {
            throw .unmergeable("expected a []interface {}, but received a \(orderValue.goTypeDescription)")
        }
        // An original null counts as absent; a patch null is a deletion for the ordinary merge.
        let original: [JSONValue]?
        switch originalValue {
        case nil, .null?: original = nil
        case .array(let list)?: original = list
        default: return nil
        }
        let patch: [JSONValue]?
        switch patchValue {
        case nil: patch = nil
        case .array(let list)?: patch = list
        default: return nil
        }
        guard meta.strategy == "merge", original != nil || patch != nil else { return nil }

        guard let kind = try elementKind(original ?? [], patch ?? []) else { return .array([]) }
        let key = kind == .object ? meta.mergeKey : nil
        if kind == .object, key == nil {
            throw .unmergeable("cannot merge lists without merge key for \(meta.name)")
        }
        try checkOrder(of: patch ?? [], against: order, key: key)

        let merged: [JSONValue]
        switch (original, patch) {
        case (let original?, let patch?): merged = try mergeList(original, patch, meta, deleting: false)
        case (let original?, nil): merged = original
        default: merged = try materializeList(patch ?? [], meta.schema?.elements)
        }
        return .array(try ordered(merged, patchOrder: order, serverOrder: original ?? [], key: key))
    }

    /// Upstream's `validatePatchWithSetOrderList`: the patch's elements (deletions aside) must
    /// appear in the order list, in the same relative order.
    private static func checkOrder(of patch: [JSONValue], against order: [JSONValue], key: String?) throws(PatchError) {
        guard !patch.isEmpty, !order.isEmpty else { return }
        let candidates = patch.filter { $0[Directive.patch] == nil }
        var p = 0
        var o = 0
        while p < candidates.count, o < order.count {
            if try identity(candidates[p], key) == identity(order[o], key) { p += 1 }
            o += 1
        }
        if p < candidates.count {
            throw .unmergeable("The order in patch list:\n\(JSONValue.array(patch).goDescription)\n doesn't match \(Directive.setElementOrder) list:\n\(JSONValue.array(order).goDescription)\n")
        }
    }

    /// The one element type of the lists, or nil when they are all empty. Lists of lists are
    /// unsupported upstream (422), and mixed types cannot be merged.
    static func elementKind(_ lists: [JSONValue]...) throws(PatchError) -> ElementKind? {
        var found: ElementKind?
        for element in lists.joined() {
            let kind: ElementKind
            switch element {
            case .array: throw .inapplicable("lists of lists are not supported")
            case .null: kind = .null
            case .bool: kind = .bool
            case .int, .double: kind = .number
            case .string: kind = .string
            case .object: kind = .object
            }
            if let found, found != kind {
                throw .unmergeable("list element types are not identical: \(JSONValue.array(lists.map(JSONValue.array)).goDescription)")
            }
            found = kind
        }
        return found
    }

    /// Orders a merged list: elements found in `patchOrder` sorted by it, the rest sorted by
    /// `serverOrder`, then interleaved (upstream's `normalizeElementOrder`).
    private static func ordered(_ merged: [JSONValue], patchOrder: [JSONValue], serverOrder: [JSONValue],
                                key: String?) throws(PatchError) -> [JSONValue] {
        let patchPositions = try firstPositions(patchOrder, key)
        let serverPositions = try firstPositions(serverOrder, key)
        var fromPatch: [(id: JSONValue, element: JSONValue)] = []
        var serverOnly: [(id: JSONValue, element: JSONValue)] = []
        for element in merged {
            let id = try identity(element, key)
            if patchPositions[id] != nil {
                fromPatch.append((id, element))
            } else {
                serverOnly.append((id, element))
            }
        }
        let right = stableSorted(fromPatch, by: patchPositions)
        let left = stableSorted(serverOnly, by: serverPositions)

        var result: [JSONValue] = []
        result.reserveCapacity(merged.count)
        var i = 0
        var j = 0
        while i < left.count || j < right.count {
            let takeLeft: Bool
            if j == right.count {
                takeLeft = true
            } else if i == left.count {
                takeLeft = false
            } else if let l = serverPositions[left[i].id], let r = serverPositions[right[j].id] {
                takeLeft = l < r
            } else {
                takeLeft = false
            }
            if takeLeft {
                result.append(left[i].element)
                i += 1
            } else {
                result.append(right[j].element)
                j += 1
            }
        }
        return result
    }

    private static func stableSorted(_ items: [(id: JSONValue, element: JSONValue)],
                                     by positions: [JSONValue: Int]) -> [(id: JSONValue, element: JSONValue)] {
        items.enumerated()
            .sorted { a, b in
                let pa = positions[a.element.id] ?? Int.max
                let pb = positions[b.element.id] ?? Int.max
                return pa != pb ? pa < pb : a.offset < b.offset
            }
            .map(\.element)
    }

    /// Where each identity first occurs in `list`; a duplicate sorts with its first occurrence.
    private static func firstPositions(_ list: [JSONValue], _ key: String?) throws(PatchError) -> [JSONValue: Int] {
        var positions: [JSONValue: Int] = [:]
        for (offset, element) in list.enumerated() {
            let id = try identity(element, key)
            if positions[id] == nil { positions[id] = offset }
        }
        return positions
    }

    /// What identifies an element: its merge key's value, or the element itself for scalars.
    private static func identity(_ element: JSONValue, _ key: String?) throws(PatchError) -> JSONValue {
        guard let key else { return element }
        guard case .object(let members) = element else {
            throw .unmergeable("expected a map[string]interface {}, but received a \(element.goTypeDescription)")
        }
        guard let id = members[key] else { throw noMergeKey(element, key) }
        return id
    }

    private static func noMergeKey(_ element: JSONValue, _ key: String) -> PatchError {
        .unmergeable("map: \(element.goDescription) does not contain declared merge key: \(key)")
    }
}
