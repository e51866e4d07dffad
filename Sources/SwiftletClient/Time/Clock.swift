import Foundation

/// The time source of queues, informers and the event recorder. Injected so that tests
/// decide when time passes: a backoff of 16 minutes is tested by advancing a `ManualClock`,
/// not by waiting.
///
/// Two scales: wall-clock `now` for the timestamps written into objects, and a monotonic
/// `elapsed` (from an arbitrary origin) for delays, which a wall-clock step must not stretch
/// and which a manual clock moves exactly.
public protocol Clock: Sendable {
    var now: Date { get }
    var elapsed: Duration { get }
    /// Returns once `elapsed` has reached `deadline`; throws `CancellationError` if the task is
    /// cancelled first.
    func sleep(until deadline: Duration) async throws
}

extension Clock {
    public func sleep(for duration: Duration) async throws {
        try await sleep(until: elapsed + duration)
    }
}

/// The real time.
public struct SystemClock: Clock {
    private static let origin = ContinuousClock.now

    public init() {}

    public var now: Date { Date() }

    public var elapsed: Duration { ContinuousClock.now - Self.origin }

    public func sleep(until deadline: Duration) async throws {
        try await Task.sleep(until: Self.origin + deadline, clock: .continuous)
    }
}
