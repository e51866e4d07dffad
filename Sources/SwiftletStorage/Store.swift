/// A small revisioned key-value store, in the spirit of kine: every write gets the next
/// revision of one global, strictly increasing counter, and that revision is the object's
/// Kubernetes `resourceVersion`. Drivers: `memory://` (tests) and `sqlite://PATH` (default).
///
/// Values are opaque bytes. Writers pass an `encode` closure that receives the revision the
/// write will get, so the stored bytes can embed their own `resourceVersion` and be served
/// later without re-encoding.
public protocol Store: AnyObject, Sendable {
    /// The revision of the newest write (0 for an empty store).
    var currentRevision: Int64 { get }

    /// The oldest revision a watch may start from; older ones answer `StoreError.compacted`.
    var compactedRevision: Int64 { get }

    /// The live value of `key`, or nil.
    func get(_ key: String) throws(StoreError) -> KeyValue?

    /// Live keys starting with `prefix`, in key order, as of `revision` (0 = newest).
    /// Starts after `startAfter` when given (for continue tokens); returns at most `limit`
    /// items (0 = no limit) and whether more follow.
    func list(prefix: String, revision: Int64, startAfter: String?, limit: Int) throws(StoreError) -> ListResult

    /// Creates `key`; fails with `.keyExists` if it is live.
    @discardableResult
    func create(_ key: String, encode: (Int64) throws -> [UInt8]) throws(StoreError) -> KeyValue

    /// Replaces `key` if its live modRevision equals `expectedRevision`
    /// (`.conflict` otherwise, `.notFound` if absent).
    @discardableResult
    func update(_ key: String, expectedRevision: Int64, encode: (Int64) throws -> [UInt8]) throws(StoreError) -> KeyValue

    /// Deletes `key`, if `expectedRevision` is nil or equals its modRevision. Returns the
    /// deleted value (with the revision of the delete in `modRevision`).
    @discardableResult
    func delete(_ key: String, expectedRevision: Int64?) throws(StoreError) -> KeyValue

    /// Calls `handler` with every event after `fromRevision` whose key starts with `prefix`,
    /// first the stored history, then live writes, in revision order, synchronously from the
    /// writer (keep handlers short). Fails with `.compacted` if `fromRevision` is older than
    /// `compactedRevision`. Cancel the returned watch to stop.
    ///
    /// The history is replayed before this call returns, on the caller's thread. Handlers run
    /// while the store's lock is held (that is what makes delivery strictly ordered and the
    /// history-to-live switch gap-free), so a handler must not call the store's methods,
    /// which would deadlock; only `currentRevision`, `compactedRevision` and
    /// `StoreWatch.cancel()` are safe there. Hand events off to a queue instead. A slow
    /// handler delays every writer.
    ///
    /// `fromRevision` is a plain revision, with no special meaning for 0: to see only new
    /// writes, pass `currentRevision` or the revision of a list. A `fromRevision` above
    /// `currentRevision` fails with `.futureRevision`.
    func watch(prefix: String, fromRevision: Int64, handler: @escaping @Sendable (StoreEvent) -> Void) throws(StoreError) -> StoreWatch

    /// Drops history older than `revision` (the live value of each key stays). Afterwards,
    /// lists at `revision` or later and watches from `revision` or later still work; older
    /// ones fail with `.compacted`. A revision at or below `compactedRevision` is a no-op;
    /// one above `currentRevision` fails with `.futureRevision`.
    func compact(revision: Int64) throws(StoreError)

    /// Why the store cannot take writes, or nil when it can. After a write failed for the
    /// store's own sake (no space left, an I/O error), a call tries a small write of its own
    /// (at most once a second), so the answer clears as soon as space returns even when no
    /// one else writes; any successful write clears it too.
    func writeFailure() -> String?

    /// Flushes and closes; later calls fail with `.closed`. Registered watches are dropped
    /// without a final event.
    func close()
}

public struct KeyValue: Sendable, Equatable {
    public var key: String
    public var value: [UInt8]
    public var createRevision: Int64
    public var modRevision: Int64

    public init(key: String, value: [UInt8], createRevision: Int64, modRevision: Int64) {
        self.key = key
        self.value = value
        self.createRevision = createRevision
        self.modRevision = modRevision
    }
}

public struct ListResult: Sendable {
    public var items: [KeyValue]
    /// The revision the list reflects.
    public var revision: Int64
    public var hasMore: Bool

    public init(items: [KeyValue], revision: Int64, hasMore: Bool) {
        self.items = items
        self.revision = revision
        self.hasMore = hasMore
    }
}

public struct StoreEvent: Sendable, Equatable {
    public enum Kind: Sendable, Equatable { case created, updated, deleted }
    public var kind: Kind
    /// For deletes: the last value, with `modRevision` = the delete's revision.
    public var kv: KeyValue
    /// The value before this event (nil for creates, and for history replayed after a compaction).
    public var previous: KeyValue?

    public init(kind: Kind, kv: KeyValue, previous: KeyValue?) {
        self.kind = kind
        self.kv = kv
        self.previous = previous
    }

    public var revision: Int64 { kv.modRevision }
}

/// A registered watch. `cancel()` is idempotent and safe from any thread, including from
/// inside the watch's own handler; once it returns no new delivery starts (one already
/// running on another thread finishes). Releasing this object does not cancel the watch.
public final class StoreWatch: Sendable {
    private let onCancel: @Sendable () -> Void
    public init(onCancel: @escaping @Sendable () -> Void) { self.onCancel = onCancel }
    public func cancel() { onCancel() }
}

public enum StoreError: Error, Equatable, Sendable {
    case keyExists(String)
    case notFound(String)
    /// The key's live modRevision differs from the expected one.
    case conflict(key: String, currentRevision: Int64)
    /// The requested revision is older than the compacted revision.
    case compacted(requested: Int64, compacted: Int64)
    /// The requested revision is newer than the store's.
    case futureRevision(Int64)
    case encodingFailed(String)
    case io(String)
    /// The file is damaged: SQLite found its structure broken, or a row failed its checksum.
    /// Nothing but a restore (or a reset) brings the lost data back.
    case corrupt(String)
    case closed
    case invalidURL(String)
}

extension StoreError: CustomStringConvertible {
    /// What a client or an operator reads: the cause, without the enum's spelling.
    public var description: String {
        switch self {
        case .keyExists(let key): return "key exists: \(key)"
        case .notFound(let key): return "key not found: \(key)"
        case .conflict(let key, let revision): return "conflict on \(key): its revision is \(revision)"
        case .compacted(let requested, let compacted): return "revision \(requested) is compacted (the oldest is \(compacted))"
        case .futureRevision(let revision): return "revision \(revision) is in the future"
        case .encodingFailed(let message): return "encoding failed: \(message)"
        case .io(let message), .corrupt(let message): return message
        case .closed: return "the datastore is closed"
        case .invalidURL(let url): return "invalid datastore URL \(url)"
        }
    }
}
