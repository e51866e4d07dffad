#if canImport(Glibc)
import Glibc
#endif

/// Runs work inside a named network namespace (a file such as /var/run/netns/NAME): on a new thread that joins it
/// and ends with the work, so nothing else ever runs in the wrong namespace. Processes the work spawns start in the
/// namespace too (sparing `ip -n` its private mount namespace and /sys remount), and /proc/sys/net shows the
/// namespace's sysctls to it.
public enum NetworkNamespaceThread {
    /// Why the work did not run or how it failed.
    public enum Failure<BodyFailure: Error>: Error {
        /// The thread could not be started or could not join the namespace.
        case entering(operation: String, errno: Int32)
        case body(BodyFailure)
    }

    public static func run<Value, BodyFailure: Error>(
        inNamespaceAt path: String, _ body: @escaping () throws(BodyFailure) -> Value
    ) -> Result<Value, Failure<BodyFailure>> {
        let job = NamespaceJob(path: path, body: body)
        let context = Unmanaged.passRetained(job as NamespaceJobBase).toOpaque()
        var thread = pthread_t()
        let code = pthread_create(&thread, nil, { raw in
            Unmanaged<NamespaceJobBase>.fromOpaque(raw!).takeRetainedValue().run()
            return nil
        }, context)
        guard code == 0 else {
            Unmanaged<NamespaceJobBase>.fromOpaque(context).release()
            return .failure(.entering(operation: "start a thread to enter netns \(path)", errno: code))
        }
        pthread_join(thread, nil)
        return job.outcome!
    }

    fileprivate typealias SetNamespace = @convention(c) (Int32, Int32) -> Int32
    /// A GNU extension Swift's Glibc module leaves out.
    fileprivate static let setns: SetNamespace? = dlsym(dlopen(nil, RTLD_NOW), "setns").map { unsafeBitCast($0, to: SetNamespace.self) }
    fileprivate static let cloneNewNet: Int32 = 0x4000_0000
}

/// What the thread entry point calls: a C function pointer cannot carry the job's generic types.
private class NamespaceJobBase: @unchecked Sendable {
    func run() {}
}

/// Work for one namespace thread; `outcome` is read only after pthread_join, so it needs no lock.
private final class NamespaceJob<Value, BodyFailure: Error>: NamespaceJobBase, @unchecked Sendable {
    let path: String
    let body: () throws(BodyFailure) -> Value
    var outcome: Result<Value, NetworkNamespaceThread.Failure<BodyFailure>>?

    init(path: String, body: @escaping () throws(BodyFailure) -> Value) {
        self.path = path
        self.body = body
    }

    override func run() {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            outcome = .failure(.entering(operation: "open netns \(path)", errno: errno))
            return
        }
        defer { close(fd) }
        guard let setns = NetworkNamespaceThread.setns else {
            outcome = .failure(.entering(operation: "find setns in the C library", errno: ENOSYS))
            return
        }
        guard setns(fd, NetworkNamespaceThread.cloneNewNet) == 0 else {
            outcome = .failure(.entering(operation: "enter netns \(path)", errno: errno))
            return
        }
        do {
            outcome = .success(try body())
        } catch {
            outcome = .failure(.body(error))
        }
    }
}
