import Testing

/// Waits until `condition` holds, checking it every few milliseconds. When `timeout` passes
/// first, the test gets an issue naming `what` (so a wait can never time out silently) and
/// the result is false.
@discardableResult
public func eventually(_ what: String = "the condition to hold", timeout: Duration = .seconds(20),
                       sourceLocation: SourceLocation = #_sourceLocation,
                       _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    var interval = Duration.milliseconds(1)
    while true {
        if try await condition() { return true }
        guard ContinuousClock.now < deadline else {
            Issue.record("timed out after \(timeout) waiting for \(what)", sourceLocation: sourceLocation)
            return false
        }
        try? await Task.sleep(for: interval)
        interval = min(interval * 2, .milliseconds(50))
    }
}
