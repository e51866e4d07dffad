/// Work done once however many ask for it at the same time: later callers wait for the first
/// one's result. The work runs in a task of its own, so a caller that gives up does not cancel
/// it for the others.
public actor SingleFlight<Key: Hashable & Sendable, Value: Sendable> {
    private var inFlight: [Key: Task<Result<Value, ImageError>, Never>] = [:]

    public init() {}

    public func run(_ key: Key, _ work: @escaping @Sendable () async -> Result<Value, ImageError>) async -> Result<Value, ImageError> {
        if let running = inFlight[key] { return await running.value }
        let task = Task { await work() }
        inFlight[key] = task
        let result = await task.value
        inFlight[key] = nil
        return result
    }
}
