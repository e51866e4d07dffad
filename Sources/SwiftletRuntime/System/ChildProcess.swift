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
}
