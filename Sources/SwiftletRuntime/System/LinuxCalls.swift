import Glibc

/// Small wrappers over system calls, and constants that Swift's Glibc module leaves out (it is
/// built without `_GNU_SOURCE`).
enum LinuxCalls {
    /// `<pty.h>`/`<asm/ioctls.h>` values for x86-64 and arm64.
    static let TIOCGPTN: UInt = 0x8004_5430
    static let TIOCSPTLCK: UInt = 0x4004_5431

    /// Writes all of `bytes`, retrying after interrupts and short writes.
    @discardableResult
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        return bytes.withUnsafeBytes { buffer in
            while offset < buffer.count {
                let n = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += n
            }
            return true
        }
    }

    /// Reads until end of file.
    static func readAll(_ fd: Int32) -> [UInt8] {
        var out = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n < 0, errno == EINTR { continue }
            if n <= 0 { return out }
            out += buffer[0..<n]
        }
    }

    /// The whole content of a small file, or nil if it cannot be opened.
    static func readFile(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return readAll(fd)
    }

    static func errorText(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }
}
