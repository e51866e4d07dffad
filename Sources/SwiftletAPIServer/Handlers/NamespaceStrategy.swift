import SwiftletAPI
import SwiftletMachinery

/// Namespaces start Active with the `kubernetes` finalizer, and the system ones stay.
struct NamespaceStrategy: ResourceStrategy {
    static let undeletable: Set<String> = ["default", "kube-system", "kube-public", "kube-node-lease"]

    func prepareForCreate(_ object: inout JSONValue, context: StrategyContext) throws(APIError) {
        object["status"] = ["phase": "Active"]
        if object[path: "spec", "finalizers"] == nil { object[path: "spec", "finalizers"] = ["kubernetes"] }
        let name = object[path: "metadata", "name"]?.stringValue ?? ""
        // Upstream labels every namespace with its own name, for namespace selectors.
        object[path: "metadata", "labels", "kubernetes.io/metadata.name"] = .string(name)
    }

    func prepareForUpdate(_ object: inout JSONValue, old: JSONValue, context: StrategyContext) throws(APIError) {
        let name = object[path: "metadata", "name"]?.stringValue ?? ""
        object[path: "metadata", "labels", "kubernetes.io/metadata.name"] = .string(name)
    }

    /// A namespace goes only when the namespace controller has emptied it and removed its
    /// `spec.finalizers` (through `/finalize`).
    func holdsDeletion(_ object: JSONValue) -> Bool {
        !(object[path: "spec", "finalizers"]?.arrayValue ?? []).isEmpty
    }

    func prepareForDeletion(_ object: inout JSONValue) {
        object[path: "status", "phase"] = "Terminating"
    }

    func checkDelete(name: String) throws(APIError) {
        if Self.undeletable.contains(name) {
            throw APIError.forbidden(group: "", resource: "namespaces", name: name, detail: "this namespace may not be deleted")
        }
    }
}
