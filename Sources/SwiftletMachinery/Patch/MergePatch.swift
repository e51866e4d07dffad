/// RFC 7386 JSON Merge Patch (`application/merge-patch+json`), what kubectl sends for
/// `label`, `annotate` and `scale`, and for every patch of a custom resource.
public enum MergePatch {
    /// Applies `patch` to `document` as RFC 7386 section 2 defines it: an object patch merges
    /// member by member (null deletes), anything else replaces the target.
    ///
    /// One refinement from Kubernetes' library (evanphx/json-patch v4): null members are also
    /// pruned from objects nested in arrays that the patch sets. Kubernetes drops such nulls
    /// when it decodes the result into a typed object; Swiftlet stores the JSON as it is, so
    /// pruning here keeps stored objects the same as upstream's.
    public static func apply(_ patch: JSONValue, to document: JSONValue) -> JSONValue {
        guard case .object(let members) = patch else { return pruningNulls(patch) }
        var target = document.objectValue ?? JSONObject()
        for (key, value) in members {
            if value.isNull {
                target[key] = nil
            } else {
                target[key] = apply(value, to: target[key] ?? .null)
            }
        }
        return .object(target)
    }

    /// Rejects what the API server does not accept as a merge patch body, with upstream's
    /// 400 "Invalid JSON Patch". Upstream lets an array through and then fails to decode the
    /// array as the object (422); refusing it here gives the client the clearer answer.
    public static func validate(_ patch: JSONValue) throws(PatchError) {
        guard case .object = patch else { throw .malformed("Invalid JSON Patch") }
    }

    private static func pruningNulls(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(let o):
            var kept = JSONObject()
            for (key, member) in o where !member.isNull { kept[key] = pruningNulls(member) }
            return .object(kept)
        case .array(let a):
            return .array(a.map(pruningNulls))
        default:
            return value
        }
    }
}
