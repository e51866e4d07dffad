#if canImport(Glibc)
import Glibc
#endif

/// What a finished command printed and how it exited.
public struct CommandOutput: Sendable {
    /// The exit code as Kubernetes reports it (128 + signal for a killed process).
    public var status: Int32
    public var stdout: String
    public var stderr: String
}

/// Why a command could not be run at all (as opposed to running and failing, which `CommandOutput.status` says).
public struct CommandFailure: Error, Sendable {
    public var operation: String
    public var errno: Int32
}

/// Runs short-lived tools (`ip`, `nft`, `conntrack`, `runc delete`) to completion, with posix_spawn rather than
/// Foundation's Process, whose monitoring thread and run loop cost more than the command itself. The child's stdin,
/// stdout and stderr are memory files rather than pipes: an nft script of a few hundred kilobytes is written in full
/// before the child starts and the output is read after it exits, so neither side can ever block on the other, and
/// the child can never exit while we still write its input (which would raise SIGPIPE in us).
public enum Command {
    private typealias MemfdCreate = @convention(c) (UnsafePointer<CChar>, UInt32) -> Int32
    /// A GNU extension Swift's Glibc module leaves out.
    private static let memfdCreate: MemfdCreate? = dlsym(nil, "memfd_create").map { unsafeBitCast($0, to: MemfdCreate.self) }
    private static let closeOnExec: UInt32 = 1  // MFD_CLOEXEC

    /// Runs `argv` (`argv[0]` a path) with `input` as its stdin; blocks until it exits.
    public static func run(_ argv: [String], input: String = "") throws(CommandFailure) -> CommandOutput {
        let commandLine = argv.joined(separator: " ")
        let stdin = try memoryFile(for: commandLine)
        defer { close(stdin) }
        let stdout = try memoryFile(for: commandLine)
        defer { close(stdout) }
        let stderr = try memoryFile(for: commandLine)
        defer { close(stderr) }
        try writeAll(Array(input.utf8), to: stdin, commandLine: commandLine)
        lseek(stdin, 0, SEEK_SET)

        let pid: pid_t
        switch Spawn.start(argv, stdin: stdin, stdout: stdout, stderr: stderr) {
        case .success(let started): pid = started
        case .failure(let error): throw CommandFailure(operation: "start \(commandLine)", errno: error.errno)
        }
        guard let status = Spawn.wait(pid) else { throw CommandFailure(operation: "wait for \(commandLine)", errno: errno) }
        return CommandOutput(status: Spawn.exitCode(status: status), stdout: readAll(stdout), stderr: readAll(stderr))
    }

    private static func memoryFile(for commandLine: String) throws(CommandFailure) -> Int32 {
        guard let memfdCreate else { throw CommandFailure(operation: "find memfd_create in the C library", errno: ENOSYS) }
        let fd = memfdCreate("swiftlet-command", closeOnExec)
        guard fd >= 0 else { throw CommandFailure(operation: "create a memory file for \(commandLine)", errno: errno) }
        return fd
    }

    private static func writeAll(_ bytes: [UInt8], to fd: Int32, commandLine: String) throws(CommandFailure) {
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw CommandFailure(operation: "write the input of \(commandLine)", errno: errno) }
            written += n
        }
    }

    private static func readAll(_ fd: Int32) -> String {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16_384)
        var offset: off_t = 0
        while true {
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, offset) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            bytes.append(contentsOf: buffer[0..<n])
            offset += off_t(n)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
