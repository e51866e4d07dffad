import Foundation
import Synchronization
import SwiftletAPI
import SwiftletMachinery
import SwiftletStorage

/// The resources this server serves now: for each, its storage, watch cache and the datastore
/// watch that feeds the cache. Routing, discovery and OpenAPI read it on every request, so a
/// resource registered or removed at run time (as CustomResourceDefinitions are) is served,
/// listed and forgotten from the next request on.
final class ResourceRegistry: Sendable {
    private let store: any Store
    private let context: StrategyContext
    private let clock: @Sendable () -> Date
    private let nameSuffix: @Sendable () -> String
    private let state = Mutex(State())

    private struct State {
        /// `group/version/resource` keys, the way request paths name a resource, in discovery order.
        var order: [String] = []
        var entries: [String: Entry] = [:]
        /// Counts registrations and removals, so what is derived from the set of resources
        /// (the OpenAPI documents) can be cached until it changes.
        var generation = 0
    }

    private struct Entry {
        var storage: ResourceStorage
        var watch: StoreWatch
    }

    init(store: any Store, context: StrategyContext, clock: @escaping @Sendable () -> Date,
         nameSuffix: @escaping @Sendable () -> String) {
        self.store = store
        self.context = context
        self.clock = clock
        self.nameSuffix = nameSuffix
    }

    private static func pathKey(group: String, version: String, resource: String) -> String {
        "\(group)/\(version)/\(resource)"
    }

    private static func key(_ info: ResourceInfo) -> String { pathKey(group: info.group, version: info.version, resource: info.resource) }

    /// Loads the resource's objects into a new watch cache and serves it. A resource already
    /// registered under the same name is refused: remove it first.
    func register(_ type: ResourceType, strategy: any ResourceStrategy, crdUID: String? = nil) throws {
        let info = type.info
        let cache = try ResourceCache(type: type, store: store)
        // From the revision the cache loaded at, so that no write falls in between.
        let watch = try store.watch(prefix: info.storagePrefix, fromRevision: cache.revision) { event in cache.apply(event) }
        let check: @Sendable (String) -> ResourceStorage.NamespaceState = { [weak self] name in
            self?.namespaceState(name) ?? .missing
        }
        let namespaceCheck = info.namespaced ? check : nil
        let storage = ResourceStorage(
            type: type, store: store, cache: cache, strategy: strategy, context: context, clock: clock,
            nameSuffix: nameSuffix, namespaceCheck: namespaceCheck, crdUID: crdUID)
        let added = state.withLock { s -> Bool in
            guard s.entries[Self.key(info)] == nil else { return false }
            s.order.append(Self.key(info))
            s.entries[Self.key(info)] = Entry(storage: storage, watch: watch)
            s.generation += 1
            return true
        }
        if !added {
            watch.cancel()
            throw APIServerError.invalidConfiguration("the resource \(info.qualifiedResource) \(info.version) is already served")
        }
    }

    /// Stops serving a resource: its datastore watch stops and its watchers are closed. The
    /// stored objects stay; whoever removes the resource deletes them first if they must go.
    func remove(_ info: ResourceInfo) {
        let removed = state.withLock { s -> Entry? in
            guard let entry = s.entries.removeValue(forKey: Self.key(info)) else { return nil }
            s.order.removeAll { $0 == Self.key(info) }
            s.generation += 1
            return entry
        }
        removed?.watch.cancel()
        removed?.storage.cache.closeWatchers()
    }

    func storage(group: String, version: String, resource: String) -> ResourceStorage? {
        state.withLock { $0.entries[Self.pathKey(group: group, version: version, resource: resource)]?.storage }
    }

    func storage(for info: ResourceInfo) -> ResourceStorage? {
        state.withLock { $0.entries[Self.key(info)]?.storage }
    }

    /// Every served resource's storage, in discovery order.
    var storages: [ResourceStorage] {
        state.withLock { s in s.order.compactMap { s.entries[$0]?.storage } }
    }

    /// The served resource types in discovery order, with the generation they belong to.
    var typesWithGeneration: (types: [ResourceType], generation: Int) {
        state.withLock { s in (s.order.compactMap { s.entries[$0]?.storage.type }, s.generation) }
    }

    /// Every served resource, in discovery order: the built-in stored ones, the create-only
    /// reviews (listed although nothing stores them), then custom resources.
    var resources: [ResourceInfo] {
        let stored = storages
        return stored.filter { $0.crdUID == nil }.map(\.info) + Resources.reviews + stored.filter { $0.crdUID != nil }.map(\.info)
    }

    /// The API groups other than core, with their versions, in discovery order.
    var groups: [(name: String, versions: [String])] {
        var result: [(name: String, versions: [String])] = []
        for r in resources where !r.group.isEmpty {
            if let i = result.firstIndex(where: { $0.name == r.group }) {
                if !result[i].versions.contains(r.version) { result[i].versions.append(r.version) }
            } else {
                result.append((r.group, [r.version]))
            }
        }
        return result
    }

    /// Whether a namespace exists and is not terminating, from the namespaces' watch cache.
    func namespaceState(_ name: String) -> ResourceStorage.NamespaceState {
        guard let namespaces = storage(for: Resources.namespaces),
              let ns = namespaces.cache.get(Resources.namespaces.storageKey(namespace: nil, name: name)) else { return .missing }
        return ns.object()[path: "metadata", "deletionTimestamp"] == nil ? .active : .terminating
    }

    /// Stops every datastore watch and closes every client watch.
    func shutdown() {
        let entries = state.withLock { s in s.order.compactMap { s.entries[$0] } }
        for entry in entries {
            entry.watch.cancel()
            entry.storage.cache.closeWatchers()
        }
    }
}
