#if canImport(Glibc)
import Glibc
#endif
import SwiftletSpawn

/// What a finished command printed and how it exited.
struct CommandResult: Sendable {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs short-lived tools (`ip`) with posix_spawn rather than Foundation's Process, whose monitoring thread and
/// run loop cost more than the command itself when a pod's whole setup is two `ip` calls.
enum CommandRunner {
    /// The input is written into the pipe before the child starts, so it must fit the pipe's buffer: one page at
    /// least (Linux shrinks new pipes to that when a user holds many). Writing first means the child can never exit
    /// while we still write, which would raise SIGPIPE in us.
    static let maximumInputSize = 4096

    static func run(_ executable: String, _ arguments: [String], input: String = "") throws(PodNetworkError) -> CommandResult {
        let commandLine = ([executable] + arguments).joined(separator: " ")
        let descriptors = Descriptors()
        let stdinPipe = try descriptors.pipe(for: commandLine)
        let stdoutPipe = try descriptors.pipe(for: commandLine)
        let stderrPipe = try descriptors.pipe(for: commandLine)
        try writeAll(Array(input.utf8), to: stdinPipe.write, commandLine: commandLine)
        descriptors.close(stdinPipe.write)

        let pid = try spawn(executable, arguments, stdin: stdinPipe.read, stdout: stdoutPipe.write, stderr: stderrPipe.write, commandLine: commandLine)
        // Our copies of the child's ends must go, or we would never see end-of-file on its output.
        descriptors.close(stdinPipe.read)
        descriptors.close(stdoutPipe.write)
        descriptors.close(stderrPipe.write)
        let (stdout, stderr) = readUntilClosed(stdoutPipe.read, stderrPipe.read, descriptors: descriptors)
        let status = try waitForExit(pid, commandLine: commandLine)
        return CommandResult(status: status, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
    }

    private static func writeAll(_ bytes: [UInt8], to fd: Int32, commandLine: String) throws(PodNetworkError) {
        guard bytes.count <= maximumInputSize else {
            throw .system(operation: "run \(commandLine) with \(bytes.count) bytes of input", errno: E2BIG)
        }
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw .system(operation: "write the input of \(commandLine)", errno: errno) }
            written += n
        }
    }

    private static func spawn(_ executable: String, _ arguments: [String], stdin: Int32, stdout: Int32, stderr: Int32, commandLine: String) throws(PodNetworkError) -> pid_t {
        switch Spawn.start([executable] + arguments, stdin: stdin, stdout: stdout, stderr: stderr) {
        case .success(let pid): return pid
        case .failure(let error): throw .system(operation: "start \(commandLine)", errno: error.errno)
        }
    }

    /// Reads both streams at once so that a child filling one pipe never blocks while we wait on the other; closes each
    /// at its end.
    private static func readUntilClosed(_ first: Int32, _ second: Int32, descriptors: Descriptors) -> ([UInt8], [UInt8]) {
        var outputs: [[UInt8]] = [[], []]
        var pollSet = [pollfd(fd: first, events: Int16(POLLIN), revents: 0), pollfd(fd: second, events: Int16(POLLIN), revents: 0)]
        var buffer = [UInt8](repeating: 0, count: 16_384)
        while pollSet.contains(where: { $0.fd >= 0 }) {
            if poll(&pollSet, nfds_t(pollSet.count), -1) < 0 {
                if errno == EINTR { continue }
                break
            }
            for index in pollSet.indices where pollSet[index].fd >= 0 && pollSet[index].revents != 0 {
                let n = buffer.withUnsafeMutableBytes { read(pollSet[index].fd, $0.baseAddress, $0.count) }
                if n > 0 {
                    outputs[index].append(contentsOf: buffer[0..<n])
                } else if n == 0 || errno != EINTR {
                    descriptors.close(pollSet[index].fd)
                    pollSet[index].fd = -1
                }
            }
        }
        return (outputs[0], outputs[1])
    }

    private static func waitForExit(_ pid: pid_t, commandLine: String) throws(PodNetworkError) -> Int32 {
        guard let status = Spawn.wait(pid) else { throw .system(operation: "wait for \(commandLine)", errno: errno) }
        return Spawn.exitCode(status: status)
    }
}

/// File descriptors of one command run; whatever is still open when the run ends, by success or error, is closed.
private final class Descriptors {
    private var open: Set<Int32> = []

    func pipe(for commandLine: String) throws(PodNetworkError) -> (read: Int32, write: Int32) {
        // Close-on-exec: a command that another thread spawns meanwhile must not inherit our pipe ends, or our
        // reads would wait for that other child too.
        guard let fds = Spawn.pipe() else { throw .system(operation: "create a pipe for \(commandLine)", errno: errno) }
        open.formUnion([fds.read, fds.write])
        return fds
    }

    func close(_ fd: Int32) {
        if open.remove(fd) != nil { _ = Glibc.close(fd) }
    }

    deinit {
        for fd in open { _ = Glibc.close(fd) }
    }
}
