import SwiftletMachinery

/// What changed in an informer's cache, as its event handlers are told.
enum CacheChange: Sendable {
    case added(JSONValue)
    case updated(old: JSONValue, new: JSONValue)
    case deleted(JSONValue)
}

/// The objects an informer has seen, by key and by each registered index. A plain value,
/// kept under the informer's lock, so a change and its notification happen atomically.
struct IndexedCache {
    private(set) var objects: [ObjectKey: JSONValue] = [:]
    private var indexers: [String: Indexer] = [:]
    /// Index name → indexed value → keys of the objects filed under it.
    private var indices: [String: [String: Set<ObjectKey>]] = [:]

    init(indexers: [Indexer]) {
        for indexer in [Indexer.namespace] + indexers { add(indexer) }
    }

    /// Registers an index and files the current objects under it. A name already taken keeps
    /// its first indexer: controllers sharing an informer register the same helpers.
    mutating func add(_ indexer: Indexer) {
        guard indexers[indexer.name] == nil else { return }
        indexers[indexer.name] = indexer
        indices[indexer.name] = [:]
        for (key, object) in objects { file(key, object, under: indexer) }
    }

    func keys(index: String, value: String) -> Set<ObjectKey> { indices[index]?[value] ?? [] }

    /// Applies one watch event.
    mutating func apply(_ type: WatchedEvent.EventType, _ object: JSONValue) -> CacheChange? {
        guard let key = ObjectKey(object) else { return nil }
        switch type {
        case .added, .modified:
            let old = store(key, object)
            return old.map { .updated(old: $0, new: object) } ?? .added(object)
        case .deleted:
            return remove(key) == nil ? nil : .deleted(object)
        case .bookmark, .expired, .error:
            return nil
        }
    }

    /// Replaces the contents with a fresh list, returning the changes a watcher would have
    /// seen: adds and updates in list order, then deletes of what is gone. An object whose
    /// resourceVersion did not change is not reported.
    mutating func replace(with items: [JSONValue]) -> [CacheChange] {
        var changes: [CacheChange] = []
        var listed: Set<ObjectKey> = []
        for item in items {
            guard let key = ObjectKey(item) else { continue }
            listed.insert(key)
            if let old = objects[key] {
                if Self.resourceVersion(old) != Self.resourceVersion(item) {
                    _ = store(key, item)
                    changes.append(.updated(old: old, new: item))
                }
            } else {
                _ = store(key, item)
                changes.append(.added(item))
            }
        }
        for key in objects.keys.sorted() where !listed.contains(key) {
            if let old = remove(key) { changes.append(.deleted(old)) }
        }
        return changes
    }

    private static func resourceVersion(_ object: JSONValue) -> String? {
        object[path: "metadata", "resourceVersion"]?.stringValue
    }

    private mutating func store(_ key: ObjectKey, _ object: JSONValue) -> JSONValue? {
        let old = objects.updateValue(object, forKey: key)
        for indexer in indexers.values {
            if let old { unfile(key, old, from: indexer) }
            file(key, object, under: indexer)
        }
        return old
    }

    private mutating func remove(_ key: ObjectKey) -> JSONValue? {
        guard let old = objects.removeValue(forKey: key) else { return nil }
        for indexer in indexers.values { unfile(key, old, from: indexer) }
        return old
    }

    private mutating func file(_ key: ObjectKey, _ object: JSONValue, under indexer: Indexer) {
        for value in indexer.values(object) { indices[indexer.name, default: [:]][value, default: []].insert(key) }
    }

    private mutating func unfile(_ key: ObjectKey, _ object: JSONValue, from indexer: Indexer) {
        for value in indexer.values(object) {
            indices[indexer.name]?[value]?.remove(key)
            if indices[indexer.name]?[value]?.isEmpty == true { indices[indexer.name]?[value] = nil }
        }
    }
}
