import Glibc

/// A process started with `posix_spawn`: stdin, stdout and stderr as given, every other
/// descriptor closed and default signal handling (the agent ignores SIGPIPE; children must not
/// inherit that).
struct ChildProcess {
    let pid: pid_t

    init(_ argv: [String], stdin: Int32, stdout: Int32, stderr: Int32) throws(RuntimeError) {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdin, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        posix_spawn_file_actions_adddup2(&actions, stderr, 2)
        LinuxCalls.addCloseFrom(&actions, 3)

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
        guard result == 0 else {
            throw RuntimeError(.system, "cannot run \(argv[0]): \(LinuxCalls.errorText(result))")
        }
        self.pid = pid
    }

    /// Blocks until the process exits; returns its exit code (128 + signal if killed).
    func wait() -> Int32 { Self.wait(pid) }

    static func wait(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return -1 }
        }
        return exitCode(status: status)
    }

    static func exitCode(status: Int32) -> Int32 {
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    /// Runs `argv` to completion with stdin on /dev/null; returns its exit code and what it
    /// wrote to stdout and stderr together.
    static func run(_ argv: [String]) throws(RuntimeError) -> (code: Int32, output: String) {
        guard let output = LinuxCalls.pipe() else { throw RuntimeError(.system, "cannot create a pipe: \(LinuxCalls.errorText())") }
        let devNull = open("/dev/null", O_RDONLY | O_CLOEXEC)
        defer { close(devNull) }
        let process: ChildProcess
        do {
            process = try ChildProcess(argv, stdin: devNull, stdout: output.write, stderr: output.write)
        } catch {
            close(output.read)
            close(output.write)
            throw error
        }
        close(output.write)
        let text = String(decoding: LinuxCalls.readAll(output.read), as: UTF8.self)
        close(output.read)
        return (process.wait(), text)
    }
}
