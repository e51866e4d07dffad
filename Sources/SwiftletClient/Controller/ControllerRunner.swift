import SwiftletMachinery

/// Runs a controller's workers: each takes a key from the queue, syncs it, and releases it.
/// A failed sync is retried with the key's backoff; a successful one resets the backoff. A
/// failure that retrying cannot fix (the API refusing what the controller writes) also keeps
/// the key back for its backoff, so that events do not run the same failing sync in a loop.
/// Because the queue never hands one key to two workers, `sync` may assume it is the only
/// one working on that object.
public struct ControllerRunner<Key: Hashable & Sendable>: Sendable {
    public let name: String
    public let queue: WorkQueue<Key>
    public let workers: Int
    private let sync: @Sendable (Key) async throws -> Void
    private let log: LogSink

    public init(name: String, queue: WorkQueue<Key>, workers: Int, log: @escaping LogSink = ClientLog.standardError,
                sync: @escaping @Sendable (Key) async throws -> Void) {
        self.name = name
        self.queue = queue
        self.workers = max(1, workers)
        self.sync = sync
        self.log = log
    }

    /// Returns when the queue is shut down. Cancelling the calling task shuts the queue down:
    /// workers finish the sync they are in (which sees the cancellation) and stop.
    public func run() async {
        await withTaskCancellationHandler {
            await withDiscardingTaskGroup { group in
                for _ in 0..<workers {
                    group.addTask { await work() }
                }
            }
        } onCancel: {
            queue.shutDown()
        }
    }

    private func work() async {
        while let key = await queue.get() {
            do {
                try await sync(key)
                queue.forget(key)
            } catch let error as APIError where !error.isRetryable {
                log("\(name): sync of \(key) failed (retry \(queue.retries(key) + 1), kept back for its back-off): \(error)")
                queue.addBackedOff(key)
            } catch {
                log("\(name): sync of \(key) failed (retry \(queue.retries(key) + 1)): \(error)")
                queue.addRateLimited(key)
            }
            queue.done(key)
        }
    }
}
