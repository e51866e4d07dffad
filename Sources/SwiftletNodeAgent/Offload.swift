import Dispatch

/// Runs blocking work (runc and ip processes, waiting for a shim's report, file writes) on
/// Dispatch's threads instead of Swift concurrency's few cooperative ones: in `swiftlet server`
/// the API server and the controllers share those, and a pod start must not stall them.
enum Offload {
    static func run<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: work()) }
        }
    }
}
