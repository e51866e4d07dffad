import Dispatch

/// Runs blocking work (runc and ip processes, waiting for a shim's report, file writes, image
/// layers being unpacked, waiting for the image store's file locks) on
/// Dispatch's threads instead of Swift concurrency's few cooperative ones: in `swiftlet server`
/// the API server and the controllers share those, and a pod start must not stall them.
public enum Offload {
    public static func run<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: work()) }
        }
    }
}

extension Offload {
    /// Blocking work that throws a typed error.
    public static func run<T: Sendable, E: Error>(_ work: @escaping @Sendable () throws(E) -> T) async throws(E) -> T {
        try await run { () -> Result<T, E> in Result { () throws(E) in try work() } }.get()
    }
}
