import Foundation
import Glibc

/// The few file operations the image store needs, on file descriptors and with errno's words.
enum FileSystem {
    static func errorText(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }

    static func createDirectories(_ path: String, mode: mode_t = 0o755) throws(ImageError) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: Int(mode)])
        } catch {
            throw ImageError(.storage, "cannot create \(path): \(error.localizedDescription)")
        }
    }

    /// At most `limit` bytes of a file (nil if it cannot be opened or is longer).
    static func readFile(_ path: String, limit: Int) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return readAll(fd, limit: limit)
    }

    /// The first `count` bytes of a file (fewer if it is shorter; none if it cannot be read).
    static func readPrefix(_ path: String, count: Int) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: count)
        let n = read(fd, &buffer, count)
        return n > 0 ? Array(buffer[0..<n]) : []
    }

    static func readAll(_ fd: Int32, limit: Int) -> [UInt8]? {
        var out = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n < 0, errno == EINTR { continue }
            if n < 0 { return nil }
            if n == 0 { return out }
            guard out.count + n <= limit else { return nil }
            out += buffer[0..<n]
        }
    }

    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += n
        }
        return true
    }

    /// Writes a whole file through a temporary and a rename, so readers see the old or the new.
    static func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644) throws(ImageError) {
        let temporary = path + ".tmp-" + randomSuffix()
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw ImageError(.storage, "cannot write \(path): \(errorText())") }
        let written = bytes.withUnsafeBytes { writeAll(fd, $0) } && fsync(fd) == 0
        let error = errno
        close(fd)
        guard written, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw ImageError(.storage, "cannot write \(path): \(errorText(written ? errno : error))")
        }
    }

    /// `body` over an array's bytes, keeping its typed error (`withUnsafeBytes` only rethrows untyped).
    static func withBytes<R>(_ bytes: [UInt8], _ body: (UnsafeRawBufferPointer) throws(ImageError) -> R) throws(ImageError) -> R {
        try bytes.withUnsafeBytes { buffer in Result { () throws(ImageError) in try body(buffer) } }.get()
    }

    static func randomSuffix() -> String {
        String(UInt64.random(in: 0...UInt64.max), radix: 36)
    }

    /// Bytes the files under `path` take on disk (allocated blocks), hard links counted once.
    static func diskUsage(_ path: String) -> Int64 {
        var seen = Set<UInt64>()
        var total: Int64 = 0
        var info = stat()
        guard lstat(path, &info) == 0 else { return 0 }
        total += Int64(info.st_blocks) * 512
        guard (info.st_mode & S_IFMT) == S_IFDIR, let enumerator = FileManager.default.enumerator(atPath: path) else { return total }
        for case let name as String in enumerator {
            guard lstat(path + "/" + name, &info) == 0 else { continue }
            if info.st_nlink > 1, (info.st_mode & S_IFMT) != S_IFDIR {
                guard seen.insert(UInt64(info.st_ino)).inserted else { continue }
            }
            total += Int64(info.st_blocks) * 512
        }
        return total
    }
}

/// Extended attribute calls: `<sys/xattr.h>` is not in Swift's Glibc module.
enum ExtendedAttributes {
    private typealias SetFunction = @convention(c) (Int32, UnsafePointer<CChar>, UnsafeRawPointer?, Int, Int32) -> Int32
    private typealias GetFunction = @convention(c) (Int32, UnsafePointer<CChar>, UnsafeMutableRawPointer?, Int) -> Int
    private static let fsetxattr: SetFunction? = dlsym(nil, "fsetxattr").map { unsafeBitCast($0, to: SetFunction.self) }
    private static let fgetxattr: GetFunction? = dlsym(nil, "fgetxattr").map { unsafeBitCast($0, to: GetFunction.self) }

    @discardableResult
    static func set(_ fd: Int32, _ name: String, _ value: [UInt8]) -> Bool {
        guard let fsetxattr else { return false }
        return value.withUnsafeBytes { fsetxattr(fd, name, $0.baseAddress, $0.count, 0) } == 0
    }

    static func get(_ fd: Int32, _ name: String) -> [UInt8]? {
        guard let fgetxattr else { return nil }
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = buffer.withUnsafeMutableBytes { fgetxattr(fd, name, $0.baseAddress, $0.count) }
        return n >= 0 ? Array(buffer[0..<n]) : nil
    }
}
