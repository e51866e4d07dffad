import Synchronization

// Helpers shared by both drivers: key ordering, prefix ranges, encoding and watch fan-out.
//
// Both drivers order keys by their UTF-8 bytes, never by Swift's `String <`: SQLite compares
// TEXT with memcmp (BINARY collation), and the memory driver must return lists in exactly the
// same order, or paging with `startAfter` would behave differently per driver. (Swift's `<`
// follows Unicode canonical ordering, which agrees with byte order only for NFC text.) Keys
// are expected to be NFC (Kubernetes keys are ASCII), because the memory driver's dictionary
// still uses `String ==`, which treats canonically equivalent spellings as one key.

enum KeyOrder {
    /// Byte-wise "a < b", the order SQLite's BINARY collation uses.
    @inline(__always)
    static func less(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }

    @inline(__always)
    static func less(_ a: String, _ b: [UInt8]) -> Bool {
        a.utf8.lexicographicallyPrecedes(b)
    }

    /// The smallest key bound a list must start from, inclusive: the prefix itself, or, when
    /// paging, the smallest string greater than `startAfter` (which is `startAfter + "\0"`
    /// in byte order), whichever is larger. One inclusive lower bound lets both drivers use a
    /// single range scan instead of combining `>= prefix` and `> startAfter`.
    static func lowerBound(prefix: String, startAfter: String?) -> [UInt8] {
        let p = Array(prefix.utf8)
        guard let startAfter else { return p }
        let after = Array(startAfter.utf8) + [0]
        return after.lexicographicallyPrecedes(p) ? p : after
    }

    /// An exclusive upper bound for keys starting with `prefix`: `prefix + 0xFF`. No UTF-8
    /// text contains the byte 0xFF, so every key with the prefix sorts below it, and every key
    /// without the prefix that is >= the prefix differs from it earlier, at a larger byte, so
    /// it sorts above. Also right for the empty prefix (0xFF is above every key).
    static func upperBound(prefix: String) -> [UInt8] {
        Array(prefix.utf8) + [0xFF]
    }

    @inline(__always)
    static func hasPrefix(_ key: String, _ prefix: [UInt8]) -> Bool {
        key.utf8.starts(with: prefix)
    }
}

/// Runs a writer's `encode` closure and maps its (untyped) error into the store's error type.
/// A `StoreError` thrown by the closure passes through unchanged, so callers can abort a write
/// with a precise reason.
@inline(__always)
func runEncode(_ encode: (Int64) throws -> [UInt8], revision: Int64) throws(StoreError) -> [UInt8] {
    do {
        return try encode(revision)
    } catch let error as StoreError {
        throw error
    } catch {
        throw .encodingFailed(String(describing: error))
    }
}

/// One registered watch.
///
/// Handlers always run while the store's lock is held (that is what keeps delivery in
/// revision order and makes the replay-to-live switch gap-free), so cancelling must not need
/// that lock: a handler that cancels its own watch would otherwise deadlock. Instead the
/// handler sits behind a tiny per-watch lock; `cancel()` drops it (which also frees whatever
/// the closure captured right away), and the store prunes dead watchers on its next delivery.
final class Watcher: Sendable {
    /// The handler travels inside a struct: a bare closure stored in generic storage (the
    /// Mutex) is re-abstracted through a thunk on every inout access, and those thunks pile
    /// up, one more layer per delivery, until the stack overflows.
    private struct Handler: Sendable {
        let call: @Sendable (StoreEvent) -> Void
    }

    let prefix: [UInt8]
    private let handler: Mutex<Handler?>

    init(prefix: String, handler: @escaping @Sendable (StoreEvent) -> Void) {
        self.prefix = Array(prefix.utf8)
        self.handler = Mutex(Handler(call: handler))
    }

    var isCancelled: Bool { handler.withLock { $0 == nil } }

    func cancel() { handler.withLock { $0 = nil } }

    /// Delivers `event` if its key matches. Returns false once the watch is cancelled so the
    /// caller can prune it. The handler is called outside the per-watch lock, so it may
    /// cancel this very watch.
    @discardableResult
    func deliver(_ event: StoreEvent) -> Bool {
        guard let h = handler.withLock({ $0 }) else { return false }
        if KeyOrder.hasPrefix(event.kv.key, prefix) { h.call(event) }
        return true
    }

    func makeHandle() -> StoreWatch {
        StoreWatch(onCancel: { [self] in cancel() })
    }
}

extension Array where Element == Watcher {
    /// Fans one event out, in registration order, and forgets cancelled watchers.
    mutating func deliver(_ event: StoreEvent) {
        var sawCancelled = false
        for watcher in self where !watcher.deliver(event) { sawCancelled = true }
        if sawCancelled { removeAll { $0.isCancelled } }
    }
}

extension Store {
    /// Compacts to `currentRevision - keepRevisions` if that is newer than the current
    /// compacted revision; returns whether it compacted.
    ///
    /// The API server calls this on a timer (kine's default is to keep 1000 revisions and
    /// check every 5 minutes). Keeping a window of revisions, rather than compacting to
    /// "now", lets watchers that fell slightly behind, and list continue tokens that pin an
    /// older revision, keep working.
    @discardableResult
    public func compactIfNeeded(keepRevisions: Int) throws(StoreError) -> Bool {
        let target = currentRevision - Int64(Swift.max(keepRevisions, 0))
        guard target > compactedRevision else { return false }
        try compact(revision: target)
        return true
    }
}

/// Opens the store named by a datastore URL:
/// - `memory://` (anything starting with `memory:`): a fresh, empty `MemoryStore` (tests).
/// - `sqlite://PATH`: a `SQLiteStore`; `sqlite:///var/lib/swiftlet/state.db` is absolute,
///   `sqlite://state.db` is relative to the working directory. Missing parent directories
///   are created (mode 0700), the file is created with mode 0600.
public func openStore(url: String) throws(StoreError) -> any Store {
    if url.hasPrefix("memory:") {
        return MemoryStore()
    }
    let scheme = "sqlite://"
    if url.hasPrefix(scheme) {
        let path = String(url.dropFirst(scheme.count))
        guard !path.isEmpty, path != "/" else { throw .invalidURL(url) }
        return try SQLiteStore(path: path)
    }
    throw .invalidURL(url)
}
