import Glibc
import SwiftletSpawn

/// A process started with `Spawn.start`: stdin, stdout and stderr as given, every other
/// descriptor closed and default signal handling.
struct ChildProcess {
    let pid: pid_t

    init(_ argv: [String], stdin: Int32, stdout: Int32, stderr: Int32) throws(RuntimeError) {
        switch Spawn.start(argv, stdin: stdin, stdout: stdout, stderr: stderr) {
        case .success(let pid): self.pid = pid
        case .failure(let error): throw RuntimeError(.system, "cannot run \(argv[0]): \(error)")
        }
    }

    /// Blocks until the process exits; returns its exit code (128 + signal if killed).
    func wait() -> Int32 { Self.wait(pid) }

    static func wait(_ pid: pid_t) -> Int32 {
        Spawn.wait(pid).map(Spawn.exitCode(status:)) ?? -1
    }

    /// Runs `argv` to completion with stdin on /dev/null; returns its exit code and what it
    /// wrote to stdout and stderr together.
    static func run(_ argv: [String]) throws(RuntimeError) -> (code: Int32, output: String) {
        guard let output = Spawn.pipe() else { throw RuntimeError(.system, "cannot create a pipe: \(LinuxCalls.errorText())") }
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
