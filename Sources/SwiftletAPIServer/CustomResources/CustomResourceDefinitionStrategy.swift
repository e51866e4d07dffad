import Foundation
import SwiftletAPI
import SwiftletMachinery

/// CustomResourceDefinitions, served in process as apiextensions-apiserver is served inside
/// kube-apiserver: a CRD whose names are free is accepted and established at once, its served
/// versions become resources from the next request on, and deleting it deletes its custom
/// resources first (the `customresourcecleanup` finalizer), then stops serving them.
struct CustomResourceDefinitionStrategy: ResourceStrategy {
    /// The registry the CRD's resources are served from; weak, as the registry holds this.
    let registry: @Sendable () -> ResourceRegistry?
    let clock: @Sendable () -> Date

    func prepareForCreate(_ object: inout JSONValue, context: StrategyContext) throws(APIError) {
        var finalizers = (object[path: "metadata", "finalizers"]?.arrayValue ?? []).compactMap(\.stringValue)
        if !finalizers.contains(CustomResourceDefinitions.cleanupFinalizer) { finalizers.append(CustomResourceDefinitions.cleanupFinalizer) }
        object[path: "metadata", "finalizers"] = .array(finalizers.map { .string($0) })
        setStatus(&object, old: nil)
    }

    func prepareForUpdate(_ object: inout JSONValue, old: JSONValue, context: StrategyContext) throws(APIError) {
        setStatus(&object, old: old)
    }

    /// NamesAccepted and Established, as upstream's naming and establishing controllers set
    /// them; the accepted names and the stored versions.
    private func setStatus(_ crd: inout JSONValue, old: JSONValue?) {
        let now = RFC3339.string(from: clock())
        let conflict = nameConflict(crd)
        var status = crd["status"]?.objectValue != nil ? crd["status"]! : .object(JSONObject())
        let accepted = conflict == nil
        if accepted { status["acceptedNames"] = crd[path: "spec", "names"] }
        else if status["acceptedNames"] == nil { status["acceptedNames"] = ["plural": "", "kind": ""] }
        let storage = (crd[path: "spec", "versions"]?.arrayValue ?? []).first { $0["storage"] == .bool(true) }?["name"]
        var stored = (status["storedVersions"]?.arrayValue ?? [])
        if let storage, !stored.contains(storage) { stored.append(storage) }
        status["storedVersions"] = .array(stored)
        var conditions = (status["conditions"]?.arrayValue ?? [])
        func set(_ type: String, _ value: Bool, _ reason: String, _ message: String) {
            let previous = conditions.first { $0["type"]?.stringValue == type }
            let changed = previous?["status"]?.stringValue != (value ? "True" : "False")
            let condition: JSONValue = [
                "type": .string(type), "status": .string(value ? "True" : "False"),
                "lastTransitionTime": changed ? .string(now) : previous?["lastTransitionTime"] ?? .string(now),
                "reason": .string(reason), "message": .string(message),
            ]
            conditions.removeAll { $0["type"]?.stringValue == type }
            conditions.append(condition)
        }
        if let conflict {
            set("NamesAccepted", false, "NameConflict", conflict)
            set("Established", false, "NotAccepted", "not all names are accepted")
        } else {
            set("NamesAccepted", true, "NoConflicts", "no conflicts found")
            set("Established", true, "InitialNamesAccepted", "the initial names have been accepted")
        }
        if crd[path: "metadata", "deletionTimestamp"] != nil {
            set("Terminating", true, "InstanceDeletionInProgress", "CustomResource deletion is in progress")
        }
        status["conditions"] = .array(conditions)
        crd["status"] = status
    }

    /// Another resource already served under the CRD's plural or kind in its group.
    private func nameConflict(_ crd: JSONValue) -> String? {
        guard let registry = registry() else { return nil }
        let (group, plural, kind) = CustomResourceDefinitions.servedNames(crd)
        let uid = crd[path: "metadata", "uid"]?.stringValue
        for storage in registry.storages where storage.info.group == group {
            if let owner = storage.crdUID, owner == uid { continue }
            if storage.info.resource == plural { return "\"\(plural)\" is already in use" }
            if storage.info.kind == kind { return "\"\(kind)\" is already in use" }
        }
        return nil
    }

    /// A stored CRD is served as it now reads; one being deleted has its resources deleted.
    func afterWrite(_ crd: JSONValue) {
        guard let registry = registry() else { return }
        if crd[path: "metadata", "deletionTimestamp"] != nil {
            deleteCustomResources(of: crd, registry: registry)
        } else if crd[path: "status", "conditions"]?.arrayValue?.contains(where: { $0["type"] == "Established" && $0["status"] == "True" }) == true {
            serve(crd, registry: registry)
        }
    }

    func afterDelete(_ crd: JSONValue, context: StrategyContext) {
        guard let registry = registry() else { return }
        stopServing(crd, registry: registry)
    }

    /// (Re)registers the CRD's served versions; versions it no longer serves stop.
    func serve(_ crd: JSONValue, registry: ResourceRegistry) {
        let uid = crd[path: "metadata", "uid"]?.stringValue
        let types = CustomResourceDefinitions.types(of: crd)
        stopServing(crd, registry: registry)
        for type in types {
            try? registry.register(type, strategy: CustomResourceStrategy(), crdUID: uid)
        }
    }

    private func stopServing(_ crd: JSONValue, registry: ResourceRegistry) {
        let uid = crd[path: "metadata", "uid"]?.stringValue
        for storage in registry.storages where storage.crdUID != nil && storage.crdUID == uid {
            registry.remove(storage.info)
        }
    }

    /// Deletes every custom resource of the CRD; once none is left, the finalizer goes and
    /// with it the CRD. Resources held by finalizers of their own keep it Terminating.
    private func deleteCustomResources(of crd: JSONValue, registry: ResourceRegistry) {
        let uid = crd[path: "metadata", "uid"]?.stringValue
        guard let storage = registry.storages.first(where: { $0.crdUID == uid && $0.type.storageVersion == $0.info.version }) else {
            removeFinalizer(crd, registry: registry)
            return
        }
        for item in storage.cache.list(prefix: storage.info.storagePrefix, filter: WatchFilter()).items {
            _ = try? storage.delete(namespace: item.namespace, name: item.name, options: .init(propagationPolicy: "Background"))
        }
        if storage.cache.list(prefix: storage.info.storagePrefix, filter: WatchFilter()).items.isEmpty {
            removeFinalizer(crd, registry: registry)
        }
    }

    private func removeFinalizer(_ crd: JSONValue, registry: ResourceRegistry) {
        guard let crds = registry.storage(for: Resources.customresourcedefinitions),
              let name = crd[path: "metadata", "name"]?.stringValue else { return }
        _ = try? crds.guaranteedUpdate(namespace: nil, name: name, subresource: nil, dryRun: false,
                                       ownership: .update(manager: "kube-apiserver")) { current in
            var o = current
            let kept = (o[path: "metadata", "finalizers"]?.arrayValue ?? []).filter { $0.stringValue != CustomResourceDefinitions.cleanupFinalizer }
            o[path: "metadata", "finalizers"] = kept.isEmpty ? nil : .array(kept)
            return o
        }
    }
}

/// Custom resources: everything comes from their CRD's entry.
struct CustomResourceStrategy: ResourceStrategy {}
