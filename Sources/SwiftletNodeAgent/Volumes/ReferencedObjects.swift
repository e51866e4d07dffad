import Synchronization
import SwiftletAPI
import SwiftletClient
import SwiftletMachinery

/// The kubelet's watch-based ConfigMap and Secret managers (`pkg/kubelet/util/manager`): one
/// watch per object a pod on this node names (`PodReferences`), through a `metadata.name` field
/// selector, started when the first pod names it and stopped when the last such pod goes.
/// Reading no more than these is what the Node authorizer lets a node do.
final class ReferencedObjects: Sendable {
    struct Reference: Hashable, Sendable {
        var kind: PodReferences.Kind
        var namespace: String
        var name: String
    }

    private struct State {
        var watches: [Reference: SharedInformer] = [:]
        var references: [String: Set<Reference>] = [:]
        var stopped = false
    }

    /// How long a first read waits for an object's watch to list it, as the kubelet's manager
    /// waits a second before calling the cache unsynced.
    static let syncWait = Duration.seconds(1)

    private let client: APIClient
    private let clock: any Clock
    private let log: LogSink
    private let onChange: @Sendable (Reference) -> Void
    private let state = Mutex(State())

    /// - Parameter onChange: called when a watched object is added or changes.
    init(client: APIClient, clock: any Clock, log: @escaping LogSink, onChange: @escaping @Sendable (Reference) -> Void) {
        self.client = client
        self.clock = clock
        self.log = log
        self.onChange = onChange
    }

    static func references(of pod: JSONValue) -> Set<Reference> {
        let namespace = FieldRead.string(pod[path: "metadata", "namespace"])
        var result = Set<Reference>()
        for kind in [PodReferences.Kind.secret, .configMap] {
            for name in PodReferences.names(pod, kind) { result.insert(Reference(kind: kind, namespace: namespace, name: name)) }
        }
        return result
    }

    /// Watches what the pod names from now on (and stops what no pod names any more), then
    /// waits, briefly, until each of its objects has been listed: an object missing then is
    /// known to be missing.
    func track(pod: JSONValue) async {
        let uid = FieldRead.string(pod[path: "metadata", "uid"])
        let wanted = Self.references(of: pod)
        let (started, stale, informers) = state.withLock { s -> ([SharedInformer], [SharedInformer], [SharedInformer]) in
            guard !s.stopped else { return ([], [], []) }
            s.references[uid] = wanted
            var started: [SharedInformer] = []
            for reference in wanted where s.watches[reference] == nil {
                let informer = makeInformer(reference)
                s.watches[reference] = informer
                started.append(informer)
            }
            return (started, removeUnreferenced(&s), wanted.compactMap { s.watches[$0] })
        }
        for informer in started { informer.start() }
        for informer in stale { informer.stop() }
        await withTaskGroup(of: Void.self) { group in
            for informer in informers where !informer.hasSynced {
                group.addTask { await Self.waitForSync(informer) }
            }
        }
    }

    /// The pod is gone from this node: what only it named is no longer watched.
    func forget(podUID: String) {
        let stale = state.withLock { s -> [SharedInformer] in
            s.references[podUID] = nil
            return removeUnreferenced(&s)
        }
        for informer in stale { informer.stop() }
    }

    /// Stops every watch, for good.
    func stop() {
        let all = state.withLock { s -> [SharedInformer] in
            s.stopped = true
            defer { s.watches = [:] }
            return Array(s.watches.values)
        }
        for informer in all { informer.stop() }
    }

    /// The object as its watch last saw it; nil when it does not exist (or is not watched).
    func get(_ kind: PodReferences.Kind, namespace: String, name: String) -> JSONValue? {
        let informer = state.withLock { $0.watches[Reference(kind: kind, namespace: namespace, name: name)] }
        return informer?.get(namespace: namespace, name: name)
    }

    private func makeInformer(_ reference: Reference) -> SharedInformer {
        let informer = SharedInformer(client: client, resource: reference.kind == .secret ? Resources.secrets : Resources.configmaps,
                                      namespace: reference.namespace, fieldSelector: "metadata.name=\(reference.name)",
                                      clock: clock, log: log)
        let onChange = self.onChange
        informer.addEventHandler(EventHandler(onAdd: { _ in onChange(reference) }, onUpdate: { _, _ in onChange(reference) }))
        return informer
    }

    private func removeUnreferenced(_ s: inout State) -> [SharedInformer] {
        let referenced = s.references.values.reduce(into: Set<Reference>()) { $0.formUnion($1) }
        let stale = s.watches.keys.filter { !referenced.contains($0) }
        return stale.compactMap { s.watches.removeValue(forKey: $0) }
    }

    private static func waitForSync(_ informer: SharedInformer) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { _ = await informer.waitForSync() }
            group.addTask { try? await Task.sleep(for: syncWait) }
            await group.next()
            group.cancelAll()
        }
    }
}
