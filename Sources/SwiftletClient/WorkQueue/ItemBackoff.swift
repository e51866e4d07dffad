/// Per-key exponential backoff, client-go's `ItemExponentialFailureRateLimiter`: each failure
/// of a key doubles its next delay, from `base` up to `max`; other keys are unaffected, and a
/// success (`forget`) starts the key over. The default, 5 ms doubling to 1000 s, is
/// client-go's default controller limiter: fast retries for a transient conflict, while a
/// key that keeps failing settles at one attempt every ~17 minutes.
public struct ItemBackoff<Key: Hashable & Sendable>: Sendable {
    public var base: Duration
    public var max: Duration
    private var failures: [Key: Int] = [:]

    public init(base: Duration = .milliseconds(5), max: Duration = .seconds(1000)) {
        self.base = base
        self.max = max
    }

    /// The delay before the next retry of `key`, counting this failure.
    mutating func nextDelay(_ key: Key) -> Duration {
        let count = failures[key, default: 0]
        failures[key] = count + 1
        // Beyond 2^62 the multiplication would overflow; the cap is long reached by then.
        guard count < 62 else { return max }
        let delay = base * (1 << count)
        return delay > max ? max : delay
    }

    func failureCount(_ key: Key) -> Int { failures[key, default: 0] }

    mutating func forget(_ key: Key) { failures[key] = nil }
}
