import Foundation

/// The time source of queues, informers and the event recorder. Injected so that tests
/// decide when time passes: a backoff of 16 minutes is tested by advancing a `ManualClock`,
/// not by waiting.
///
/// Wall-clock `Date`s rather than monotonic instants, because the same clock stamps Events'
/// timestamps; a wall-clock step only shifts pending delays, as it does in client-go.
public protocol Clock: Sendable {
    var now: Date { get }
    /// Returns once `now` has reached `deadline`; throws `CancellationError` if the task is
    /// cancelled first.
    func sleep(until deadline: Date) async throws
}

/// The real time.
public struct SystemClock: Clock {
    public init() {}

    public var now: Date { Date() }

    public func sleep(until deadline: Date) async throws {
        let seconds = deadline.timeIntervalSinceNow
        if seconds > 0 { try await Task.sleep(for: .seconds(seconds)) }
        try Task.checkCancellation()
    }
}

extension Date {
    func adding(_ duration: Duration) -> Date {
        addingTimeInterval(Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18)
    }
}
