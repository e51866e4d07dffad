import SwiftletMachinery

// Kubernetes 1.34's defaulting (`SetDefaults_*` and the declarative `+default` tags), one
// function per kind (each `ResourceType`'s `defaults`), applied to objects as decoded so that
// what is stored and served reads exactly as a real cluster's objects do (`kubectl get -o yaml`,
// diffs, `kubectl apply`).
//
// Defaults fill only what is missing; an explicit value always wins. Two encoding effects are
// included because Swiftlet stores JSON as received rather than re-encoding typed objects:
// quantities in canonical form, and a container's `resources` written as `{}` when empty.
// Strategy-time changes that are not defaulting (namespace finalizers, cluster IP allocation,
// generated names) and admission (service accounts, tolerations, priority) belong to the server.

/// Small in-place edits shared by the defaulting files. Go's zero values count as unset: an
/// absent key, `null`, and for non-pointer fields `""` or `0`.
enum DefaultingEdit {
    static func isUnset(_ value: JSONValue?) -> Bool {
        switch value {
        case nil, .null?: return true
        default: return false
        }
    }

    /// A pointer field: set when absent or null.
    static func setIfUnset(_ object: inout JSONValue, _ key: String, _ value: JSONValue) {
        if isUnset(object[key]) { object[key] = value }
    }

    /// A string field: set when absent, null or empty.
    static func setIfEmpty(_ object: inout JSONValue, _ key: String, _ value: String) {
        if isUnset(object[key]) || object[key] == .string("") { object[key] = .string(value) }
    }

    /// An integer field without a pointer: set when absent, null or zero.
    static func setIfZero(_ object: inout JSONValue, _ key: String, _ value: Int64) {
        if isUnset(object[key]) || object[key] == .int(0) { object[key] = .int(value) }
    }

    /// Applies `edit` to the object at `key`, if there is one. A Go struct field that is a value
    /// rather than a pointer (a workload's spec and template) is always defaulted: `create`
    /// makes it when absent.
    static func editObject(_ object: inout JSONValue, _ key: String, create: Bool = false, _ edit: (inout JSONValue) -> Void) {
        var child = object[key] ?? .null
        if create && child.isNull { child = .object(JSONObject()) }
        guard case .object = child else { return }
        edit(&child)
        object[key] = child
    }

    /// Applies `edit` to each object in the array at `key`.
    static func editEach(_ object: inout JSONValue, _ key: String, _ edit: (inout JSONValue) -> Void) {
        guard var items = object[key]?.arrayValue else { return }
        for i in items.indices where items[i].objectValue != nil { edit(&items[i]) }
        object[key] = .array(items)
    }
}
