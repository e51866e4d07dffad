import Foundation
import SwiftletAPI
import SwiftletMachinery
import SwiftletStorage

/// Create, read, update and delete for one resource, with Kubernetes' semantics: identity and
/// timestamps set by the server, optimistic concurrency on resourceVersion, generation bumps
/// on spec changes, status kept apart from spec, and finalizer-aware deletion.
final class ResourceStorage: Sendable {
    let type: ResourceType
    var info: ResourceInfo { type.info }
    let store: any Store
    let cache: ResourceCache
    let strategy: any ResourceStrategy
    let context: StrategyContext
    let clock: @Sendable () -> Date
    /// The random end of a generated name.
    let nameSuffix: @Sendable () -> String
    /// Answers whether a namespace exists and is not terminating; nil for cluster-scoped storage.
    let namespaceCheck: (@Sendable (String) -> NamespaceState)?

    enum NamespaceState { case active, terminating, missing }

    /// The uid of the CustomResourceDefinition this resource comes from; nil for built-ins.
    let crdUID: String?

    init(type: ResourceType, store: any Store, cache: ResourceCache, strategy: any ResourceStrategy,
         context: StrategyContext, clock: @escaping @Sendable () -> Date, nameSuffix: @escaping @Sendable () -> String,
         namespaceCheck: (@Sendable (String) -> NamespaceState)?, crdUID: String? = nil) {
        self.crdUID = crdUID
        self.nameSuffix = nameSuffix
        self.type = type
        self.store = store
        self.cache = cache
        self.strategy = strategy
        self.context = context
        self.clock = clock
        self.namespaceCheck = namespaceCheck
    }

    var hasStatus: Bool { info.subresource("status") != nil }

    /// Who a write records as the owner of what it changed (`metadata.managedFields`).
    enum FieldOwnership {
        /// An update (create, replace, patch) by this manager: it owns what it changed.
        case update(manager: String)
        /// The object carries the entries an apply computed.
        case applied
        /// A write upstream makes without a field manager (pod bindings): ownership stays.
        case unrecorded
    }

    /// Field ownership for writes through `subresource` (nil: the resource itself).
    func fieldManager(subresource: String?) -> FieldManager {
        FieldManager(schema: type.applySchema, apiVersion: info.apiVersion,
                     endpoint: subresource == "status" ? .status : (hasStatus ? .mainWithStatusApart : .whole))
    }

    private func record(_ ownership: FieldOwnership, _ object: inout JSONValue, old: JSONValue?, subresource: String?) {
        switch ownership {
        case .update(let manager):
            let entries = fieldManager(subresource: subresource).update(
                old: old, new: object, manager: manager, time: RFC3339.string(from: clock()))
            object[path: "metadata", "managedFields"] = ManagedFieldsEntry.json(entries)
        case .applied:
            break
        case .unrecorded:
            object[path: "metadata", "managedFields"] = old?[path: "metadata", "managedFields"]
        }
    }

    // MARK: Read

    func get(namespace: String?, name: String) throws(APIError) -> CachedObject {
        guard let object = cache.get(info.storageKey(namespace: namespace, name: name)) else {
            throw APIError.notFound(group: info.group, resource: info.resource, name: name)
        }
        return object
    }

    // MARK: Create

    func create(namespace: String?, object input: JSONValue, dryRun: Bool, ownership: FieldOwnership) throws(APIError) -> JSONValue {
        var object = input
        guard object.objectValue != nil else { throw APIError.badRequest("the body of the request must be a JSON object") }
        try checkKind(object)
        object["apiVersion"] = .string(info.apiVersion)
        object["kind"] = .string(info.kind)
        var metadata = object["metadata"] ?? .object(JSONObject())
        if metadata.objectValue == nil { metadata = .object(JSONObject()) }

        try reconcileNamespace(&metadata, requestNamespace: namespace)
        if (metadata["name"]?.stringValue ?? "").isEmpty {
            if let prefix = metadata["generateName"]?.stringValue, !prefix.isEmpty {
                metadata["name"] = .string(generateName(prefix: prefix))
            }
        }
        metadata["uid"] = .string(UUID().uuidString.lowercased())
        metadata["creationTimestamp"] = .string(RFC3339.string(from: clock()))
        metadata["resourceVersion"] = nil
        metadata["deletionTimestamp"] = nil
        metadata["deletionGracePeriodSeconds"] = nil
        metadata["selfLink"] = nil
        if case .applied = ownership {} else { metadata["managedFields"] = nil }
        if type.tracksGeneration { metadata["generation"] = 1 } else { metadata["generation"] = nil }
        object["metadata"] = metadata
        if hasStatus, !type.keepsStatusOnCreate { object["status"] = nil }

        type.defaults(&object)
        strategy.admit(&object)
        let name = object[path: "metadata", "name"]?.stringValue ?? ""
        let errors = type.validate(object, nil)
        if !errors.isEmpty { throw APIError.invalid(group: info.group, kind: info.kind, name: name, errors: errors) }
        record(ownership, &object, old: nil, subresource: nil)

        if info.namespaced, let ns = metadata["namespace"]?.stringValue, let namespaceCheck {
            switch namespaceCheck(ns) {
            case .missing: throw APIError.notFound(group: "", resource: "namespaces", name: ns)
            case .terminating:
                throw APIError.forbidden(group: info.group, resource: info.resource, name: name,
                    detail: "unable to create new content in namespace \(ns) because it is being terminated")
            case .active: break
            }
        }
        var ctx = context
        ctx.dryRun = dryRun
        try strategy.prepareForCreate(&object, context: ctx)

        let key = info.storageKey(namespace: metadata["namespace"]?.stringValue, name: name)
        if dryRun {
            if cache.get(key) != nil { throw APIError.alreadyExists(group: info.group, resource: info.resource, name: name) }
            return object
        }
        var prepared = object
        var storedKey = key
        let generatedFrom = (input[path: "metadata", "name"]?.stringValue ?? "").isEmpty ? metadata["generateName"]?.stringValue : nil
        // A generated name that is taken is generated again, up to 8 tries in all, as upstream's
        // RetryGenerateName does: a client asking for a generated name never sees a conflict it did not cause.
        for attempt in 1...Self.generateNameAttempts {
            do {
                let object = prepared
                let kv = try store.create(storedKey) { revision in self.encode(object, revision: revision) }
                let stored = Self.withRevision(object, kv.modRevision)
                strategy.afterWrite(stored)
                return stored
            } catch {
                if case .keyExists = error, let prefix = generatedFrom, !prefix.isEmpty, attempt < Self.generateNameAttempts {
                    let retried = generateName(prefix: prefix)
                    prepared[path: "metadata", "name"] = .string(retried)
                    storedKey = info.storageKey(namespace: metadata["namespace"]?.stringValue, name: retried)
                    continue
                }
                strategy.afterDelete(prepared, context: ctx)  // release what prepareForCreate allocated
                if case .keyExists = error {
                    throw APIError.alreadyExists(group: info.group, resource: info.resource,
                                                 name: prepared[path: "metadata", "name"]?.stringValue ?? name)
                }
                throw Self.storageError(error)
            }
        }
        throw APIError.internalError("no name could be generated")
    }

    static let generateNameAttempts = 8

    private func checkKind(_ object: JSONValue) throws(APIError) {
        let kind = object["kind"]?.stringValue ?? ""
        let apiVersion = object["apiVersion"]?.stringValue ?? ""
        if (!kind.isEmpty && kind != info.kind) || (!apiVersion.isEmpty && apiVersion != info.apiVersion) {
            throw APIError.badRequest(
                "the API version in the data (\(apiVersion)) does not match the expected API version (\(info.apiVersion))"
                    + (kind.isEmpty || kind == info.kind ? "" : ", and the kind (\(kind)) does not match the expected kind (\(info.kind))"))
        }
    }

    private func reconcileNamespace(_ metadata: inout JSONValue, requestNamespace: String?) throws(APIError) {
        if info.namespaced {
            let bodyNamespace = metadata["namespace"]?.stringValue ?? ""
            if let requestNamespace {
                if !bodyNamespace.isEmpty, bodyNamespace != requestNamespace {
                    throw APIError.badRequest("the namespace of the provided object does not match the namespace sent on the request")
                }
                metadata["namespace"] = .string(requestNamespace)
            } else if bodyNamespace.isEmpty {
                metadata["namespace"] = "default"
            }
        } else {
            metadata["namespace"] = nil
        }
    }

    /// The prefix, cut to leave room for the suffix, as upstream's name generator does.
    func generateName(prefix: String) -> String {
        String(prefix.prefix(58)) + nameSuffix()
    }

    /// Five random characters from upstream's alphabet (no vowels, no look-alike characters).
    public static func randomNameSuffix() -> String {
        let alphabet = Array("bcdfghjklmnpqrstvwxz2456789")
        return String((0..<5).map { _ in alphabet.randomElement()! })
    }

    // MARK: Update

    /// Replaces the object (PUT). `subresource` is nil or "status".
    func update(namespace: String?, name: String, object input: JSONValue, subresource: String?, dryRun: Bool,
                ownership: FieldOwnership) throws(APIError) -> JSONValue {
        guard input.objectValue != nil else { throw APIError.badRequest("the body of the request must be a JSON object") }
        try checkKind(input)
        let bodyName = input[path: "metadata", "name"]?.stringValue ?? ""
        if !bodyName.isEmpty, bodyName != name {
            throw APIError.badRequest("the name of the object (\(bodyName)) does not match the name on the URL (\(name))")
        }
        let requestedRV = input[path: "metadata", "resourceVersion"]?.stringValue ?? ""
        return try guaranteedUpdate(namespace: namespace, name: name, subresource: subresource, dryRun: dryRun,
                                    ownership: ownership) { (current: JSONValue) throws(APIError) -> JSONValue in
            let currentRV = current[path: "metadata", "resourceVersion"]?.stringValue ?? ""
            if requestedRV.isEmpty, !type.allowsUnconditionalUpdate {
                throw APIError.invalid(group: info.group, kind: info.kind, name: name, errors: [
                    .invalid("metadata.resourceVersion", .string(""), "must be specified for an update"),
                ])
            }
            if !requestedRV.isEmpty, requestedRV != currentRV {
                throw APIError.conflict(group: info.group, resource: info.resource, name: name,
                    detail: "the object has been modified; please apply your changes to the latest version and try again")
            }
            return input
        }
    }

    /// Read, modify, write, retrying when a concurrent writer got there first.
    /// `mutate` gets the stored object and returns the desired one.
    func guaranteedUpdate(namespace: String?, name: String, subresource: String?, dryRun: Bool, ownership: FieldOwnership,
                          mutate: (JSONValue) throws(APIError) -> JSONValue) throws(APIError) -> JSONValue {
        let key = info.storageKey(namespace: namespace, name: name)
        for _ in 0..<16 {
            guard let cached = cache.get(key) else {
                throw APIError.notFound(group: info.group, resource: info.resource, name: name)
            }
            let old = cached.object()
            var object = try mutate(old)
            try finishUpdate(&object, old: old, subresource: subresource, dryRun: dryRun, ownership: ownership)
            if Self.sameIgnoringRevision(object, old) { return old }
            if dryRun { return object }

            // Finalizers all gone from an object that is being deleted: now it really goes.
            if object[path: "metadata", "deletionTimestamp"] != nil,
               (object[path: "metadata", "finalizers"]?.arrayValue ?? []).isEmpty, !strategy.holdsDeletion(object) {
                do {
                    let kv = try store.delete(key, expectedRevision: cached.revision)
                    strategy.afterDelete(object, context: context)
                    return Self.withRevision(object, kv.modRevision)
                } catch {
                    if case .conflict = error { continue }
                    if case .notFound = error { throw APIError.notFound(group: info.group, resource: info.resource, name: name) }
                    throw Self.storageError(error)
                }
            }
            let prepared = object
            do {
                let kv = try store.update(key, expectedRevision: cached.revision) { revision in self.encode(prepared, revision: revision) }
                let stored = Self.withRevision(prepared, kv.modRevision)
                strategy.afterWrite(stored)
                return stored
            } catch {
                if case .conflict = error { continue }
                if case .notFound = error { throw APIError.notFound(group: info.group, resource: info.resource, name: name) }
                throw Self.storageError(error)
            }
        }
        throw APIError.conflict(group: info.group, resource: info.resource, name: name,
            detail: "the object has been modified; please apply your changes to the latest version and try again")
    }

    /// Applies the server's rules to an updated object: identity fields kept, status and spec
    /// kept apart, generation bumped on spec changes, defaults and validation.
    private func finishUpdate(_ object: inout JSONValue, old: JSONValue, subresource: String?, dryRun: Bool,
                              ownership: FieldOwnership) throws(APIError) {
        let name = old[path: "metadata", "name"]?.stringValue ?? ""
        object["apiVersion"] = .string(info.apiVersion)
        object["kind"] = .string(info.kind)
        if object["metadata"]?.objectValue == nil { object["metadata"] = .object(JSONObject()) }

        if subresource == "status" {
            // A status write changes status only.
            var merged = old
            merged["status"] = object["status"]
            if case .applied = ownership { merged[path: "metadata", "managedFields"] = object[path: "metadata", "managedFields"] }
            object = merged
            record(ownership, &object, old: old, subresource: subresource)
        } else {
            // The binding subresource sets spec.nodeName and the PodScheduled condition together.
            if hasStatus, subresource != "binding" { object["status"] = old["status"] }
            // Identity and server-managed metadata never change through an update.
            for field in ["name", "namespace", "uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation"] {
                object[path: "metadata", field] = old[path: "metadata", field]
            }
            object[path: "metadata", "selfLink"] = nil
            type.defaults(&object)
            if subresource == nil {
                strategy.admit(&object)
                strategy.normalizeUpdate(&object, old: old)
            }
            let errors = type.validate(object, old)
            if !errors.isEmpty { throw APIError.invalid(group: info.group, kind: info.kind, name: name, errors: errors) }
            record(ownership, &object, old: old, subresource: subresource)
            var ctx = context
            ctx.dryRun = dryRun
            try strategy.prepareForUpdate(&object, old: old, context: ctx)
            if type.tracksGeneration, Self.specChanged(object, old) {
                let generation = old[path: "metadata", "generation"]?.intValue ?? 0
                object[path: "metadata", "generation"] = .int(generation + 1)
            }
            // Once deletion has begun, finalizers may only be removed, never added back.
            if old[path: "metadata", "deletionTimestamp"] != nil {
                let oldFinalizers = Set((old[path: "metadata", "finalizers"]?.arrayValue ?? []).compactMap(\.stringValue))
                let newFinalizers = (object[path: "metadata", "finalizers"]?.arrayValue ?? []).compactMap(\.stringValue)
                if let added = newFinalizers.first(where: { !oldFinalizers.contains($0) }) {
                    throw APIError.invalid(group: info.group, kind: info.kind, name: name, errors: [
                        .forbidden("metadata.finalizers", "no new finalizers can be added if the object is being deleted, found new finalizers []string{\"\(added)\"}"),
                    ])
                }
            }
        }
        object[path: "metadata", "resourceVersion"] = old[path: "metadata", "resourceVersion"]
    }

    static func specChanged(_ a: JSONValue, _ b: JSONValue) -> Bool {
        guard let ao = a.objectValue, let bo = b.objectValue else { return true }
        let ignored: Set<String> = ["metadata", "status", "apiVersion", "kind"]
        let aKeys = Set(ao.keys).subtracting(ignored), bKeys = Set(bo.keys).subtracting(ignored)
        if aKeys != bKeys { return true }
        return aKeys.contains { ao[$0] != bo[$0] }
    }

    static func sameIgnoringRevision(_ a: JSONValue, _ b: JSONValue) -> Bool {
        var a = a, b = b
        a[path: "metadata", "resourceVersion"] = nil
        b[path: "metadata", "resourceVersion"] = nil
        return a == b
    }

    // MARK: Delete

    struct DeleteOptions: Sendable {
        var gracePeriodSeconds: Int64?
        var propagationPolicy: String?
        /// The deprecated `orphanDependents`, as sent; only its explicit false changes the answer.
        var orphanDependents: Bool?
        var preconditionUID: String?
        var preconditionResourceVersion: String?
        var dryRun = false
    }

    /// Deletes the object, or starts deleting it when finalizers (including those that
    /// record the propagation policy for the garbage collector) must run first.
    /// Returns the object as stored last, and whether it is gone.
    func delete(namespace: String?, name: String, options: DeleteOptions) throws(APIError) -> (object: JSONValue, gone: Bool) {
        let key = info.storageKey(namespace: namespace, name: name)
        for _ in 0..<16 {
            guard let cached = cache.get(key) else {
                throw APIError.notFound(group: info.group, resource: info.resource, name: name)
            }
            var object = cached.object()
            let uid = object[path: "metadata", "uid"]?.stringValue ?? ""
            if let wanted = options.preconditionUID, wanted != uid {
                throw APIError.conflict(group: info.group, resource: info.resource, name: name,
                    detail: "Precondition failed: UID in precondition: \(wanted), UID in object meta: \(uid)")
            }
            if let wanted = options.preconditionResourceVersion, wanted != String(cached.revision) {
                throw APIError.conflict(group: info.group, resource: info.resource, name: name,
                    detail: "Precondition failed: ResourceVersion in precondition: \(wanted), ResourceVersion in object meta: \(cached.revision)")
            }

            var finalizers = (object[path: "metadata", "finalizers"]?.arrayValue ?? []).compactMap(\.stringValue)
            switch options.propagationPolicy {
            case "Orphan":
                if !finalizers.contains("orphan") { finalizers.append("orphan") }
                finalizers.removeAll { $0 == "foregroundDeletion" }
            case "Foreground":
                if !finalizers.contains("foregroundDeletion") { finalizers.append("foregroundDeletion") }
                finalizers.removeAll { $0 == "orphan" }
            case "Background":
                finalizers.removeAll { $0 == "orphan" || $0 == "foregroundDeletion" }
            default: break
            }
            let grace = strategy.gracefulDeletion(object, requested: options.gracePeriodSeconds)
            let alreadyDeleting = object[path: "metadata", "deletionTimestamp"] != nil

            if finalizers.isEmpty && (grace ?? 0) == 0 && !strategy.holdsDeletion(object) {
                if options.dryRun { return (object, true) }
                do {
                    let kv = try store.delete(key, expectedRevision: cached.revision)
                    strategy.afterDelete(object, context: context)
                    return (Self.withRevision(object, kv.modRevision), true)
                } catch {
                    if case .conflict = error { continue }
                    if case .notFound = error { throw APIError.notFound(group: info.group, resource: info.resource, name: name) }
                    throw Self.storageError(error)
                }
            }

            // Graceful or finalized deletion: mark it, and let the node or the finalizers finish.
            let now = clock()
            if !alreadyDeleting {
                strategy.prepareForDeletion(&object)
                let seconds = grace ?? 0
                object[path: "metadata", "deletionTimestamp"] = .string(RFC3339.string(from: now.addingTimeInterval(TimeInterval(seconds))))
                object[path: "metadata", "deletionGracePeriodSeconds"] = .int(seconds)
            } else if let grace, let current = object[path: "metadata", "deletionGracePeriodSeconds"]?.intValue, grace < current {
                // A shorter grace period may replace a longer one, never the reverse.
                object[path: "metadata", "deletionTimestamp"] = .string(RFC3339.string(from: now.addingTimeInterval(TimeInterval(grace))))
                object[path: "metadata", "deletionGracePeriodSeconds"] = .int(grace)
            }
            object[path: "metadata", "finalizers"] = finalizers.isEmpty ? nil : .array(finalizers.map { .string($0) })
            if options.dryRun { return (object, false) }
            let prepared = object
            do {
                let kv = try store.update(key, expectedRevision: cached.revision) { revision in self.encode(prepared, revision: revision) }
                let stored = Self.withRevision(prepared, kv.modRevision)
                strategy.afterWrite(stored)
                return (stored, false)
            } catch {
                if case .conflict = error { continue }
                if case .notFound = error { throw APIError.notFound(group: info.group, resource: info.resource, name: name) }
                throw Self.storageError(error)
            }
        }
        throw APIError.conflict(group: info.group, resource: info.resource, name: name,
            detail: "the object has been modified; please apply your changes to the latest version and try again")
    }

    // MARK: Encoding

    static func withRevision(_ object: JSONValue, _ revision: Int64) -> JSONValue {
        var o = object
        o[path: "metadata", "resourceVersion"] = .string(String(revision))
        return o
    }

    /// The object as stored: at `revision`, in the storage version (a CRD's other served
    /// versions differ from it only in apiVersion).
    func encode(_ object: JSONValue, revision: Int64) -> [UInt8] {
        var stored = Self.withRevision(object, revision)
        if type.storageVersion != nil { stored["apiVersion"] = .string(type.storageAPIVersion) }
        return JSONWriter.write(stored)
    }

    static func storageError(_ error: StoreError) -> APIError {
        switch error {
        case .closed: return APIError(code: 503, reason: "ServiceUnavailable", message: "the datastore is shutting down")
        default: return APIError.internalError("\(error)")
        }
    }
}
