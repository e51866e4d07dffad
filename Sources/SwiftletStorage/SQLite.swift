import CSQLite

// A deliberately thin layer over the sqlite3 C API: only what SQLiteStore needs. It is not
// thread-safe on its own; SQLiteStore serializes every use under its Mutex, which is why the
// connection is opened with SQLITE_OPEN_NOMUTEX (SQLite's own locking would be redundant).

/// SQLite copies bound values when given this destructor, so the Swift buffers they came
/// from need only live for the duration of the bind call.
private var transient: sqlite3_destructor_type {
    unsafeBitCast(-1 as Int, to: sqlite3_destructor_type.self)
}

/// SQLite's word for a damaged file (SQLITE_CORRUPT, SQLITE_NOTADB) becomes `.corrupt`, so
/// callers can tell a store that must be restored from one that failed for a passing reason
/// (a full disk, a lock held too long); everything else is `.io`.
func sqliteError(_ rc: Int32, _ message: String) -> StoreError {
    switch rc & 0xFF {
    case SQLITE_CORRUPT, SQLITE_NOTADB: return .corrupt("sqlite: " + message)
    default: return .io("sqlite: " + message)
    }
}

final class SQLiteConnection {
    private(set) var handle: OpaquePointer?
    /// Prepared statements by SQL text, prepared on first use and kept for the connection's
    /// life, so the hot paths never re-parse SQL.
    private var statements: [String: SQLiteStatement] = [:]

    /// Opens `path` for reading and writing, creating it unless `create` is false (a snapshot
    /// is only ever taken of, or restored from, a file that exists).
    init(path: String, create: Bool = true) throws(StoreError) {
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
            sqlite3_close_v2(db)
            throw sqliteError(rc, "cannot open \(path): \(message)")
        }
        handle = db
        sqlite3_extended_result_codes(db, 1)
    }

    deinit { close() }

    var errorMessage: String {
        guard let handle else { return "connection closed" }
        return String(cString: sqlite3_errmsg(handle))
    }

    func error(_ rc: Int32, _ context: String) -> StoreError {
        sqliteError(rc, "\(context): \(errorMessage) (code \(rc))")
    }

    /// Runs SQL that needs no parameters (pragmas, schema, BEGIN/COMMIT); rows are ignored.
    func exec(_ sql: String) throws(StoreError) {
        guard let handle else { throw .closed }
        var message: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &message)
        if rc != SQLITE_OK {
            let text = message.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(rc))
            sqlite3_free(message)
            throw sqliteError(rc, "\(sql.prefix(60)): \(text) (code \(rc))")
        }
    }

    /// The first column of the first row of `sql`, as text (for pragmas that answer).
    func queryText(_ sql: String) throws(StoreError) -> String? {
        let st = try statement(sql)
        defer { st.reset() }
        return try st.step() ? st.string(0) : nil
    }

    func statement(_ sql: String) throws(StoreError) -> SQLiteStatement {
        if let cached = statements[sql] { return cached }
        guard let handle else { throw .closed }
        var stmt: OpaquePointer?
        let rc = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, nil)
        guard rc == SQLITE_OK, let stmt else { throw error(rc, "prepare \(sql.prefix(60))") }
        let statement = SQLiteStatement(stmt)
        statements[sql] = statement
        return statement
    }

    /// Best effort: used on error paths, where the original error is the one worth reporting.
    func rollback() {
        guard let handle, sqlite3_get_autocommit(handle) == 0 else { return }
        _ = sqlite3_exec(handle, "ROLLBACK", nil, nil, nil)
    }

    /// Checkpoints the WAL into the database and truncates the WAL file to zero bytes.
    /// Failure (e.g. another connection is reading) is harmless: the WAL is simply
    /// checkpointed later by autocheckpoint.
    func checkpointTruncate() {
        guard let handle else { return }
        _ = sqlite3_wal_checkpoint_v2(handle, nil, SQLITE_CHECKPOINT_TRUNCATE, nil, nil)
    }

    /// Copies the whole database into `destination` (a connection to another file) with
    /// SQLite's online backup, in one step: the copy is one consistent read of the source,
    /// which other connections may keep writing meanwhile (WAL readers do not block writers).
    func backup(into destination: SQLiteConnection) throws(StoreError) {
        guard let handle, let target = destination.handle else { throw .closed }
        guard let backup = sqlite3_backup_init(target, "main", handle, "main") else {
            throw destination.error(sqlite3_errcode(target), "backup")
        }
        let rc = sqlite3_backup_step(backup, -1)
        let finished = sqlite3_backup_finish(backup)
        guard rc == SQLITE_DONE else { throw sqliteError(rc, "backup: \(String(cString: sqlite3_errstr(rc))) (code \(rc))") }
        guard finished == SQLITE_OK else { throw destination.error(finished, "backup") }
    }

    func close() {
        for statement in statements.values { statement.finalize() }
        statements.removeAll()
        if let handle {
            // The last connection to close checkpoints and removes the WAL file.
            sqlite3_close_v2(handle)
        }
        handle = nil
    }
}

final class SQLiteStatement {
    private var handle: OpaquePointer?

    init(_ handle: OpaquePointer) { self.handle = handle }

    /// Must follow every use: a SELECT that is not reset keeps its read transaction open,
    /// which would pin the WAL and stop checkpoints from reclaiming it.
    func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    func finalize() {
        sqlite3_finalize(handle)
        handle = nil
    }

    func bind(_ index: Int32, _ value: Int64) {
        sqlite3_bind_int64(handle, index, value)
    }

    func bind(_ index: Int32, _ value: Bool) {
        sqlite3_bind_int64(handle, index, value ? 1 : 0)
    }

    /// Binds raw bytes as TEXT. The bytes need not be valid UTF-8 (range bounds end in 0xFF
    /// or 0x00): SQLite stores them as given and compares TEXT with memcmp.
    func bindText(_ index: Int32, _ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { buffer in
            if let base = buffer.baseAddress, buffer.count > 0 {
                base.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                    _ = sqlite3_bind_text(handle, index, $0, Int32(buffer.count), transient)
                }
            } else {
                // A nil pointer would bind NULL, and `key >= NULL` matches nothing.
                _ = sqlite3_bind_text(handle, index, "", 0, transient)
            }
        }
    }

    func bindText(_ index: Int32, _ string: String) {
        bindText(index, Array(string.utf8))
    }

    func bindBlob(_ index: Int32, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes { buffer in
            if let base = buffer.baseAddress, buffer.count > 0 {
                _ = sqlite3_bind_blob64(handle, index, base, sqlite3_uint64(buffer.count), transient)
            } else {
                _ = sqlite3_bind_zeroblob(handle, index, 0)
            }
        }
    }

    /// True when a row is available, false when done.
    func step() throws(StoreError) -> Bool {
        let rc = sqlite3_step(handle)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let db = sqlite3_db_handle(handle)
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? ""
            throw sqliteError(rc, "step: \(message) (code \(rc))")
        }
    }

    /// Runs a statement that returns no rows, and resets it.
    func run() throws(StoreError) {
        defer { reset() }
        while try step() {}
    }

    func int64(_ column: Int32) -> Int64 {
        sqlite3_column_int64(handle, column)
    }

    func bool(_ column: Int32) -> Bool {
        sqlite3_column_int64(handle, column) != 0
    }

    func string(_ column: Int32) -> String {
        guard let text = sqlite3_column_text(handle, column) else { return "" }
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
    }

    /// NULL reads as nil, not as 0 (a row written before checksums existed has none).
    func optionalInt64(_ column: Int32) -> Int64? {
        sqlite3_column_type(handle, column) == SQLITE_NULL ? nil : sqlite3_column_int64(handle, column)
    }

    func bytes(_ column: Int32) -> [UInt8] {
        guard let blob = sqlite3_column_blob(handle, column) else { return [] }
        let count = Int(sqlite3_column_bytes(handle, column))
        return Array(UnsafeRawBufferPointer(start: blob, count: count))
    }
}
