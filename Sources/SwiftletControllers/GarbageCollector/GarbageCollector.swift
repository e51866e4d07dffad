import Synchronization
import SwiftletAPI
import SwiftletClient
import SwiftletMachinery

/// Kubernetes' garbage collector (pkg/controller/garbagecollector): deletes objects whose
/// owners are gone, and carries out the Orphan and Foreground propagation policies that the
/// API server records as the `orphan` and `foregroundDeletion` finalizers.
///
/// An ownership graph (uid → node, with owners and dependents) is kept from informers on
/// every namespaced resource but events, plus nodes, and on every custom resource: an
/// informer on CustomResourceDefinitions starts and stops those monitors as CRDs come and go
/// (upstream finds them by polling discovery; the watch makes a new kind collectable at once). Informer handlers only update the graph
/// and queue uids; the workers decide from the server's current state (a live GET of the
/// object and of each owner, never the cache alone), and delete with a uid precondition so
/// that a recreated namesake is never hit.
///
/// - Background: an object whose owners all no longer exist (by uid) is deleted; an object
///   with some owners remaining loses only the references to the missing ones.
/// - Orphan: an owner being deleted with the `orphan` finalizer has its references removed
///   from all its dependents, then the finalizer removed (the server then deletes it).
/// - Foreground: an owner being deleted with `foregroundDeletion` has its dependents deleted
///   (those with dependents of their own in the foreground too); once no dependent with
///   `blockOwnerDeletion` remains, the finalizer is removed.
public final class GarbageCollector: Controller {
    public let name = "garbagecollector"
    private let client: APIClient
    private let log: LogSink
    private let queue: WorkQueue<GCWork>
    private let graph = Mutex(OwnershipGraph())
    private let informers: [SharedInformer]
    private let clock: any Clock
    /// Informers on custom resources, by `group/Kind`, with the resource each watches.
    private let customMonitors = Mutex<[String: SharedInformer]>([:])

    /// The resources whose objects the graph is built from.
    static let watchedResources: [ResourceInfo] = Resources.all.filter {
        ($0.namespaced || $0.resource == "nodes") && $0.qualifiedResource != Resources.events.qualifiedResource
    }

    public init(context: ControllerContext) {
        client = context.client(for: "generic-garbage-collector")
        log = context.log
        clock = context.clock
        queue = WorkQueue(clock: context.clock, backoff: ItemBackoff(base: .milliseconds(5), max: .seconds(300)))
        informers = Self.watchedResources.map { context.informers.informer(for: $0) }
        for informer in informers { monitor(informer) }
        context.informers.informer(for: Resources.customresourcedefinitions).addEventHandler(EventHandler(
            onAdd: { [weak self] crd in self?.monitorCustomResources(of: crd) },
            onUpdate: { [weak self] _, crd in self?.monitorCustomResources(of: crd) },
            onDelete: { [weak self] crd in self?.stopMonitoring(crd) }))
    }

    private func monitor(_ informer: SharedInformer) {
        let resource = informer.resource
        informer.addEventHandler(EventHandler(
            onAdd: { [weak self] object in self?.apply { $0.observe(object, resource: resource) } },
            onUpdate: { [weak self] _, new in self?.apply { $0.observe(new, resource: resource) } },
            onDelete: { [weak self] object in self?.apply { $0.remove(object, resource: resource) } }))
    }

    private static func groupKind(_ group: String, _ kind: String) -> String { "\(group)/\(kind)" }

    /// The resource a CRD serves its objects from (its storage version), watched from now on.
    private func monitorCustomResources(of crd: JSONValue) {
        guard crd[path: "metadata", "deletionTimestamp"] == nil,
              let resource = CustomResourceDefinitions.storageResource(of: crd) else { return }
        let key = Self.groupKind(resource.group, resource.kind)
        let started: SharedInformer? = customMonitors.withLock { monitors in
            if let existing = monitors[key], existing.resource == resource { return nil }
            monitors[key]?.stop()
            let informer = SharedInformer(client: client, resource: resource, clock: clock, log: log)
            monitors[key] = informer
            return informer
        }
        guard let started else { return }
        monitor(started)
        started.start()
    }

    private func stopMonitoring(_ crd: JSONValue) {
        guard let resource = CustomResourceDefinitions.storageResource(of: crd) else { return }
        customMonitors.withLock { $0.removeValue(forKey: Self.groupKind(resource.group, resource.kind)) }?.stop()
    }

    /// The served resource of an object's kind: a built-in one, or a monitored custom
    /// resource of the same group and kind (any version reads the same objects).
    private func resource(of identity: ObjectIdentity) -> ResourceInfo? {
        if let builtIn = Resources.lookup(apiVersion: identity.apiVersion, kind: identity.kind) { return builtIn }
        let group = identity.apiVersion.contains("/") ? String(identity.apiVersion.split(separator: "/")[0]) : ""
        return customMonitors.withLock { $0[Self.groupKind(group, identity.kind)]?.resource }
    }

    public func run(workers: Int) async {
        await waitForGraphSync()
        let runner = ControllerRunner(name: name, queue: queue, workers: workers, log: log) { [self] work in
            try await self.sync(work)
        }
        await runner.run()
        let monitors = customMonitors.withLock { m in defer { m.removeAll() }; return Array(m.values) }
        for informer in monitors { informer.stop() }
    }

    /// Informer handlers run on tasks of their own, so a synced cache may not be in the graph
    /// yet. Workers wait until it is (as upstream waits for the graph builder's sync), or a
    /// foreground owner read before its dependents would see none blocking it.
    private func waitForGraphSync() async {
        for _ in 0..<3000 {
            if Task.isCancelled { return }
            let uids = informers.flatMap { $0.list() }.compactMap { $0[path: "metadata", "uid"]?.stringValue }
            let complete = graph.withLock { g in uids.allSatisfy { g.node($0)?.virtual == false } }
            if complete { return }
            try? await Task.sleep(for: .milliseconds(10))
        }
        log("garbagecollector: the ownership graph did not catch up with the informers in 30 s; starting anyway")
    }

    /// The number of objects in the graph (observed and virtual): for tests and diagnostics.
    public var graphSize: Int { graph.withLock { $0.nodes.count } }

    private func apply(_ change: (inout OwnershipGraph) -> [GCWork]) {
        let work = graph.withLock { change(&$0) }
        for item in work { queue.add(item) }
    }

    private func node(_ uid: String) -> GraphNode? { graph.withLock { $0.node(uid) } }

    func sync(_ work: GCWork) async throws {
        switch work {
        case .attemptToDelete(let uid): try await attemptToDelete(uid)
        case .attemptToOrphan(let uid): try await attemptToOrphan(uid)
        }
    }

    // MARK: Reading the server

    private enum Liveness {
        case exists(JSONValue)
        /// No object of that name, or one with another uid.
        case absent
        /// A kind Swiftlet does not serve: it cannot be checked, so it counts as present.
        case unknown
    }

    private func live(_ identity: ObjectIdentity) async throws(APIError) -> Liveness {
        guard let resource = resource(of: identity) else { return .unknown }
        // A cluster-scoped dependent naming a namespaced owner: unresolvable, and as upstream
        // (since 1.20) never a reason to collect the dependent.
        if resource.namespaced, identity.namespace == nil { return .unknown }
        do {
            let object = try await client.get(resource, namespace: resource.namespaced ? identity.namespace : nil,
                                              name: identity.name)
            return object[path: "metadata", "uid"]?.stringValue == identity.uid ? .exists(object) : .absent
        } catch {
            if error.code == 404 { return .absent }
            throw error
        }
    }

    private static func finalizers(_ object: JSONValue) -> [String] {
        (object[path: "metadata", "finalizers"]?.arrayValue ?? []).compactMap(\.stringValue)
    }

    private static func isDeleting(_ object: JSONValue) -> Bool {
        object[path: "metadata", "deletionTimestamp"].map { !$0.isNull } ?? false
    }

    // MARK: attemptToDelete

    private func attemptToDelete(_ uid: String) async throws {
        guard let node = node(uid) else { return }
        if node.virtual {
            // Named by a dependent but never observed: ask the server whether it exists.
            if case .absent = try await live(node.identity) {
                apply { $0.removeNode(uid) }
            }
            return
        }
        if node.beingDeleted, !node.deletingDependents { return }

        guard let resource = resource(of: node.identity) else { return }
        let latest: JSONValue
        switch try await live(node.identity) {
        case .exists(let object): latest = object
        case .absent:
            // Gone already: the informer reports it too, removing a missing node does nothing.
            apply { $0.removeNode(uid) }
            return
        case .unknown: return
        }
        if Self.isDeleting(latest) {
            if Self.finalizers(latest).contains("foregroundDeletion") {
                try await processDeletingDependents(uid, latest: latest, resource: resource)
            }
            return
        }

        let owners = OwnerReference.all(of: latest)
        guard !owners.isEmpty else { return }
        var solid: [OwnerReference] = [], dangling: [OwnerReference] = [], waiting: [OwnerReference] = []
        for owner in owners {
            let identity = ObjectIdentity(owner: owner, dependentNamespace: node.identity.namespace)
            switch try await live(identity) {
            case .absent:
                dangling.append(owner)
            case .unknown:
                solid.append(owner)
            case .exists(let object):
                if Self.isDeleting(object), Self.finalizers(object).contains("foregroundDeletion") {
                    waiting.append(owner)
                } else {
                    solid.append(owner)
                }
            }
        }

        if !solid.isEmpty {
            // Some owner remains: keep the object, drop the references to the others.
            let remove = Set((dangling + waiting).map(\.uid))
            guard !remove.isEmpty else { return }
            try await removeOwnerReferences(uids: remove, from: latest, resource: resource)
            return
        }

        let policy: DeleteOptions.PropagationPolicy
        let hasDependents = graph.withLock { !($0.node(uid)?.dependents.isEmpty ?? true) }
        let finalizers = Self.finalizers(latest)
        if !waiting.isEmpty, hasDependents {
            // An owner waits for this object, which must first delete its own dependents.
            policy = .foreground
        } else if finalizers.contains("orphan") {
            policy = .orphan
        } else if finalizers.contains("foregroundDeletion") {
            policy = .foreground
        } else {
            policy = .background
        }
        try await delete(node.identity, policy: policy)
    }

    /// Deletes with a uid precondition; an object already gone (or replaced by a namesake,
    /// which fails the precondition) counts as deleted.
    private func delete(_ identity: ObjectIdentity, policy: DeleteOptions.PropagationPolicy) async throws(APIError) {
        guard let resource = resource(of: identity) else { return }
        let options = DeleteOptions(propagationPolicy: policy, preconditionUID: identity.uid)
        do {
            try await client.delete(resource, namespace: identity.namespace, name: identity.name, options: options)
        } catch {
            if error.code == 404 { return }
            if error.code == 409, error.message.contains("Precondition failed: UID") { return }
            throw error
        }
    }

    /// A foreground deletion in progress: once no dependent with `blockOwnerDeletion`
    /// remains, the `foregroundDeletion` finalizer comes off; until then its dependents are
    /// (re)queued for deletion, and this owner is queued again as each one leaves the graph.
    private func processDeletingDependents(_ uid: String, latest: JSONValue, resource: ResourceInfo) async throws {
        let (blocking, all) = graph.withLock { ($0.blockingDependents(of: uid), $0.dependents(of: uid)) }
        if blocking.isEmpty {
            try await removeFinalizer("foregroundDeletion", from: latest, resource: resource)
            return
        }
        for dependent in all where !dependent.deletingDependents {
            queue.add(.attemptToDelete(dependent.identity.uid))
        }
    }

    // MARK: attemptToOrphan

    private func attemptToOrphan(_ uid: String) async throws {
        guard let owner = node(uid), owner.orphaning, let ownerResource = resource(of: owner.identity) else { return }
        guard case .exists(let latest) = try await live(owner.identity) else { return }
        guard Self.isDeleting(latest), Self.finalizers(latest).contains("orphan") else { return }
        let dependents = graph.withLock { $0.dependents(of: uid) }
        for dependent in dependents {
            guard let resource = resource(of: dependent.identity),
                  case .exists(let object) = try await live(dependent.identity) else { continue }
            guard OwnerReference.all(of: object).contains(where: { $0.uid == uid }) else { continue }
            try await removeOwnerReferences(uids: [uid], from: object, resource: resource)
        }
        try await removeFinalizer("orphan", from: latest, resource: ownerResource)
    }

    // MARK: Writes

    /// Removes the ownerReferences to `uids`, with a JSON patch that tests the uid and the
    /// references it read, so that a concurrent change makes it fail and be retried.
    private func removeOwnerReferences(uids: Set<String>, from object: JSONValue, resource: ResourceInfo) async throws {
        let current = object[path: "metadata", "ownerReferences"]?.arrayValue ?? []
        let remaining = current.filter { ref in !(ref["uid"]?.stringValue.map(uids.contains) ?? false) }
        guard remaining.count != current.count else { return }
        let change: JSONValue = remaining.isEmpty
            ? ["op": "remove", "path": "/metadata/ownerReferences"]
            : ["op": "replace", "path": "/metadata/ownerReferences", "value": .array(remaining)]
        try await guardedPatch(object, resource: resource, [
            ["op": "test", "path": "/metadata/ownerReferences", "value": .array(current)], change,
        ])
    }

    private func removeFinalizer(_ finalizer: String, from object: JSONValue, resource: ResourceInfo) async throws {
        let current = object[path: "metadata", "finalizers"]?.arrayValue ?? []
        let remaining = current.filter { $0.stringValue != finalizer }
        guard remaining.count != current.count else { return }
        let change: JSONValue = remaining.isEmpty
            ? ["op": "remove", "path": "/metadata/finalizers"]
            : ["op": "replace", "path": "/metadata/finalizers", "value": .array(remaining)]
        try await guardedPatch(object, resource: resource, [
            ["op": "test", "path": "/metadata/finalizers", "value": .array(current)], change,
        ])
    }

    private func guardedPatch(_ object: JSONValue, resource: ResourceInfo, _ operations: [JSONValue]) async throws(APIError) {
        let uid = object[path: "metadata", "uid"] ?? .null
        let ops: [JSONValue] = [["op": "test", "path": "/metadata/uid", "value": uid]] + operations
        do {
            _ = try await client.patch(resource, namespace: object[path: "metadata", "namespace"]?.stringValue,
                                       name: object[path: "metadata", "name"]?.stringValue ?? "", .json(.array(ops)))
        } catch {
            if error.code != 404 { throw error }
        }
    }
}
