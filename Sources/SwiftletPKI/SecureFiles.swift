import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed file-system call, with the path and `errno` text.
///
/// Foundation's errors on Linux often drop the path; a server that cannot start because of
/// "Permission denied" must say *which* file, so these helpers report it themselves.
public struct FileSystemError: Error, CustomStringConvertible, Sendable {
    public let operation: String
    public let path: String
    public let code: Int32

    public init(operation: String, path: String, code: Int32) {
        self.operation = operation
        self.path = path
        self.code = code
    }

    public var description: String {
        "\(operation) \(path): \(String(cString: strerror(code)))"
    }
}

/// Small POSIX file helpers for secrets: keys, tokens, kubeconfigs and the data directory.
///
/// These go straight to the C library rather than `FileManager` because the mode must be right
/// from the moment a file exists (no window in which a key is world-readable) and a restart after
/// a crash must never see a half-written key, which needs `O_EXCL` + `fsync` + `rename`.
public enum SecureFiles {
    /// Creates `path` and any missing parents, giving each directory *it creates* exactly `mode`.
    ///
    /// Existing directories are deliberately left alone: a kubeconfig may be written to `/tmp/x`, and
    /// chmod-ing `/tmp` would be a disaster. Callers that own a directory (the data dir, `tls/`)
    /// follow up with ``setMode(_:_:)`` to repair a loosened mode.
    public static func createDirectory(_ path: String, mode: mode_t = 0o700) throws {
        guard !path.isEmpty else { return }
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/", omittingEmptySubsequences: true) {
            prefix += "/" + component
            var info = stat()
            if stat(prefix, &info) == 0 {
                guard (info.st_mode & S_IFMT) == S_IFDIR else {
                    throw FileSystemError(operation: "mkdir", path: prefix, code: ENOTDIR)
                }
                continue
            }
            if mkdir(prefix, mode) != 0 {
                let code = errno
                // Another process (or a parallel test) may have won the race; that is fine.
                if code == EEXIST { continue }
                throw FileSystemError(operation: "mkdir", path: prefix, code: code)
            }
            // mkdir's mode is filtered by the umask; chmod makes the result exact.
            try setMode(prefix, mode)
        }
    }

    /// Sets the permission bits of an existing file or directory.
    public static func setMode(_ path: String, _ mode: mode_t) throws {
        if chmod(path, mode) != 0 {
            throw FileSystemError(operation: "chmod", path: path, code: errno)
        }
    }

    /// Returns the permission bits (e.g. `0o600`) of `path`, for checks and tests.
    public static func mode(of path: String) throws -> mode_t {
        var info = stat()
        if stat(path, &info) != 0 {
            throw FileSystemError(operation: "stat", path: path, code: errno)
        }
        return info.st_mode & 0o7777
    }

    public static func fileExists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    /// Writes `contents` to `path` so that readers see either the old file or the complete new one.
    ///
    /// The data goes to a hidden temporary file in the same directory (same file system, so the
    /// rename is atomic), created with `mode` and `O_EXCL`, synced, then renamed over `path`.
    /// Missing parent directories are created with mode 0700.
    public static func writeAtomically(_ path: String, contents: String, mode: mode_t = 0o600) throws {
        try writeAtomically(path, bytes: Array(contents.utf8), mode: mode)
    }

    public static func writeAtomically(_ path: String, bytes: [UInt8], mode: mode_t = 0o600) throws {
        let directory = parentDirectory(of: path)
        try createDirectory(directory, mode: 0o700)
        let name = path.split(separator: "/").last.map(String.init) ?? path
        let temporary = "\(directory)/.\(name).tmp-\(getpid())-\(UInt32.random(in: 0 ... .max))"

        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else {
            throw FileSystemError(operation: "open", path: temporary, code: errno)
        }
        var committed = false
        defer {
            if !committed { unlink(temporary) }
        }
        do {
            defer { close(fd) }
            // open's mode is filtered by the umask; fchmod makes it exact before any byte lands.
            if fchmod(fd, mode) != 0 {
                throw FileSystemError(operation: "fchmod", path: temporary, code: errno)
            }
            try bytes.withUnsafeBytes { buffer in
                var offset = 0
                while offset < buffer.count {
                    let written = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                    if written < 0 {
                        if errno == EINTR { continue }
                        throw FileSystemError(operation: "write", path: temporary, code: errno)
                    }
                    offset += written
                }
            }
            if fsync(fd) != 0 {
                throw FileSystemError(operation: "fsync", path: temporary, code: errno)
            }
        }
        if rename(temporary, path) != 0 {
            throw FileSystemError(operation: "rename", path: path, code: errno)
        }
        committed = true
        // Persist the directory entry too, so a power cut cannot lose the rename. Best effort.
        let directoryFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryFD >= 0 {
            _ = fsync(directoryFD)
            close(directoryFD)
        }
    }

    /// Reads a UTF-8 text file, or returns nil if it does not exist.
    ///
    /// "Missing" must be told apart from "unreadable": the first means generate, the second must
    /// stop the server rather than silently replace a CA it merely could not read.
    public static func readIfExists(_ path: String) throws -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let code = errno
            if code == ENOENT { return nil }
            throw FileSystemError(operation: "open", path: path, code: code)
        }
        defer { close(fd) }
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw FileSystemError(operation: "read", path: path, code: errno)
            }
            if count == 0 { break }
            result.append(contentsOf: chunk[0..<count])
        }
        return String(decoding: result, as: UTF8.self)
    }

    static func parentDirectory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let parent = String(path[..<slash])
        return parent.isEmpty ? "/" : parent
    }
}
