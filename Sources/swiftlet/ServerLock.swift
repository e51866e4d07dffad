import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `DATA_DIR/server.lock`, held (flock) by a running `swiftlet server` for its whole life:
/// a second server on the same data dir, or a snapshot restore under a running server, is
/// refused instead of two processes writing one datastore. The kernel drops the lock when
/// the process ends, however it ends.
enum ServerLock {
    static func path(dataDir: String) -> String { dataDir + "/server.lock" }

    /// Takes the lock for the rest of the process's life (the descriptor is never closed);
    /// false if another process holds it.
    static func acquireForProcessLifetime(dataDir: String) throws -> Bool {
        let fd = try open(dataDir: dataDir)
        if flock(fd, LOCK_EX | LOCK_NB) == 0 { return true }
        _ = close(fd)
        return false
    }

    /// Runs `body` while holding the lock; false (and `body` not run) if a server holds it.
    static func whileHeld<T>(dataDir: String, _ body: () throws -> T) throws -> T? {
        let fd = try open(dataDir: dataDir)
        defer { _ = close(fd) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { return nil }
        return try body()
    }

    private static func open(dataDir: String) throws -> Int32 {
        let file = path(dataDir: dataDir)
        let fd = Glibc.open(file, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw CommandFailure("cannot open \(file): \(String(cString: strerror(errno)))") }
        return fd
    }
}
