#if canImport(Glibc)
import Glibc
#endif

/// Runs work inside a named network namespace (one under /var/run/netns): on a new thread that joins it and ends
/// with the work, so nothing else ever runs in the wrong namespace. Processes the work spawns start in the
/// namespace too, and /proc/sys/net shows the namespace's sysctls to it.
enum NamespaceThread {
    fileprivate typealias SetNamespace = @convention(c) (Int32, Int32) -> Int32
    /// A GNU extension Swift's Glibc module leaves out.
    fileprivate static let setns: SetNamespace? = dlsym(nil, "setns").map { unsafeBitCast($0, to: SetNamespace.self) }
    fileprivate static let cloneNewNet: Int32 = 0x4000_0000

    /// Runs `body` in `namespace`, or right here when it is nil.
    static func run<Value>(in namespace: String?, _ body: @escaping () throws(ServiceProxyError) -> Value) throws(ServiceProxyError) -> Value {
        guard let namespace else { return try body() }
        let result = ResultBox<Value>()
        let job = NamespaceJob(path: "/var/run/netns/" + namespace) { () throws(ServiceProxyError) in result.value = try body() }
        let context = Unmanaged.passRetained(job).toOpaque()
        var thread = pthread_t()
        let code = pthread_create(&thread, nil, { raw in
            Unmanaged<NamespaceJob>.fromOpaque(raw!).takeRetainedValue().run()
            return nil
        }, context)
        guard code == 0 else {
            Unmanaged<NamespaceJob>.fromOpaque(context).release()
            throw .system(operation: "start a thread to enter netns \(namespace)", errno: code)
        }
        pthread_join(thread, nil)
        if let failure = job.failure { throw failure }
        return result.value!
    }
}

/// What a namespace thread produced; read only after pthread_join.
private final class ResultBox<Value>: @unchecked Sendable {
    var value: Value?
}

/// Work for one namespace thread; `failure` is read only after pthread_join, so it needs no lock.
private final class NamespaceJob: @unchecked Sendable {
    let path: String
    let body: () throws(ServiceProxyError) -> Void
    var failure: ServiceProxyError?

    init(path: String, body: @escaping () throws(ServiceProxyError) -> Void) {
        self.path = path
        self.body = body
    }

    func run() {
        do {
            try enter()
            try body()
        } catch {
            failure = error
        }
    }

    private func enter() throws(ServiceProxyError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .system(operation: "open netns \(path)", errno: errno) }
        defer { close(fd) }
        guard let setns = NamespaceThread.setns else { throw .system(operation: "find setns in the C library", errno: ENOSYS) }
        guard setns(fd, NamespaceThread.cloneNewNet) == 0 else { throw .system(operation: "enter netns \(path)", errno: errno) }
    }
}
