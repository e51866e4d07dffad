import SwiftletMachinery

/// Callbacks for an informer's changes. They run on a task of their own, one change at a
/// time in the order the cache saw them, so a slow handler delays only itself, never the
/// watch or other handlers. Keep them short anyway: the usual handler computes a key and
/// adds it to a work queue.
///
/// `onDelete` gets the object's last state: the deleted object from the watch, or, when the
/// deletion was only noticed by a relist, the last version the cache held.
public struct EventHandler: Sendable {
    public var onAdd: @Sendable (JSONValue) -> Void
    public var onUpdate: @Sendable (_ old: JSONValue, _ new: JSONValue) -> Void
    public var onDelete: @Sendable (JSONValue) -> Void

    public init(onAdd: @escaping @Sendable (JSONValue) -> Void = { _ in },
                onUpdate: @escaping @Sendable (_ old: JSONValue, _ new: JSONValue) -> Void = { _, _ in },
                onDelete: @escaping @Sendable (JSONValue) -> Void = { _ in }) {
        self.onAdd = onAdd
        self.onUpdate = onUpdate
        self.onDelete = onDelete
    }
}

/// One handler's unbounded mailbox and the task that empties it.
struct HandlerChannel {
    private let continuation: AsyncStream<CacheChange>.Continuation

    init(_ handler: EventHandler) {
        let (stream, continuation) = AsyncStream<CacheChange>.makeStream(bufferingPolicy: .unbounded)
        self.continuation = continuation
        Task {
            for await change in stream {
                switch change {
                case .added(let object): handler.onAdd(object)
                case .updated(let old, let new): handler.onUpdate(old, new)
                case .deleted(let object): handler.onDelete(object)
                }
            }
        }
    }

    func send(_ change: CacheChange) { continuation.yield(change) }

    /// Delivers what is already queued, then ends.
    func finish() { continuation.finish() }
}
