import Dispatch
import Testing

/// For suites whose tests block their thread (waiting for ip, nft, curl, runc, openssl): runs each test on
/// threads of its own instead of Swift concurrency's cooperative pool.
///
/// That pool has one thread per core, two on our machines, and every test of the run shares it. A synchronous
/// test that waits a second for a command holds a thread that whole second, so a few of them together stall the
/// async tests (a DNS server forwarding a query, a scheduler binding a pod) past their deadlines.
public struct BlockingWorkTrait: SuiteTrait, TestTrait, TestScoping {
    public var isRecursive: Bool { true }

    public func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        // Only the test cases themselves: a suite's scope would otherwise wrap the same work twice.
        guard testCase != nil else { return try await function() }
        try await withTaskExecutorPreference(BlockingWorkExecutor.shared) {
            try await function()
        }
    }
}

extension Trait where Self == BlockingWorkTrait {
    /// Runs the tests off the cooperative pool, for tests that block their thread.
    public static var blockingWork: Self { BlockingWorkTrait() }
}

/// A task executor that runs every job on Dispatch's global queue, whose pool adds threads when those it has
/// are blocked (the cooperative pool never does).
final class BlockingWorkExecutor: TaskExecutor {
    static let shared = BlockingWorkExecutor()

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        DispatchQueue.global().async { job.runSynchronously(on: executor) }
    }
}
