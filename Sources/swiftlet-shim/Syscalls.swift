import Glibc

/// Calls that Swift's Glibc module does not import: `prctl` is variadic in C, and the module is
/// built without `_GNU_SOURCE`. They are looked up at run time and called through a fixed
/// prototype, which is what a variadic call with integer arguments compiles to on Linux.
enum Syscalls {
    private static let PR_SET_CHILD_SUBREAPER: Int32 = 36

    /// Orphaned descendants (the container's init once `runc create` exits) are re-parented
    /// to this process instead of PID 1, so the shim can reap them and read their exit status.
    static func becomeChildSubreaper() -> Bool {
        typealias Prctl = @convention(c) (Int32, UInt, UInt, UInt, UInt) -> Int32
        guard let symbol = dlsym(nil, "prctl") else { return false }
        return unsafeBitCast(symbol, to: Prctl.self)(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    }

    /// A pipe whose ends are close-on-exec; `Spawn.start` dup2()s the ends a child needs.
    static func pipe(nonBlockingRead: Bool = false) -> (read: Int32, write: Int32)? {
        var fds: [Int32] = [-1, -1]
        guard Glibc.pipe(&fds) == 0 else { return nil }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        if nonBlockingRead { _ = fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK) }
        return (fds[0], fds[1])
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
        var offset = 0
        bytes.withUnsafeBytes { buffer in
            while offset < buffer.count {
                let n = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 {
                    if errno == EINTR || errno == EAGAIN { continue }
                    return
                }
                offset += n
            }
        }
    }

    /// Reads until end of file, or until `limit` bytes (the rest is drained and dropped).
    static func readAll(_ fd: Int32, limit: Int = 64 * 1024) -> [UInt8] {
        var out = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n < 0, errno == EINTR { continue }
            if n <= 0 { break }
            if out.count < limit { out += buffer[0..<min(n, limit - out.count)] }
        }
        return out
    }

    /// The whole content of a small file, or nil if it cannot be read.
    static func readFile(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return readAll(fd)
    }

    /// Replaces `path` atomically: readers see the old content or all of the new, never a part.
    static func writeFileAtomically(_ path: String, _ text: String) -> Bool {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return false }
        writeAll(fd, Array(text.utf8))
        _ = fsync(fd)
        close(fd)
        return rename(temporary, path) == 0
    }

    /// Field 22 of /proc/<pid>/stat: when the process started, in clock ticks since boot. With
    /// the pid it identifies a process even after the pid is reused.
    static func processStartTicks(_ pid: pid_t) -> UInt64? {
        guard let stat = readFile("/proc/\(pid)/stat"), let close = stat.lastIndex(of: UInt8(ascii: ")")) else {
            return nil
        }
        // After "pid (comm)" come the fields from 3 (state) on, so starttime is the 20th.
        let fields = stat[(close + 1)...].split(separator: UInt8(ascii: " "))
        guard fields.count >= 20 else { return nil }
        return UInt64(String(decoding: fields[19], as: UTF8.self))
    }
}
