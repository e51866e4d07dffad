/// The kubelet's crash-loop back-off: the first restart is immediate, the next waits 10 s,
/// then 20 s, doubling up to 5 minutes; a container that ran for 10 minutes starts afresh.
struct RestartBackoff: Sendable, Equatable {
    static let initial: Duration = .seconds(10)
    static let maximum: Duration = .seconds(300)
    static let resetAfter: Duration = .seconds(600)

    private var nextDelay: Duration?

    /// The wait before restarting a container whose last run lasted `lastRun`.
    mutating func delay(lastRun: Duration) -> Duration {
        if lastRun >= Self.resetAfter { nextDelay = nil }
        guard let delay = nextDelay else {
            nextDelay = Self.initial
            return .zero
        }
        nextDelay = min(delay * 2, Self.maximum)
        return delay
    }
}
