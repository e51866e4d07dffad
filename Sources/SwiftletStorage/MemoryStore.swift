import Synchronization

/// A `Store` that lives only in memory: for tests and throwaway clusters (`memory://`).
///
/// It keeps the live keys in a byte-sorted array next to a dictionary, so a list by prefix
/// is a binary search to the range start plus a walk, and an ordered log of events (with
/// their previous values) as the history. That log serves both `watch` from a past revision
/// and `list` at a past revision: the state at revision R is the live state with the events
/// after R undone, newest first, which needs no per-key version chains. History grows until
/// `compact(revision:)` (or `compactIfNeeded`) drops it.
///
/// Everything runs under one `Mutex`; watch handlers are called with it held (see `Store.watch`).
public final class MemoryStore: Store {
    private struct State {
        /// Live keys, sorted by UTF-8 bytes (see `KeyOrder`).
        var keys: [String] = []
        var live: [String: KeyValue] = [:]
        /// Every event with a revision above `compacted`, oldest first.
        var history: [StoreEvent] = []
        var revision: Int64 = 0
        var compacted: Int64 = 0
        var watchers: [Watcher] = []
        var closed = false
    }

    private let state = Mutex(State())
    // Mirrors of the two counters, readable without the lock, so that a watch handler (which
    // runs with the lock held) can still ask for them without deadlocking.
    private let revisionMirror = Atomic<Int64>(0)
    private let compactedMirror = Atomic<Int64>(0)

    public init() {}

    public var currentRevision: Int64 { revisionMirror.load(ordering: .acquiring) }
    public var compactedRevision: Int64 { compactedMirror.load(ordering: .acquiring) }

    public func get(_ key: String) throws(StoreError) -> KeyValue? {
        try state.withLock { (s) throws(StoreError) -> KeyValue? in
            guard !s.closed else { throw .closed }
            return s.live[key]
        }
    }

    public func list(prefix: String, revision: Int64, startAfter: String?, limit: Int) throws(StoreError) -> ListResult {
        try state.withLock { (s) throws(StoreError) -> ListResult in
            guard !s.closed else { throw .closed }
            let at = revision == 0 ? s.revision : revision
            if at > s.revision { throw .futureRevision(revision) }
            if at < s.compacted { throw .compacted(requested: revision, compacted: s.compacted) }

            let prefixBytes = Array(prefix.utf8)
            let lower = KeyOrder.lowerBound(prefix: prefix, startAfter: startAfter)
            let want = limit > 0 ? limit + 1 : Int.max   // one extra to learn `hasMore`
            var items: [KeyValue] = []
            var i = Self.lowerBound(s.keys, lower)

            if at == s.revision {
                while i < s.keys.count, items.count < want, KeyOrder.hasPrefix(s.keys[i], prefixBytes) {
                    items.append(s.live[s.keys[i]]!)
                    i += 1
                }
            } else {
                // Undo the events after `at`, newest first; the last write per key wins, which
                // is the state just before that key's first change after `at`. `.some(nil)`
                // means "did not exist at `at`".
                var overlay: [String: KeyValue?] = [:]
                let first = Self.firstEvent(after: at, in: s.history)
                for event in s.history[first...].reversed() {
                    let key = event.kv.key
                    guard KeyOrder.hasPrefix(key, prefixBytes), !KeyOrder.less(key, lower) else { continue }
                    overlay.updateValue(event.kind == .created ? nil : event.previous, forKey: key)
                }
                let changed = overlay.keys.sorted(by: KeyOrder.less)
                var j = 0
                // Merge the live keys with the changed ones, both in key order.
                merge: while items.count < want {
                    let liveKey = i < s.keys.count && KeyOrder.hasPrefix(s.keys[i], prefixBytes) ? s.keys[i] : nil
                    let changedKey = j < changed.count ? changed[j] : nil
                    let key: String
                    switch (liveKey, changedKey) {
                    case (nil, nil):
                        break merge
                    case (let l?, nil):
                        key = l; i += 1
                    case (nil, let c?):
                        key = c; j += 1
                    case (let l?, let c?):
                        if l == c { key = l; i += 1; j += 1 }
                        else if KeyOrder.less(l, c) { key = l; i += 1 }
                        else { key = c; j += 1 }
                    }
                    if let old = overlay[key] {
                        if let old { items.append(old) }
                    } else if let current = s.live[key] {
                        items.append(current)
                    }
                }
            }

            let hasMore = limit > 0 && items.count > limit
            if hasMore { items.removeLast() }
            return ListResult(items: items, revision: at, hasMore: hasMore)
        }
    }

    @discardableResult
    public func create(_ key: String, encode: (Int64) throws -> [UInt8]) throws(StoreError) -> KeyValue {
        try state.withLock { (s) throws(StoreError) -> KeyValue in
            guard !s.closed else { throw .closed }
            if s.live[key] != nil { throw .keyExists(key) }
            let rev = s.revision + 1
            let kv = KeyValue(key: key, value: try runEncode(encode, revision: rev), createRevision: rev, modRevision: rev)
            s.keys.insert(key, at: Self.lowerBound(s.keys, Array(key.utf8)))
            s.live[key] = kv
            commit(&s, StoreEvent(kind: .created, kv: kv, previous: nil))
            return kv
        }
    }

    @discardableResult
    public func update(_ key: String, expectedRevision: Int64, encode: (Int64) throws -> [UInt8]) throws(StoreError) -> KeyValue {
        try state.withLock { (s) throws(StoreError) -> KeyValue in
            guard !s.closed else { throw .closed }
            guard let old = s.live[key] else { throw .notFound(key) }
            guard old.modRevision == expectedRevision else {
                throw .conflict(key: key, currentRevision: old.modRevision)
            }
            let rev = s.revision + 1
            let kv = KeyValue(key: key, value: try runEncode(encode, revision: rev), createRevision: old.createRevision, modRevision: rev)
            s.live[key] = kv
            commit(&s, StoreEvent(kind: .updated, kv: kv, previous: old))
            return kv
        }
    }

    @discardableResult
    public func delete(_ key: String, expectedRevision: Int64?) throws(StoreError) -> KeyValue {
        try state.withLock { (s) throws(StoreError) -> KeyValue in
            guard !s.closed else { throw .closed }
            guard let old = s.live[key] else { throw .notFound(key) }
            if let expectedRevision, old.modRevision != expectedRevision {
                throw .conflict(key: key, currentRevision: old.modRevision)
            }
            let rev = s.revision + 1
            var kv = old
            kv.modRevision = rev
            s.live[key] = nil
            let index = Self.lowerBound(s.keys, Array(key.utf8))
            s.keys.remove(at: index)
            commit(&s, StoreEvent(kind: .deleted, kv: kv, previous: old))
            return kv
        }
    }

    public func watch(prefix: String, fromRevision: Int64, handler: @escaping @Sendable (StoreEvent) -> Void) throws(StoreError) -> StoreWatch {
        try state.withLock { (s) throws(StoreError) -> StoreWatch in
            guard !s.closed else { throw .closed }
            if fromRevision < s.compacted { throw .compacted(requested: fromRevision, compacted: s.compacted) }
            if fromRevision > s.revision { throw .futureRevision(fromRevision) }
            let watcher = Watcher(prefix: prefix, handler: handler)
            // Replay and registration happen under the same lock hold as writes, so no write
            // can slip in between: nothing is lost or delivered twice.
            for event in s.history[Self.firstEvent(after: fromRevision, in: s.history)...] {
                guard watcher.deliver(event) else { break }
            }
            s.watchers.append(watcher)
            return watcher.makeHandle()
        }
    }

    public func compact(revision: Int64) throws(StoreError) {
        try state.withLock { (s) throws(StoreError) in
            guard !s.closed else { throw .closed }
            if revision > s.revision { throw .futureRevision(revision) }
            guard revision > s.compacted else { return }
            // Events at or below the compacted revision are never needed again: watches start
            // after it and lists at it undo only later events.
            s.history.removeFirst(Self.firstEvent(after: revision, in: s.history))
            s.compacted = revision
            compactedMirror.store(revision, ordering: .releasing)
        }
    }

    /// Memory never fills up the way a disk does; allocation failure ends the process.
    public func writeFailure() -> String? { nil }

    public func close() {
        state.withLock { s in
            s.closed = true
            s.watchers.removeAll()
            s.keys.removeAll()
            s.live.removeAll()
            s.history.removeAll()
        }
    }

    // MARK: - Internals

    /// Records a committed event: bumps the revision, appends history, delivers to watchers.
    private func commit(_ s: inout State, _ event: StoreEvent) {
        s.revision = event.revision
        s.history.append(event)
        revisionMirror.store(event.revision, ordering: .releasing)
        s.watchers.deliver(event)
    }

    /// Index of the first key >= `bound` in byte order.
    private static func lowerBound(_ keys: [String], _ bound: [UInt8]) -> Int {
        var lo = 0, hi = keys.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if KeyOrder.less(keys[mid], bound) { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// Index of the first event with a revision above `revision`.
    private static func firstEvent(after revision: Int64, in history: [StoreEvent]) -> Int {
        var lo = 0, hi = history.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if history[mid].revision <= revision { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }
}
