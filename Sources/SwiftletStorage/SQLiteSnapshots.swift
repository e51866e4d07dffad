import CSQLite
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Snapshots of a `SQLiteStore` file, as k3s offers them for its datastore: a consistent
/// copy taken while the server runs (SQLite's online backup), checked before it is kept,
/// and restored onto a stopped server.
public enum SQLiteSnapshots {
    /// Copies the store at `database` into `destination`, a self-contained file (mode 0600:
    /// it holds every Secret). The copy is written beside as `.partial`, checked like a store
    /// at open, synced, and only then renamed into place, so `destination` is whole or absent.
    public static func save(database: String, to destination: String) throws(StoreError) {
        let partial = destination + ".partial"
        unlink(partial)
        do throws(StoreError) {
            try SQLiteStore.prepareFile(partial)
            let source = try SQLiteConnection(path: database, create: false)
            defer { source.close() }
            if let handle = source.handle { sqlite3_busy_timeout(handle, 5_000) }
            let target = try SQLiteConnection(path: partial)
            defer { target.close() }
            try source.backup(into: target)
            // The copy keeps the source's WAL flag; as a rollback-journal file it stays one file.
            _ = try target.queryText("PRAGMA journal_mode = DELETE")
            target.close()
            try verify(partial)
            try syncAndRename(partial, to: destination)
        } catch {
            unlink(partial)
            throw error
        }
    }

    /// Checks a snapshot (or any store file) as `SQLiteStore` checks one at open: SQLite's
    /// `quick_check`, then every row's checksum. Throws `.corrupt` naming what is wrong.
    public static func verify(_ path: String) throws(StoreError) {
        let db: SQLiteConnection
        do throws(StoreError) {
            db = try SQLiteConnection(path: path, create: false)
        } catch {
            throw .io("\(path): cannot open: \(error)")
        }
        defer { db.close() }
        do throws(StoreError) {
            let version = Int(try db.queryText("PRAGMA user_version") ?? "0") ?? 0
            guard version >= 1 else { throw StoreError.corrupt("it holds no Swiftlet datastore") }
            guard version <= SQLiteStore.schemaVersion else {
                throw StoreError.io("its schema version \(version) is newer than this binary understands (\(SQLiteStore.schemaVersion))")
            }
            let problems = try SQLiteStore.integrityProblems(db, checksums: true)
            if !problems.isEmpty { throw StoreError.corrupt(problems.joined(separator: "; ")) }
        } catch {
            switch error {
            case .corrupt(let message): throw .corrupt("\(path) is damaged: \(message)")
            case .io(let message): throw .io("\(path): \(message)")
            default: throw error
            }
        }
    }

    public struct Restored: Sendable, Equatable {
        /// The revision the restored store continues from: above every revision the replaced
        /// store handed out, so no client mistakes restored state for what it saw before.
        public var revision: Int64
        /// Where the replaced store now is (its WAL beside it), if there was one.
        public var replacedStoreMovedTo: String?
    }

    /// Puts `snapshot` in place of the store at `database`, which no process may have open
    /// (the caller makes sure the server is stopped).
    ///
    /// The restored store keeps each key's newest value and no history, and its revision
    /// starts above the replaced store's (as etcd's `--bump-revision --mark-compacted`):
    /// watches and lists from before the restore then get 410 Gone and start again, instead of
    /// resuming as if nothing had changed. The replaced file is moved aside, never deleted.
    public static func restore(from snapshot: String, database: String, now: Date = Date()) throws(StoreError) -> Restored {
        try verify(snapshot)
        let replacedRevision = revision(of: database)
        let restoring = database + ".restoring"
        removeStoreFiles(restoring)
        do throws(StoreError) {
            try SQLiteStore.prepareFile(restoring)
            do {
                let source = try SQLiteConnection(path: snapshot, create: false)
                defer { source.close() }
                let target = try SQLiteConnection(path: restoring)
                defer { target.close() }
                try source.backup(into: target)
            }
            // Opening as a store brings an older schema up to date and checks the copy again.
            let store = try SQLiteStore(path: restoring)
            let snapshotRevision = store.currentRevision
            store.close()
            // When the replaced store cannot be read, nobody can say which revisions clients saw:
            // jump as far as Kubernetes' etcd restore guide advises.
            let revision = max(snapshotRevision, replacedRevision ?? snapshotRevision + 1_000_000_000) + 1
            let db = try SQLiteConnection(path: restoring, create: false)
            defer { db.close() }
            try db.exec("""
                BEGIN IMMEDIATE;
                DELETE FROM log WHERE id NOT IN (SELECT MAX(id) FROM log GROUP BY key);
                DELETE FROM log WHERE deleted = 1;
                INSERT INTO meta (name, value) VALUES ('compact_revision', \(revision))
                    ON CONFLICT(name) DO UPDATE SET value = excluded.value;
                COMMIT;
                PRAGMA incremental_vacuum;
                """)
            db.close()

            var movedTo: String?
            if FileManager.default.fileExists(atPath: database) {
                let aside = database + ".before-restore-\(Int64(now.timeIntervalSince1970))"
                for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: database + suffix) {
                    guard rename(database + suffix, aside + suffix) == 0 else {
                        throw StoreError.io("cannot move \(database + suffix) aside: \(String(cString: strerror(errno)))")
                    }
                }
                movedTo = aside
            }
            try syncAndRename(restoring, to: database)
            return Restored(revision: revision, replacedStoreMovedTo: movedTo)
        } catch {
            removeStoreFiles(restoring)
            throw error
        }
    }

    /// The newest revision of the store at `path`, or nil when it is missing, empty or
    /// unreadable.
    static func revision(of path: String) -> Int64? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let size = attributes[.size] as? Int, size > 0,
              let db = try? SQLiteConnection(path: path, create: false) else { return nil }
        defer { db.close() }
        guard let newest = try? db.queryText("SELECT MAX(MAX(id), COALESCE((SELECT value FROM meta WHERE name = 'compact_revision'), 0)) FROM log"),
              let revision = Int64(newest) else { return nil }
        return revision
    }

    private static func removeStoreFiles(_ path: String) {
        for suffix in ["", "-wal", "-shm", "-journal"] { unlink(path + suffix) }
    }

    private static func syncAndRename(_ path: String, to destination: String) throws(StoreError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .io("cannot open \(path): \(String(cString: strerror(errno)))") }
        let synced = fsync(fd) == 0
        let syncError = errno
        _ = close(fd)
        guard synced else { throw .io("cannot sync \(path): \(String(cString: strerror(syncError)))") }
        guard rename(path, destination) == 0 else {
            throw .io("cannot rename \(path) to \(destination): \(String(cString: strerror(errno)))")
        }
        let directory = (destination as NSString).deletingLastPathComponent
        let dirFD = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirFD >= 0 {
            _ = fsync(dirFD)
            _ = close(dirFD)
        }
    }
}
