import Glibc

/// Starting and reaping child processes with `posix_spawn`, for the agent's runtime, its pod
/// network and the per-container shim alike. Glibc only, so the shim stays small; the GNU calls
/// Swift's Glibc module leaves out (`pipe2`, `posix_spawn_file_actions_addclosefrom_np`) are
/// looked up at run time.
public enum Spawn {
    private typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32
    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private static let pipe2Function: Pipe2? = dlsym(nil, "pipe2").map { unsafeBitCast($0, to: Pipe2.self) }
    private static let addCloseFromFunction: AddCloseFrom? =
        dlsym(nil, "posix_spawn_file_actions_addclosefrom_np").map { unsafeBitCast($0, to: AddCloseFrom.self) }

    /// Starts `argv` (`argv[0]` a path) with the given descriptors as stdin, stdout and stderr,
    /// every other descriptor closed, no signal blocked and every signal at its default (the
    /// agent ignores SIGPIPE; children must not inherit that). Returns the pid, or the errno.
    public static func start(_ argv: [String], stdin: Int32, stdout: Int32, stderr: Int32) -> Result<pid_t, SpawnError> {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdin, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        posix_spawn_file_actions_adddup2(&actions, stderr, 2)
        // Whatever other libraries in this process left open without close-on-exec stays here.
        _ = addCloseFromFunction?(&actions, 3)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let cArguments = argv.map { strdup($0) } + [nil]
        defer { for argument in cArguments { free(argument) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, argv[0], &actions, &attributes, cArguments, environ)
        return result == 0 ? .success(pid) : .failure(SpawnError(errno: result))
    }

    /// Waits for one child, retrying after interrupts; its raw wait status, nil if it is not
    /// (or no longer) a child to wait for.
    public static func wait(_ pid: pid_t) -> Int32? {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return nil }
        }
        return status
    }

    /// The exit code Kubernetes reports: the process's own code, or 128 + the signal that killed it.
    public static func exitCode(status: Int32) -> Int32 {
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    /// A pipe created close-on-exec in one step, so a process another thread spawns meanwhile
    /// cannot inherit it (and keep its read end from ever seeing end of file).
    public static func pipe() -> (read: Int32, write: Int32)? {
        var fds: [Int32] = [-1, -1]
        guard let pipe2Function, pipe2Function(&fds, O_CLOEXEC) == 0 else { return nil }
        return (fds[0], fds[1])
    }
}

public struct SpawnError: Error, Equatable, Sendable, CustomStringConvertible {
    public let errno: Int32
    public init(errno: Int32) { self.errno = errno }
    public var description: String { String(cString: strerror(errno)) }
}
