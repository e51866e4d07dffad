import Synchronization
import SwiftletAPI
import SwiftletMachinery
import SwiftletStorage

/// The watch cache of one resource: every live object in memory, and a window of recent
/// events, so that list and watch never touch the datastore (upstream's "cacher").
///
/// The cache is fed by a datastore watch whose handler runs synchronously inside each write,
/// so a write that has returned is already visible here: a client reads its own writes.
public final class ResourceCache: Sendable {
    public let type: ResourceType
    private let state: Mutex<State>
    private let historyLimit: Int
    /// Live events a watcher may have waiting before it is closed as too slow, as upstream's
    /// cacher closes unresponsive watchers; it then resumes from the last revision it saw.
    let watcherBuffer: Int

    struct Watcher {
        var filter: WatchFilter
        var bookmarks: Bool
        var continuation: AsyncStream<WatchEvent>.Continuation
    }

    struct State {
        var objects: [String: CachedObject] = [:]
        /// Keys in order, rebuilt lazily after inserts and removals.
        var sortedKeys: [String]? = []
        /// Recent events, oldest first, bounded by `historyLimit`.
        var history: [StoreEvent] = []
        var historyStart = 0
        /// Events after this revision are all in `history`.
        var completeAfter: Int64
        /// The revision this cache reflects: the load revision or the newest event seen.
        var revision: Int64
        var watchers: [Int: Watcher] = [:]
        var nextWatcherID = 0
    }

    init(type: ResourceType, store: any Store, historyLimit: Int = 10_000, watcherBuffer: Int = 10_000) throws(StoreError) {
        self.type = type
        self.historyLimit = historyLimit
        self.watcherBuffer = watcherBuffer
        let loaded = try store.list(prefix: type.info.storagePrefix, revision: 0, startAfter: nil, limit: 0)
        var initial = State(completeAfter: loaded.revision, revision: loaded.revision)
        for kv in loaded.items {
            if let object = try? JSONParser.parse(kv.value).value {
                initial.objects[kv.key] = Self.cached(key: kv.key, bytes: kv.value, revision: kv.modRevision, object: object, type: type)
            }
        }
        initial.sortedKeys = nil
        self.state = Mutex(initial)
    }

    /// A stored object as this resource serves it: objects of a CRD's version other than its
    /// storage version are the stored ones with that apiVersion (the `None` conversion).
    static func cached(key: String, bytes: [UInt8], revision: Int64, object: JSONValue, type: ResourceType) -> CachedObject {
        guard type.storageVersion != nil, object["apiVersion"]?.stringValue != type.info.apiVersion else {
            return CachedObject(key: key, bytes: bytes, revision: revision, object: object, type: type)
        }
        var converted = object
        converted["apiVersion"] = .string(type.info.apiVersion)
        return CachedObject(key: key, bytes: JSONWriter.write(converted), revision: revision, object: converted, type: type)
    }

    /// Applies one datastore event and fans it out to the watchers.
    func apply(_ event: StoreEvent) {
        let current: CachedObject?
        var previous: CachedObject?
        switch event.kind {
        case .created, .updated:
            guard let object = try? JSONParser.parse(event.kv.value).value else { return }
            current = Self.cached(key: event.kv.key, bytes: event.kv.value, revision: event.revision, object: object, type: type)
        case .deleted:
            // The DELETED object carries the revision of the delete, as upstream's does.
            guard var object = try? JSONParser.parse(event.kv.value).value else { return }
            object[path: "metadata", "resourceVersion"] = .string(String(event.revision))
            current = Self.cached(key: event.kv.key, bytes: JSONWriter.write(object), revision: event.revision, object: object, type: type)
        }
        let tooSlow = state.withLock { s -> [AsyncStream<WatchEvent>.Continuation] in
            previous = s.objects[event.kv.key]
            if event.kind == .deleted {
                if s.objects.removeValue(forKey: event.kv.key) != nil { s.sortedKeys = nil }
            } else if let current {
                if s.objects.updateValue(current, forKey: event.kv.key) == nil { s.sortedKeys = nil }
            }
            s.revision = max(s.revision, event.revision)
            s.history.append(event)
            if s.history.count - s.historyStart > historyLimit {
                s.completeAfter = s.history[s.historyStart].revision
                s.historyStart += 1
                if s.historyStart > historyLimit {
                    s.history.removeFirst(s.historyStart)
                    s.historyStart = 0
                }
            }
            guard let current else { return [] }
            var tooSlow: [AsyncStream<WatchEvent>.Continuation] = []
            for (id, watcher) in s.watchers {
                if let e = Self.transition(event.kind, current: current, previous: previous, filter: watcher.filter),
                   !Self.deliver(e, to: watcher, id: id, in: &s) {
                    tooSlow.append(watcher.continuation)
                }
            }
            return tooSlow
        }
        // Ended outside the lock: ending a stream runs its termination handler, which takes it.
        for continuation in tooSlow { continuation.finish() }
    }

    /// Hands an event to a watcher; a watcher whose buffer is full is dropped (false), to be
    /// ended by the caller once it has let go of the lock.
    private static func deliver(_ event: WatchEvent, to watcher: Watcher, id: Int, in state: inout State) -> Bool {
        guard case .dropped = watcher.continuation.yield(event) else { return true }
        state.watchers.removeValue(forKey: id)
        return false
    }

    /// Turns a change into what a filtered watcher sees: an object that starts matching
    /// is ADDED, one that stops matching is DELETED, as upstream's cacher does.
    private static func transition(_ kind: StoreEvent.Kind, current: CachedObject, previous: CachedObject?, filter: WatchFilter) -> WatchEvent? {
        let now = filter.matches(current)
        switch kind {
        case .created:
            return now ? WatchEvent(kind: .added, object: current, revision: current.revision) : nil
        case .deleted:
            let was = previous.map(filter.matches) ?? now
            return was ? WatchEvent(kind: .deleted, object: current, revision: current.revision) : nil
        case .updated:
            let was = previous.map(filter.matches) ?? now
            switch (was, now) {
            case (true, true): return WatchEvent(kind: .modified, object: current, revision: current.revision)
            case (false, true): return WatchEvent(kind: .added, object: current, revision: current.revision)
            case (true, false): return WatchEvent(kind: .deleted, object: current, revision: current.revision)
            case (false, false): return nil
            }
        }
    }

    public var revision: Int64 { state.withLock { $0.revision } }

    public func get(_ key: String) -> CachedObject? { state.withLock { $0.objects[key] } }

    public struct ListPage: Sendable {
        public var items: [CachedObject]
        public var revision: Int64
        /// The key of the last item when more matching items follow.
        public var continueAfter: String?
    }

    /// Matching objects in key order, starting after `startAfter`, at most `limit` (0 = all).
    public func list(prefix: String, filter: WatchFilter, startAfter: String? = nil, limit: Int = 0) -> ListPage {
        state.withLock { s in
            if s.sortedKeys == nil { s.sortedKeys = s.objects.keys.sorted() }
            let keys = s.sortedKeys!
            var index = Self.lowerBound(keys, prefix)
            if let startAfter, startAfter >= prefix {
                index = Self.lowerBound(keys, startAfter)
                if index < keys.count, keys[index] == startAfter { index += 1 }
            }
            var items: [CachedObject] = []
            while index < keys.count, keys[index].hasPrefix(prefix) {
                let object = s.objects[keys[index]]!
                if filter.matches(object) {
                    if limit > 0, items.count == limit {
                        return ListPage(items: items, revision: s.revision, continueAfter: items.last?.key)
                    }
                    items.append(object)
                }
                index += 1
            }
            return ListPage(items: items, revision: s.revision, continueAfter: nil)
        }
    }

    private static func lowerBound(_ keys: [String], _ target: String) -> Int {
        var low = 0, high = keys.count
        while low < high {
            let mid = (low + high) / 2
            if keys[mid] < target { low = mid + 1 } else { high = mid }
        }
        return low
    }

    public enum WatchStart: Sendable {
        /// Synthetic ADDED events for the current state, then changes ("0" or unset).
        case currentState
        /// Only changes after this revision.
        case after(Int64)
    }

    public struct TooOld: Error { public let requested: Int64; public let oldest: Int64 }

    /// A watch: the events it starts with (the current state, or what happened since the
    /// requested revision), then live changes. The starting events share the cache's objects,
    /// so they cost next to nothing until they are written; the live ones wait in a bounded
    /// buffer, and a watcher that lets it fill is closed.
    public struct Watch: Sendable {
        public var initial: [WatchEvent]
        public var live: AsyncStream<WatchEvent>
        /// Ends the watch (its timeout).
        public var close: @Sendable () -> Void
    }

    /// Starts a watch. Its live stream ends when the caller stops iterating, cancels, closes
    /// it, or falls too far behind.
    public func watch(filter: WatchFilter, prefix: String, from start: WatchStart, bookmarks: Bool = false,
                      markInitialEventsEnd: Bool = false) throws(TooOld) -> Watch {
        let (stream, continuation) = AsyncStream<WatchEvent>.makeStream(bufferingPolicy: .bufferingOldest(watcherBuffer))
        let (id, initial) = try state.withLock { s throws(TooOld) -> (Int, [WatchEvent]) in
            var initial: [WatchEvent] = []
            switch start {
            case .currentState:
                if s.sortedKeys == nil { s.sortedKeys = s.objects.keys.sorted() }
                for key in s.sortedKeys! where key.hasPrefix(prefix) {
                    let object = s.objects[key]!
                    if filter.matches(object) { initial.append(WatchEvent(kind: .added, object: object, revision: object.revision)) }
                }
                if markInitialEventsEnd {
                    initial.append(WatchEvent(kind: .bookmark, object: nil, revision: s.revision, endsInitialEvents: true))
                }
            case .after(let revision):
                if revision < s.completeAfter {
                    throw TooOld(requested: revision, oldest: s.completeAfter)
                }
                // Replay what happened since, through the same filter and transitions.
                var replayed: [String: CachedObject] = [:]
                for event in s.history[s.historyStart...] where event.revision > revision && event.kv.key.hasPrefix(prefix) {
                    guard let object = try? JSONParser.parse(event.kv.value).value else { continue }
                    var o = object
                    if event.kind == .deleted { o[path: "metadata", "resourceVersion"] = .string(String(event.revision)) }
                    let current = Self.cached(key: event.kv.key, bytes: event.kind == .deleted ? JSONWriter.write(o) : event.kv.value,
                                               revision: event.revision, object: o, type: type)
                    let previous = replayed[event.kv.key] ?? event.previous.flatMap { p in
                        (try? JSONParser.parse(p.value).value).map { Self.cached(key: p.key, bytes: p.value, revision: p.modRevision, object: $0, type: type) }
                    }
                    if let e = Self.transition(event.kind, current: current, previous: previous, filter: filter) { initial.append(e) }
                    replayed[event.kv.key] = current
                }
            }
            let id = s.nextWatcherID
            s.nextWatcherID += 1
            s.watchers[id] = Watcher(filter: filter, bookmarks: bookmarks, continuation: continuation)
            return (id, initial)
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.watchers.removeValue(forKey: id) }
        }
        return Watch(initial: initial, live: stream, close: { continuation.finish() })
    }

    /// Tells watchers that asked for bookmarks how far the cache has got, so that after a
    /// reconnect they resume from a recent revision even if nothing they watch changed.
    func sendBookmarks() {
        let tooSlow = state.withLock { s -> [AsyncStream<WatchEvent>.Continuation] in
            var tooSlow: [AsyncStream<WatchEvent>.Continuation] = []
            for (id, w) in s.watchers where w.bookmarks
                && !Self.deliver(WatchEvent(kind: .bookmark, object: nil, revision: s.revision), to: w, id: id, in: &s) {
                tooSlow.append(w.continuation)
            }
            return tooSlow
        }
        for continuation in tooSlow { continuation.finish() }
    }

    public var watcherCount: Int { state.withLock { $0.watchers.count } }

    /// Ends every watch, for shutdown.
    func closeWatchers() {
        let watchers = state.withLock { s -> [Watcher] in
            let w = Array(s.watchers.values)
            s.watchers = [:]
            return w
        }
        for w in watchers { w.continuation.finish() }
    }
}
