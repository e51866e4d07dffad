import Synchronization

/// A work queue of keys with client-go's guarantees, which controllers rely on:
///
/// - A key waiting in the queue is there once, however often it is added: ten pod updates
///   while a ReplicaSet key waits become one sync.
/// - A key is never handed to two workers at once. Adding a key that a worker holds marks it
///   dirty, and `done` puts it back, so the change is seen by a sync that starts after it.
/// - `addAfter` and `addRateLimited` delay a key on the injected clock; a delayed key that
///   comes due while it is already queued or held is de-duplicated like any add.
///
/// Every `get` must be paired with `done` (the `ControllerRunner` does this).
public final class WorkQueue<Key: Hashable & Sendable>: Sendable {
    private typealias Handout = (continuation: CheckedContinuation<Key?, Never>, key: Key?)

    private struct State {
        var queue: [Key] = []
        var head = 0
        /// Keys that need processing: queued ones, and held ones that were added again.
        var dirty: Set<Key> = []
        var processing: Set<Key> = []
        var getters: [(id: Int, continuation: CheckedContinuation<Key?, Never>)] = []
        var nextGetterID = 0
        var delayed = DelayedKeys<Key>()
        var backoff: ItemBackoff<Key>
        /// Keys whose last sync failed in a way a retry cannot fix: until the deadline, an
        /// `add` waits for it instead of handing the key out at once.
        var backedOff: [Key: Duration] = [:]
        var wake: (at: Duration, generation: Int)?
        var wakeGeneration = 0
        var wakeTask: Task<Void, Never>?
        var shuttingDown = false

        var queuedCount: Int { queue.count - head }

        mutating func popQueue() -> Key? {
            guard head < queue.count else { return nil }
            let key = queue[head]
            head += 1
            if head > 64, head * 2 > queue.count {
                queue.removeFirst(head)
                head = 0
            }
            return key
        }
    }

    private let state: Mutex<State>
    private let clock: any Clock

    public init(clock: any Clock = SystemClock(), backoff: ItemBackoff<Key> = ItemBackoff()) {
        self.clock = clock
        self.state = Mutex(State(backoff: backoff))
    }

    public func add(_ key: Key) {
        let now = clock.elapsed
        let handout = state.withLock { s -> Handout? in
            if deferIfBackedOff(key, now: now, &s) { return nil }
            return Self.insert(key, into: &s)
        }
        Self.resume(handout.map { [$0] } ?? [])
    }

    /// Adds `key` once `delay` has passed on the clock.
    public func addAfter(_ key: Key, _ delay: Duration) {
        guard delay > .zero else { return add(key) }
        let deadline = clock.elapsed + delay
        state.withLock { s in
            guard !s.shuttingDown else { return }
            s.delayed.insert(key, at: deadline)
            scheduleWake(&s)
        }
    }

    /// Adds `key` after its backoff: each call without a `forget` in between doubles it.
    public func addRateLimited(_ key: Key) {
        let delay = state.withLock { $0.backoff.nextDelay(key) }
        addAfter(key, delay)
    }

    /// Adds `key` after its backoff, like `addRateLimited`, and keeps it back until then:
    /// adds in the meantime (events, even those its own failed sync caused) do not run it
    /// sooner. For failures a retry cannot fix (a 422 for what the controller writes), where
    /// each event would otherwise run the same failing sync at once. It waits at most
    /// `maxWait`, so a fix the user makes is picked up within that time even when the
    /// backoff has grown longer.
    public func addBackedOff(_ key: Key, maxWait: Duration = .seconds(30)) {
        let now = clock.elapsed
        let delay = state.withLock { s -> Duration in
            let delay = min(s.backoff.nextDelay(key), maxWait)
            s.backedOff[key] = now + delay
            return delay
        }
        addAfter(key, delay)
    }

    /// Moves an add of a backed-off key to the end of its backoff; false when it may go now.
    private func deferIfBackedOff(_ key: Key, now: Duration, _ s: inout State) -> Bool {
        guard let until = s.backedOff[key] else { return false }
        guard until > now else {
            s.backedOff[key] = nil
            return false
        }
        guard !s.shuttingDown else { return true }
        s.delayed.insert(key, at: until)
        scheduleWake(&s)
        return true
    }

    /// Ends `key`'s backoff, after a successful sync. It does not remove a pending add.
    public func forget(_ key: Key) {
        state.withLock { s in
            s.backoff.forget(key)
            s.backedOff[key] = nil
        }
    }

    /// How many times `key` has been rate-limited since it was last forgotten.
    public func retries(_ key: Key) -> Int {
        state.withLock { $0.backoff.failureCount(key) }
    }

    /// Keys ready to be handed out now (not counting held or still-delayed ones).
    public var count: Int {
        let (count, handouts) = state.withLock { s in
            let handouts = promoteDue(&s)
            return (s.queuedCount, handouts)
        }
        Self.resume(handouts)
        return count
    }

    public var isShuttingDown: Bool { state.withLock { $0.shuttingDown } }

    /// The next key, waiting for one if none is ready; nil once the queue is shut down or the
    /// calling task is cancelled. The caller holds the key until it calls `done`.
    public func get() async -> Key? {
        let id = state.withLock { s -> Int in
            s.nextGetterID += 1
            return s.nextGetterID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Key?, Never>) in
                let handouts = state.withLock { s -> [Handout] in
                    var handouts = promoteDue(&s)
                    if s.shuttingDown || Task.isCancelled {
                        handouts.append((continuation, nil))
                    } else if let key = s.popQueue() {
                        s.dirty.remove(key)
                        s.processing.insert(key)
                        handouts.append((continuation, key))
                    } else {
                        s.getters.append((id, continuation))
                    }
                    return handouts
                }
                Self.resume(handouts)
            }
        } onCancel: {
            let getter = state.withLock { s -> CheckedContinuation<Key?, Never>? in
                guard let index = s.getters.firstIndex(where: { $0.id == id }) else { return nil }
                return s.getters.remove(at: index).continuation
            }
            getter?.resume(returning: nil)
        }
    }

    /// Releases `key` after processing; if it was added meanwhile, it is queued again now.
    public func done(_ key: Key) {
        let handout = state.withLock { s -> Handout? in
            s.processing.remove(key)
            guard s.dirty.contains(key) else { return nil }
            if deferIfBackedOff(key, now: clock.elapsed, &s) {
                s.dirty.remove(key)
                return nil
            }
            return Self.enqueue(key, &s)
        }
        Self.resume(handout.map { [$0] } ?? [])
    }

    /// Stops the queue: waiting and later `get`s return nil, adds are ignored. Keys still
    /// queued are dropped; workers finish the key they hold.
    public func shutDown() {
        let getters = state.withLock { s -> [CheckedContinuation<Key?, Never>] in
            s.shuttingDown = true
            s.delayed.removeAll()
            s.wakeTask?.cancel()
            s.wakeTask = nil
            s.wake = nil
            let getters = s.getters.map(\.continuation)
            s.getters = []
            return getters
        }
        for getter in getters { getter.resume(returning: nil) }
    }

    // MARK: Under the lock

    private static func insert(_ key: Key, into s: inout State) -> Handout? {
        guard !s.shuttingDown, !s.dirty.contains(key) else { return nil }
        s.dirty.insert(key)
        guard !s.processing.contains(key) else { return nil }
        return enqueue(key, &s)
    }

    /// Gives a dirty, unheld key to a waiting worker, or queues it.
    private static func enqueue(_ key: Key, _ s: inout State) -> Handout? {
        guard !s.getters.isEmpty else {
            s.queue.append(key)
            return nil
        }
        s.dirty.remove(key)
        s.processing.insert(key)
        return (s.getters.removeFirst().continuation, key)
    }

    /// Moves delayed keys whose time has come into the queue. Called on every read of the
    /// queue as well as by the timer, so a test that advances a manual clock sees the keys at
    /// once, without waiting for the timer task to run.
    private func promoteDue(_ s: inout State) -> [Handout] {
        guard !s.delayed.isEmpty else { return [] }
        let handouts = s.delayed.popDue(now: clock.elapsed).compactMap { Self.insert($0, into: &s) }
        scheduleWake(&s)
        return handouts
    }

    /// Keeps one timer task, sleeping until the earliest delayed key is due.
    private func scheduleWake(_ s: inout State) {
        guard let earliest = s.delayed.earliest else {
            s.wakeTask?.cancel()
            s.wakeTask = nil
            s.wake = nil
            return
        }
        if let wake = s.wake, wake.at <= earliest { return }
        s.wakeTask?.cancel()
        s.wakeGeneration += 1
        let generation = s.wakeGeneration
        s.wake = (earliest, generation)
        let clock = self.clock
        s.wakeTask = Task { [weak self] in
            do { try await clock.sleep(until: earliest) } catch { return }
            self?.timerFired(generation: generation)
        }
    }

    private func timerFired(generation: Int) {
        let handouts = state.withLock { s -> [Handout] in
            guard s.wake?.generation == generation else { return [] }
            s.wake = nil
            s.wakeTask = nil
            let handouts = promoteDue(&s)
            scheduleWake(&s)
            return handouts
        }
        Self.resume(handouts)
    }

    private static func resume(_ handouts: [Handout]) {
        for h in handouts { h.continuation.resume(returning: h.key) }
    }
}
