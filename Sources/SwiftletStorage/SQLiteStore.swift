import CSQLite
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The default `Store`: one SQLite file (`sqlite://PATH`), laid out like kine's log.
///
/// Every write appends one row to `log`, and the row id *is* the revision, so the global
/// counter, the history for watches and the point-in-time lists all come from one table:
///
///     log(id INTEGER PRIMARY KEY,  -- the revision
///         key TEXT, created, deleted, create_revision, prev_revision, value BLOB,
///         crc INTEGER)             -- CRC-32 of the whole row, checked on every read
///     index log_key_id(key, id)    -- newest row per key, and prefix range scans
///     meta(name, value)            -- 'compact_revision'
///
/// A key's live value is its newest row unless that row is a delete marker. Delete markers
/// are empty: the deleted value is the row they follow (`prev_revision`), which compaction
/// keeps as long as the marker can be replayed, so deleting never costs the space of a copy.
///
/// Integrity: opening runs `PRAGMA quick_check` and refuses a damaged file with `.corrupt`;
/// every row read is checked against its checksum, so a byte flipped on disk is an error,
/// never a silently wrong object. Compaction returns freed
/// pages to the file system (`auto_vacuum = INCREMENTAL`). A write that fails for want of
/// space or an I/O error is remembered for `writeFailure()`, which the API server's
/// `/readyz` reports.
///
/// Durability: WAL with `synchronous=NORMAL`. A commit is a write(2) into the WAL, not an
/// fsync, so an acknowledged write survives the process being killed (kill -9, crash,
/// OOM kill), which is the requirement; only a power loss or kernel crash could lose the last
/// few commits, and never corrupt the file. The WAL is bounded by `wal_autocheckpoint`,
/// `journal_size_limit` and a truncating checkpoint after each compaction.
///
/// Concurrency: one connection, every read and write serialized under one `Mutex`. That is
/// simple, keeps watch delivery trivially ordered, and is fast enough (a write is one short
/// transaction with no fsync; thousands per second). Only one process should write a given
/// file: watchers are fed by this process's writes only.
public final class SQLiteStore: Store {
    /// The file path the store was opened with.
    public let path: String

    private struct State {
        var connection: SQLiteConnection?
        var watchers: [Watcher] = []
        /// Why the last write failed, when it failed for the file's sake (space, I/O); nil
        /// once a write succeeds again.
        var writeFailure: String?
        var lastWriteProbe: ContinuousClock.Instant?
    }

    private let state: Mutex<State>
    // Mirrors of the counters, readable without the lock, so that a watch handler (which runs
    // with the lock held) can still ask for them without deadlocking.
    private let revisionMirror: Atomic<Int64>
    private let compactedMirror: Atomic<Int64>

    /// How many revisions one compaction transaction covers. Compaction runs in steps so the
    /// lock is released between them and writers are never stalled for long by a big
    /// backlog; each step is a complete compaction on its own, so stopping halfway (crash,
    /// error) leaves a consistent store.
    let compactionStep = Atomic<Int64>(10_000)

    /// Opens (creating if needed) the store at `path`. Missing parent directories are created
    /// with mode 0700; a new file gets mode 0600 (it holds every Secret of the cluster), and
    /// an existing file loses any group/other permission bits.
    ///
    /// The file's structure is checked first (`quick_check`), and a damaged one is refused with `.corrupt` naming the file and what is wrong with it. Row
    /// checksums are checked as rows are read (the API server reads every live row at start),
    /// not in a pass of their own, which would cost a restart as much again as `quick_check`.
    public init(path: String) throws(StoreError) {
        self.path = path
        try Self.prepareFile(path)
        let connection: SQLiteConnection
        do throws(StoreError) {
            connection = try SQLiteConnection(path: path)
        } catch {
            throw Self.naming(path, error)
        }
        let revision: Int64
        let compacted: Int64
        do throws(StoreError) {
            try Self.configure(connection)
            let problems = try Self.integrityProblems(connection, checksums: false)
            if !problems.isEmpty {
                throw StoreError.corrupt(problems.joined(separator: "; "))
            }
            compacted = try Self.metaValue(connection, "compact_revision") ?? 0
            // The newest row is never compacted away (compaction only removes rows below the
            // compacted revision, which is at most the newest one), so MAX(id) is the current
            // revision; the max() is only a guard for an empty, compacted-to-0 table.
            revision = max(try Self.maxID(connection), compacted)
        } catch {
            connection.close()
            throw Self.naming(path, error)
        }
        revisionMirror = Atomic(revision)
        compactedMirror = Atomic(compacted)
        state = Mutex(State(connection: connection))
    }

    deinit { close() }

    public var currentRevision: Int64 { revisionMirror.load(ordering: .acquiring) }
    public var compactedRevision: Int64 { compactedMirror.load(ordering: .acquiring) }

    // MARK: - Reads

    public func get(_ key: String) throws(StoreError) -> KeyValue? {
        try state.withLock { (s) throws(StoreError) -> KeyValue? in
            guard let db = s.connection else { throw .closed }
            return try newestRow(db, key).flatMap { $0.deleted ? nil : $0.keyValue }
        }
    }

    public func list(prefix: String, revision: Int64, startAfter: String?, limit: Int) throws(StoreError) -> ListResult {
        try state.withLock { (s) throws(StoreError) -> ListResult in
            guard let db = s.connection else { throw .closed }
            let current = revisionMirror.load(ordering: .relaxed)
            let compacted = compactedMirror.load(ordering: .relaxed)
            let at = revision == 0 ? current : revision
            if at > current { throw .futureRevision(revision) }
            if at < compacted { throw .compacted(requested: revision, compacted: compacted) }

            // Walk the covering index for the newest row id per key (no values read), then
            // fetch each winner by id. Both are index-ordered, so the walk streams and stops
            // as soon as the page is full: no sort, no reading of superseded rows.
            let keys = try db.statement("""
                SELECT key, MAX(id) FROM log
                WHERE key >= ?1 AND key < ?2 AND id <= ?3
                GROUP BY key ORDER BY key
                """)
            defer { keys.reset() }
            keys.bindText(1, KeyOrder.lowerBound(prefix: prefix, startAfter: startAfter))
            keys.bindText(2, KeyOrder.upperBound(prefix: prefix))
            keys.bind(3, at)
            let row = try db.statement("SELECT \(LogRow.columns) FROM log WHERE id = ?1")

            let want = limit > 0 ? limit + 1 : Int.max   // one extra to learn `hasMore`
            var items: [KeyValue] = []
            while items.count < want, try keys.step() {
                row.bind(1, keys.int64(1))
                defer { row.reset() }
                guard try row.step() else { continue }
                let found = try LogRow(checking: row, in: path)
                if found.deleted { continue }   // deleted at `at`
                items.append(found.keyValue)
            }
            let hasMore = limit > 0 && items.count > limit
            if hasMore { items.removeLast() }
            return ListResult(items: items, revision: at, hasMore: hasMore)
        }
    }

    // MARK: - Writes

    private enum Write {
        case create
        case update(expected: Int64)
        case delete(expected: Int64?)
    }

    @discardableResult
    public func create(_ key: String, encode: (Int64) throws -> [UInt8]) throws(StoreError) -> KeyValue {
        try write(key, .create, encode: encode)
    }

    @discardableResult
    public func update(_ key: String, expectedRevision: Int64, encode: (Int64) throws -> [UInt8]) throws(StoreError) -> KeyValue {
        try write(key, .update(expected: expectedRevision), encode: encode)
    }

    @discardableResult
    public func delete(_ key: String, expectedRevision: Int64?) throws(StoreError) -> KeyValue {
        try write(key, .delete(expected: expectedRevision), encode: { _ in [] })
    }

    public func writeFailure() -> String? {
        state.withLock { s -> String? in
            guard let failure = s.writeFailure else { return nil }
            guard let db = s.connection else { return failure }
            let now = ContinuousClock.now
            if let last = s.lastWriteProbe, now - last < .seconds(1) { return failure }
            s.lastWriteProbe = now
            do throws(StoreError) {
                try Self.probeWrite(db)
                s.writeFailure = nil
                return nil
            } catch {
                s.writeFailure = "\(error)"
                return s.writeFailure
            }
        }
    }

    /// A write of about the size of a large object, committed and then removed again: the
    /// test of whether space has come back when the cluster itself writes nothing.
    private static func probeWrite(_ db: SQLiteConnection) throws(StoreError) {
        for sql in ["INSERT OR REPLACE INTO meta (name, value) VALUES ('write_probe', zeroblob(65536))",
                    "DELETE FROM meta WHERE name = 'write_probe'"] {
            do throws(StoreError) {
                try db.exec("BEGIN IMMEDIATE; \(sql); COMMIT")
            } catch {
                db.rollback()
                throw error
            }
        }
    }

    /// One write = one transaction: read the key's newest row, check, insert the next row.
    /// `BEGIN IMMEDIATE` takes SQLite's write lock up front, so even a second connection on
    /// the same file (another process) cannot slip a write between the check and the insert;
    /// and the next revision is taken from the table inside that transaction for the same
    /// reason. Watchers are called after COMMIT, still under the lock, so they only ever see
    /// durable events, in revision order.
    private func write(_ key: String, _ kind: Write, encode: (Int64) throws -> [UInt8]) throws(StoreError) -> KeyValue {
        try state.withLock { (s) throws(StoreError) -> KeyValue in
            guard let db = s.connection else { throw .closed }
            try db.exec("BEGIN IMMEDIATE")
            let event: StoreEvent
            do throws(StoreError) {
                let rev = max(try Self.maxID(db), revisionMirror.load(ordering: .relaxed)) + 1
                let newest = try newestRow(db, key)
                let live = newest.flatMap { $0.deleted ? nil : $0.keyValue }
                let row: LogRow
                switch kind {
                case .create:
                    if live != nil { throw .keyExists(key) }
                    let value = try runEncode(encode, revision: rev)
                    row = LogRow(id: rev, key: key, created: true, deleted: false, createRevision: rev, prevRevision: newest?.id ?? 0, value: value)
                    event = StoreEvent(kind: .created, kv: row.keyValue, previous: nil)
                case .update(let expected):
                    guard let live else { throw .notFound(key) }
                    guard live.modRevision == expected else { throw .conflict(key: key, currentRevision: live.modRevision) }
                    let value = try runEncode(encode, revision: rev)
                    row = LogRow(id: rev, key: key, created: false, deleted: false, createRevision: live.createRevision, prevRevision: live.modRevision, value: value)
                    event = StoreEvent(kind: .updated, kv: row.keyValue, previous: live)
                case .delete(let expected):
                    guard let live else { throw .notFound(key) }
                    if let expected, live.modRevision != expected { throw .conflict(key: key, currentRevision: live.modRevision) }
                    row = LogRow(id: rev, key: key, created: false, deleted: true, createRevision: live.createRevision, prevRevision: live.modRevision, value: [])
                    event = StoreEvent(kind: .deleted, kv: KeyValue(key: key, value: live.value, createRevision: live.createRevision, modRevision: rev), previous: live)
                }
                try Self.insert(row, into: db)
                try db.exec("COMMIT")
            } catch {
                db.rollback()
                switch error {
                case .io, .corrupt: s.writeFailure = "\(error)"
                default: break   // the caller's conflict, not the store's health
                }
                throw error
            }
            s.writeFailure = nil
            revisionMirror.store(event.revision, ordering: .releasing)
            s.watchers.deliver(event)
            return event.kv
        }
    }

    // MARK: - Watch

    public func watch(prefix: String, fromRevision: Int64, handler: @escaping @Sendable (StoreEvent) -> Void) throws(StoreError) -> StoreWatch {
        try state.withLock { (s) throws(StoreError) -> StoreWatch in
            guard let db = s.connection else { throw .closed }
            let current = revisionMirror.load(ordering: .relaxed)
            let compacted = compactedMirror.load(ordering: .relaxed)
            if fromRevision < compacted { throw .compacted(requested: fromRevision, compacted: compacted) }
            if fromRevision > current { throw .futureRevision(fromRevision) }
            let watcher = Watcher(prefix: prefix, handler: handler)
            // Replay and registration happen in one lock hold; writes take the same lock, so
            // none can land between the last replayed row and the first live event.
            if fromRevision < current {
                try replay(db, prefix: prefix, after: fromRevision, to: watcher)
            }
            s.watchers.append(watcher)
            return watcher.makeHandle()
        }
    }

    private func replay(_ db: SQLiteConnection, prefix: String, after revision: Int64, to watcher: Watcher) throws(StoreError) {
        let rows = try db.statement("""
            SELECT \(LogRow.columns) FROM log
            WHERE id > ?1 AND key >= ?2 AND key < ?3 ORDER BY id
            """)
        defer { rows.reset() }
        rows.bind(1, revision)
        rows.bindText(2, Array(prefix.utf8))
        rows.bindText(3, KeyOrder.upperBound(prefix: prefix))
        let previousRow = try db.statement("SELECT \(LogRow.columns) FROM log WHERE id = ?1 AND key = ?2")
        while try rows.step() {
            let row = try LogRow(checking: rows, in: path)
            let event: StoreEvent
            if row.created {
                event = StoreEvent(kind: .created, kv: row.keyValue, previous: nil)
            } else {
                // Compaction keeps the row an update or a delete replaced whenever that event
                // is still replayable, so this lookup only misses for history older than any
                // watch may start from; nil is then the documented answer.
                previousRow.bind(1, row.prevRevision)
                previousRow.bindText(2, row.key)
                defer { previousRow.reset() }
                var previous: KeyValue?
                if try previousRow.step() {
                    let found = try LogRow(checking: previousRow, in: path)
                    if !found.deleted { previous = found.keyValue }
                }
                if row.deleted {
                    // A delete event carries the deleted value, as a live one does.
                    var kv = row.keyValue
                    kv.value = previous?.value ?? []
                    event = StoreEvent(kind: .deleted, kv: kv, previous: previous)
                } else {
                    event = StoreEvent(kind: .updated, kv: row.keyValue, previous: previous)
                }
            }
            guard watcher.deliver(event) else { return }
        }
    }

    // MARK: - Compaction

    /// Removes history below `revision`: every row older than `revision` that a newer row of
    /// the same key (at or below `revision`) supersedes, and delete markers older than
    /// `revision`. Afterwards the state as of `revision` and everything after it are intact;
    /// lists and watches from older revisions fail with `.compacted`. Compacting to a revision
    /// at or below the current compacted one does nothing.
    ///
    /// Runs in steps of `compactionStep` revisions, each its own transaction with the lock
    /// released in between; then truncates the WAL, which the deletions have just grown.
    public func compact(revision: Int64) throws(StoreError) {
        while true {
            let done = try state.withLock { (s) throws(StoreError) -> Bool in
                guard let db = s.connection else { throw .closed }
                if revision > revisionMirror.load(ordering: .relaxed) { throw .futureRevision(revision) }
                let from = compactedMirror.load(ordering: .relaxed)
                guard revision > from else { return true }
                let to = min(revision, from + max(compactionStep.load(ordering: .relaxed), 1))
                try Self.compactStep(db, from: from, to: to)
                compactedMirror.store(to, ordering: .releasing)
                return to == revision
            }
            if done { break }
        }
        state.withLock { s in
            // Freed pages go back to the file system (best effort: on a full disk moving
            // pages may itself fail, and the free pages are still reused by later writes).
            try? s.connection?.exec("PRAGMA incremental_vacuum")
            s.connection?.checkpointTruncate()
        }
    }

    /// One compaction step from `from` (the compacted revision) to `to`.
    ///
    /// It relies on what the previous steps left behind: at most one row per key at or below
    /// `from`, and that row is a delete marker only if its id is exactly `from`. So every row
    /// that becomes superseded is superseded by a row in (from, to], and it suffices to look
    /// at the keys written in that window: for each, delete its rows below the newest one in
    /// the window. This keeps each step proportional to the window, not to the whole table.
    private static func compactStep(_ db: SQLiteConnection, from: Int64, to: Int64) throws(StoreError) {
        try db.exec("BEGIN IMMEDIATE")
        do throws(StoreError) {
            let superseded = try db.statement("""
                DELETE FROM log WHERE id IN (
                    SELECT old.id
                    FROM (SELECT key, MAX(id) AS newest FROM log WHERE id > ?1 AND id <= ?2 GROUP BY key) AS w
                    JOIN log AS old ON old.key = w.key AND old.id < w.newest)
                """)
            superseded.bind(1, from)
            superseded.bind(2, to)
            try superseded.run()

            let markers = try db.statement("DELETE FROM log WHERE id >= ?1 AND id < ?2 AND deleted = 1")
            markers.bind(1, from)
            markers.bind(2, to)
            try markers.run()

            try setMeta(db, "compact_revision", to)
            try db.exec("COMMIT")
        } catch {
            db.rollback()
            throw error
        }
    }

    // MARK: - Lifecycle

    /// Closes the connection (SQLite checkpoints and removes the WAL when the last connection
    /// to the file closes) and forgets all watches. Later calls fail with `.closed`.
    public func close() {
        state.withLock { s in
            s.watchers.removeAll()
            s.connection?.close()
            s.connection = nil
        }
    }

    // MARK: - Internals

    /// The key's newest row (live or delete marker), found backwards on (key, id).
    private func newestRow(_ db: SQLiteConnection, _ key: String) throws(StoreError) -> LogRow? {
        let st = try db.statement("SELECT \(LogRow.columns) FROM log WHERE key = ?1 ORDER BY id DESC LIMIT 1")
        defer { st.reset() }
        st.bindText(1, key)
        guard try st.step() else { return nil }
        return try LogRow(checking: st, in: path)
    }

    private static func insert(_ row: LogRow, into db: SQLiteConnection) throws(StoreError) {
        let insert = try db.statement("""
            INSERT INTO log (\(LogRow.columns)) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
            """)
        insert.bind(1, row.id)
        insert.bindText(2, row.key)
        insert.bind(3, row.created)
        insert.bind(4, row.deleted)
        insert.bind(5, row.createRevision)
        insert.bind(6, row.prevRevision)
        insert.bindBlob(7, row.value)
        insert.bind(8, row.checksum)
        try insert.run()
    }

    /// What is wrong with the file, at most `limit` findings: SQLite's `quick_check` (pages,
    /// b-trees, records), then, if the structure holds and `checksums` is set, every row's
    /// checksum.
    static func integrityProblems(_ db: SQLiteConnection, checksums: Bool, limit: Int = 5) throws(StoreError) -> [String] {
        let check = try db.statement("PRAGMA quick_check(\(limit))")
        defer { check.reset() }
        var structure: [String] = []
        while try check.step() { structure.append(check.string(0)) }
        if structure != ["ok"] || !checksums { return structure == ["ok"] ? [] : structure }

        let rows = try db.statement("SELECT \(LogRow.columns) FROM log")
        defer { rows.reset() }
        var problems: [String] = []
        while problems.count < limit, try rows.step() {
            do throws(StoreError) {
                _ = try LogRow(checking: rows, in: nil)
            } catch {
                if case .corrupt(let message) = error { problems.append(message) } else { throw error }
            }
        }
        return problems
    }

    /// `error`, saying which file it is about.
    private static func naming(_ path: String, _ error: StoreError) -> StoreError {
        switch error {
        case .corrupt(let message): return .corrupt("\(path) is damaged: \(message)")
        case .io(let message): return .io("\(path): \(message)")
        default: return error
        }
    }

    private static func maxID(_ db: SQLiteConnection) throws(StoreError) -> Int64 {
        let st = try db.statement("SELECT COALESCE(MAX(id), 0) FROM log")
        defer { st.reset() }
        return try st.step() ? st.int64(0) : 0
    }

    private static func metaValue(_ db: SQLiteConnection, _ name: String) throws(StoreError) -> Int64? {
        let st = try db.statement("SELECT value FROM meta WHERE name = ?1")
        defer { st.reset() }
        st.bindText(1, name)
        return try st.step() ? st.int64(0) : nil
    }

    private static func setMeta(_ db: SQLiteConnection, _ name: String, _ value: Int64) throws(StoreError) {
        let st = try db.statement("INSERT INTO meta (name, value) VALUES (?1, ?2) ON CONFLICT(name) DO UPDATE SET value = excluded.value")
        st.bindText(1, name)
        st.bind(2, value)
        try st.run()
    }

    /// 1: the log and meta tables. 2: each row's checksum, and empty delete markers.
    static let schemaVersion = 2

    private static func configure(_ db: SQLiteConnection) throws(StoreError) {
        guard let handle = db.handle else { throw .closed }
        // Wait (rather than fail at once) if another connection holds the write lock, e.g. a
        // second process briefly opening the file, or WAL recovery after a crash.
        sqlite3_busy_timeout(handle, 5_000)
        // A store already at this schema is opened without writing anything, so a server can
        // start (and serve reads) on a full disk.
        let current = Int(try db.queryText("PRAGMA user_version") ?? "0") ?? 0
        if current == 0 {
            // Only possible on a new file, before its first table: compaction can then hand
            // freed pages back to the file system.
            try db.exec("PRAGMA auto_vacuum = INCREMENTAL")
        }
        let mode = try db.queryText("PRAGMA journal_mode = WAL")
        guard mode?.lowercased() == "wal" else {
            throw .io("sqlite: cannot switch \(mode ?? "?") journal to WAL")
        }
        try db.exec("""
            PRAGMA synchronous = NORMAL;
            PRAGMA wal_autocheckpoint = 1000;
            PRAGMA journal_size_limit = 67108864;
            PRAGMA temp_store = MEMORY;
            PRAGMA cache_size = -16384;
            """)
        if current == schemaVersion { return }
        try db.exec("BEGIN IMMEDIATE")
        do throws(StoreError) {
            let version = Int(try db.queryText("PRAGMA user_version") ?? "0") ?? 0
            if version > schemaVersion {
                throw .io("sqlite: schema version \(version) is newer than this binary understands (\(schemaVersion))")
            }
            if version == 1 { try addChecksums(db) }
            try db.exec("""
                CREATE TABLE IF NOT EXISTS log (
                    id INTEGER PRIMARY KEY,
                    key TEXT NOT NULL,
                    created INTEGER NOT NULL,
                    deleted INTEGER NOT NULL,
                    create_revision INTEGER NOT NULL,
                    prev_revision INTEGER NOT NULL,
                    value BLOB,
                    crc INTEGER
                );
                CREATE INDEX IF NOT EXISTS log_key_id ON log (key, id);
                CREATE TABLE IF NOT EXISTS meta (
                    name TEXT PRIMARY KEY,
                    value INTEGER NOT NULL
                ) WITHOUT ROWID;
                PRAGMA user_version = \(schemaVersion);
                """)
            try db.exec("COMMIT")
        } catch {
            db.rollback()
            throw error
        }
    }

    /// Schema 1 to 2: every row gets its checksum (delete markers keep the value they carry;
    /// new ones are empty).
    private static func addChecksums(_ db: SQLiteConnection) throws(StoreError) {
        try db.exec("ALTER TABLE log ADD COLUMN crc INTEGER")
        // Read first, then write: SQLite leaves undefined what a scan sees of rows changed under it.
        var checksums: [(id: Int64, crc: Int64)] = []
        let rows = try db.statement("SELECT \(LogRow.columns) FROM log")
        while try rows.step() {
            let row = LogRow(reading: rows)
            checksums.append((row.id, row.checksum))
        }
        rows.reset()
        let update = try db.statement("UPDATE log SET crc = ?1 WHERE id = ?2")
        for (id, crc) in checksums {
            update.bind(1, crc)
            update.bind(2, id)
            try update.run()
        }
    }

    /// Creates the file (and its directory) before SQLite does, because SQLite would create it
    /// 0644 minus umask; SQLite then gives the -wal and -shm files the same mode as the
    /// database file.
    static func prepareFile(_ path: String) throws(StoreError) {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty, !FileManager.default.fileExists(atPath: directory) {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw .io("cannot create directory \(directory): \(error)")
            }
        }
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .io("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { closeDescriptor(fd) }
        var info = stat()
        if fstat(fd, &info) == 0, info.st_mode & 0o077 != 0 {
            _ = fchmod(fd, info.st_mode & 0o700)
        }
    }

    /// Rows in `log`, for tests that check compaction really removes history.
    func rowCount() throws(StoreError) -> Int {
        try state.withLock { (s) throws(StoreError) -> Int in
            guard let db = s.connection else { throw .closed }
            let st = try db.statement("SELECT COUNT(*) FROM log")
            defer { st.reset() }
            return try st.step() ? Int(st.int64(0)) : 0
        }
    }
}

/// `close(2)`, out of reach of `SQLiteStore.close()` which shadows it inside the class.
private func closeDescriptor(_ fd: Int32) {
    _ = close(fd)
}
