import NIOCore

/// Runs a task's jobs on one event loop: a forwarded query is finished on the loop of the socket it came in on,
/// never on Swift concurrency's cooperative pool, so a pool kept busy by the rest of the process (the API server
/// and the controllers share it in `swiftlet server`) cannot hold up a name lookup.
final class EventLoopTaskExecutor: TaskExecutor {
    private let loop: any EventLoop

    init(loop: any EventLoop) {
        self.loop = loop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        loop.execute { job.runSynchronously(on: executor) }
    }
}
