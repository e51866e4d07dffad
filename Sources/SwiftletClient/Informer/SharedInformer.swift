import Foundation
import Synchronization
import SwiftletAPI
import SwiftletMachinery

/// A local, indexed copy of one resource (optionally one namespace or label selector), kept
/// current by list-then-watch, with callbacks on every change: client-go's shared informer.
///
/// Controllers read from this cache rather than from the server, and are told what changed
/// rather than polling. The copy is eventually consistent: after a write returns, the cache
/// shows it once the watch delivers it, so a sync must tolerate reading slightly old state
/// (and a write based on it failing with 409 Conflict, to be retried).
///
/// The loop: list, then watch from the list's resourceVersion; when a watch ends, watch
/// again from the last resourceVersion seen; when the server says that revision is gone
/// (410), list again and report the difference as adds, updates and deletes. Errors back off
/// on the clock (1 s doubling to 30 s) and relist.
public final class SharedInformer: Sendable {
    public let resource: ResourceInfo
    public let namespace: String?
    public let labelSelector: String?
    /// A field selector, such as `metadata.name=NAME` for one object (what the kubelet watches).
    public let fieldSelector: String?
    private let client: APIClient
    private let clock: any Clock
    private let log: LogSink

    private struct State {
        var cache: IndexedCache
        var handlers: [HandlerChannel] = []
        var synced = false
        var stopped = false
        var syncWaiters: [Int: CheckedContinuation<Bool, Never>] = [:]
        var nextWaiterID = 0
        var task: Task<Void, Never>?
    }

    private let state: Mutex<State>

    public init(client: APIClient, resource: ResourceInfo, namespace: String? = nil, labelSelector: String? = nil,
                fieldSelector: String? = nil, indexers: [Indexer] = [], clock: any Clock = SystemClock(),
                log: @escaping LogSink = ClientLog.standardError) {
        self.client = client
        self.resource = resource
        self.namespace = resource.namespaced ? namespace : nil
        self.labelSelector = labelSelector
        self.fieldSelector = fieldSelector
        self.clock = clock
        self.log = log
        self.state = Mutex(State(cache: IndexedCache(indexers: indexers)))
    }

    // MARK: Registration

    /// Adds an index; the objects already cached are filed under it at once. A name already
    /// registered keeps its first indexer.
    public func addIndexer(_ indexer: Indexer) {
        state.withLock { $0.cache.add(indexer) }
    }

    /// Registers callbacks. A handler added after the informer has started is first told of
    /// every cached object as an add, so it never misses state.
    public func addEventHandler(_ handler: EventHandler) {
        state.withLock { s in
            let channel = HandlerChannel(handler)
            for key in s.cache.objects.keys.sorted() { channel.send(.added(s.cache.objects[key]!)) }
            if s.stopped { channel.finish() }
            s.handlers.append(channel)
        }
    }

    // MARK: Reading the cache

    public func get(namespace: String? = nil, name: String) -> JSONValue? {
        state.withLock { $0.cache.objects[ObjectKey(namespace: namespace, name: name)] }
    }

    public func get(_ key: ObjectKey) -> JSONValue? {
        state.withLock { $0.cache.objects[key] }
    }

    /// Every cached object, in key order.
    public func list() -> [JSONValue] {
        state.withLock { s in s.cache.objects.keys.sorted().map { s.cache.objects[$0]! } }
    }

    /// The cached objects filed under `value` in the index `name`, in key order.
    public func byIndex(name: String, value: String) -> [JSONValue] {
        state.withLock { s in s.cache.keys(index: name, value: value).sorted().compactMap { s.cache.objects[$0] } }
    }

    // MARK: Running

    /// True once the first list is in the cache: until then an empty cache means "not known
    /// yet", not "none exist", and a controller acting on it would, say, create replicas
    /// that already exist.
    public var hasSynced: Bool { state.withLock { $0.synced } }

    /// Starts listing and watching, once; later calls do nothing.
    public func start() {
        state.withLock { s in
            guard s.task == nil, !s.stopped else { return }
            s.task = Task { [self] in await run() }
        }
    }

    /// Stops watching and ends the handlers once they have been told what is queued for them.
    /// A stopped informer does not start again.
    public func stop() {
        let (task, waiters) = state.withLock { s -> (Task<Void, Never>?, [CheckedContinuation<Bool, Never>]) in
            s.stopped = true
            for handler in s.handlers { handler.finish() }
            let waiters = Array(s.syncWaiters.values)
            s.syncWaiters = [:]
            return (s.task, waiters)
        }
        task?.cancel()
        for waiter in waiters { waiter.resume(returning: false) }
    }

    /// Returns true once synced, or false if the informer is stopped or the task cancelled first.
    public func waitForSync() async -> Bool {
        let id = state.withLock { s -> Int in
            s.nextWaiterID += 1
            return s.nextWaiterID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let answer = state.withLock { s -> Bool? in
                    if s.synced { return true }
                    if s.stopped || Task.isCancelled { return false }
                    s.syncWaiters[id] = continuation
                    return nil
                }
                if let answer { continuation.resume(returning: answer) }
            }
        } onCancel: {
            state.withLock { $0.syncWaiters.removeValue(forKey: id) }?.resume(returning: false)
        }
    }

    private func run() async {
        var failures = 0
        while !Task.isCancelled {
            do {
                let list = try await client.list(resource, namespace: namespace, labelSelector: labelSelector, fieldSelector: fieldSelector)
                replace(with: list.items)
                failures = 0
                try await watch(from: list.resourceVersion)
            } catch {
                if Task.isCancelled { return }
                if error.code == 410 { continue }
                failures += 1
                log("informer \(resource.qualifiedResource): \(error.message); relisting (attempt \(failures))")
                let delay = Duration.seconds(min(30, 1 << min(failures - 1, 5)))
                do { try await clock.sleep(for: delay) } catch { return }
            }
        }
    }

    /// Watches, resuming after each closed watch, until the start revision has expired
    /// (return: relist) or the server reports an error (throw). A watch that closes before
    /// delivering anything counts as an error, so a server that keeps closing watches at once
    /// is retried with backoff instead of in a tight loop.
    private func watch(from listVersion: String) async throws(APIError) {
        var resourceVersion = listVersion
        while !Task.isCancelled {
            let events = try await client.watch(resource, namespace: namespace, labelSelector: labelSelector,
                                                fieldSelector: fieldSelector, resourceVersion: resourceVersion)
            var delivered = false
            for await event in events {
                delivered = true
                switch event.type {
                case .added, .modified, .deleted:
                    apply(event)
                case .bookmark:
                    break
                case .expired:
                    return
                case .error:
                    throw event.error ?? APIError.internalError("watch error")
                }
                if let version = event.resourceVersion { resourceVersion = version }
            }
            if !delivered, !Task.isCancelled {
                throw APIError(code: 503, reason: "ServiceUnavailable", message: "watch closed without delivering an event")
            }
        }
    }

    private func apply(_ event: WatchedEvent) {
        state.withLock { s in
            guard let change = s.cache.apply(event.type, event.object) else { return }
            for handler in s.handlers { handler.send(change) }
        }
    }

    private func replace(with items: [JSONValue]) {
        let waiters = state.withLock { s -> [CheckedContinuation<Bool, Never>] in
            for change in s.cache.replace(with: items) {
                for handler in s.handlers { handler.send(change) }
            }
            s.synced = true
            let waiters = Array(s.syncWaiters.values)
            s.syncWaiters = [:]
            return waiters
        }
        for waiter in waiters { waiter.resume(returning: true) }
    }
}
