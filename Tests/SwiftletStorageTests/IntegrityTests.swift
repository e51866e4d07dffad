import Foundation
import Testing
@testable import SwiftletStorage

/// A damaged file is refused, a damaged row is an error and never an object, a delete costs
/// no copy of the value, and snapshots come back whole.
@Suite("SQLiteStore integrity and snapshots")
struct IntegrityTests {
    let directory = makeTemporaryDirectory()
    var path: String { directory.appendingPathComponent("state.db").path }

    func cleanUp() {
        try? FileManager.default.removeItem(at: directory)
    }

    /// Changes a row behind the store's back, as a flipped disk byte would.
    func tamper(_ sql: String) throws {
        let db = try SQLiteConnection(path: path, create: false)
        defer { db.close() }
        try db.exec(sql)
    }

    func isCorrupt(_ error: StoreError?, mentioning text: String) -> Bool {
        guard case .corrupt(let message) = error else { return false }
        return message.contains(text)
    }

    /// The structure is intact, so the file opens; the changed row is never served.
    @Test func aValueChangedOnDiskIsAnErrorWhenRead() throws {
        defer { cleanUp() }
        let s = try SQLiteStore(path: path)
        try s.create("/r/a", encode: value("{\"a\":1}"))
        try s.create("/r/b", encode: value("{\"b\":2}"))
        s.close()
        try tamper("UPDATE log SET value = CAST('{\"b\":3}' AS BLOB) WHERE key = '/r/b'")

        let opened = try SQLiteStore(path: path)
        defer { opened.close() }
        let damage = "\(path) is damaged: the row of /r/b at revision 2 fails its checksum"
        #expect(text(try opened.get("/r/a")) == "{\"a\":1}")
        #expect(isCorrupt(storeError { _ = try opened.get("/r/b") }, mentioning: damage))
        #expect(isCorrupt(storeError { _ = try opened.list(prefix: "/r/", revision: 0, startAfter: nil, limit: 0) }, mentioning: damage))
        #expect(isCorrupt(storeError { _ = try opened.watch(prefix: "/r/", fromRevision: 0, handler: { _ in }) }, mentioning: damage))
        #expect(isCorrupt(storeError { try opened.update("/r/b", expectedRevision: 2, encode: value("x")) }, mentioning: damage))
        // A snapshot check reads every row.
        #expect(isCorrupt(storeError { try SQLiteSnapshots.verify(path) }, mentioning: "the row of /r/b at revision 2"))
    }

    @Test func aChangedRevisionOrKeyFailsTheChecksumToo() throws {
        defer { cleanUp() }
        let s = try SQLiteStore(path: path)
        try s.create("/r/a", encode: value("a"))
        try s.create("/r/b", encode: value("b"))
        s.close()
        try tamper("UPDATE log SET key = '/r/c' WHERE key = '/r/b'")
        #expect(isCorrupt(storeError { try SQLiteSnapshots.verify(path) }, mentioning: "/r/c at revision 2"))
        try tamper("UPDATE log SET key = '/r/b', create_revision = 1 WHERE id = 2")
        #expect(isCorrupt(storeError { try SQLiteSnapshots.verify(path) }, mentioning: "/r/b at revision 2"))
    }

    /// A delete marker has no value, yet its key and revisions are covered all the same.
    @Test func aDeleteMarkerChangedOnDiskFailsItsChecksum() throws {
        defer { cleanUp() }
        let s = try SQLiteStore(path: path)
        try s.create("/r/a", encode: value("a"))
        try s.delete("/r/a", expectedRevision: nil)
        s.close()
        try tamper("UPDATE log SET prev_revision = 7 WHERE id = 2")
        #expect(isCorrupt(storeError { try SQLiteSnapshots.verify(path) }, mentioning: "/r/a at revision 2"))
    }

    @Test func truncatedAndForeignFilesAreRefused() throws {
        defer { cleanUp() }
        let s = try SQLiteStore(path: path)
        for i in 0..<400 { try s.create("/r/\(i)", encode: value(String(repeating: "x", count: 500))) }
        s.close()
        let size = try #require(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        #expect(truncate(path, off_t(size / 2)) == 0)
        #expect(isCorrupt(storeError { _ = try SQLiteStore(path: path) }, mentioning: "\(path) is damaged"))

        try Data(repeating: 0x41, count: 8192).write(to: URL(fileURLWithPath: path))
        #expect(isCorrupt(storeError { _ = try SQLiteStore(path: path) }, mentioning: "\(path) is damaged"))
    }

    @Test func deleteMarkersAreEmptyYetReplayedDeletesCarryTheValue() throws {
        defer { cleanUp() }
        let s = try SQLiteStore(path: path)
        defer { s.close() }
        try s.create("/r/a", encode: value(String(repeating: "v", count: 10_000)))   // 1
        let deleted = try s.delete("/r/a", expectedRevision: nil)                     // 2
        #expect(deleted.value.count == 10_000)
        let db = try SQLiteConnection(path: path, create: false)
        defer { db.close() }
        #expect(try db.queryText("SELECT length(value) FROM log WHERE id = 2") == "0")

        let c = Collector()
        let w = try s.watch(prefix: "/r/", fromRevision: 1, handler: c.handler)
        defer { w.cancel() }
        #expect(c.all.count == 1)
        #expect(c.all.first?.kind == .deleted)
        #expect(c.all.first?.kv.value.count == 10_000)
        #expect(c.all.first?.kv.modRevision == 2)
        #expect(c.all.first?.previous?.modRevision == 1)
    }

    /// A store written before checksums existed (schema 1, delete markers with values) opens,
    /// gains its checksums, and reads as before.
    @Test func aSchemaOneStoreGainsChecksums() throws {
        defer { cleanUp() }
        do {
            let db = try SQLiteConnection(path: path)
            defer { db.close() }
            try db.exec("""
                PRAGMA journal_mode = WAL;
                CREATE TABLE log (id INTEGER PRIMARY KEY, key TEXT NOT NULL, created INTEGER NOT NULL, deleted INTEGER NOT NULL,
                                  create_revision INTEGER NOT NULL, prev_revision INTEGER NOT NULL, value BLOB);
                CREATE INDEX log_key_id ON log (key, id);
                CREATE TABLE meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
                INSERT INTO log VALUES (1, '/r/a', 1, 0, 1, 0, CAST('a1' AS BLOB));
                INSERT INTO log VALUES (2, '/r/b', 1, 0, 2, 0, CAST('b1' AS BLOB));
                INSERT INTO log VALUES (3, '/r/b', 0, 1, 2, 2, CAST('b1' AS BLOB));
                PRAGMA user_version = 1;
                """)
        }
        let s = try SQLiteStore(path: path)
        #expect(text(try s.get("/r/a")) == "a1")
        #expect(try s.get("/r/b") == nil)
        #expect(try s.update("/r/a", expectedRevision: 1, encode: value("a2")).modRevision == 4)
        s.close()
        let again = try SQLiteStore(path: path)
        defer { again.close() }
        #expect(text(try again.get("/r/a")) == "a2")
    }

    @Test func compactionGivesSpaceBackToTheFileSystem() throws {
        defer { cleanUp() }
        let s = try SQLiteStore(path: path)
        defer { s.close() }
        let big = String(repeating: "x", count: 20_000)
        for i in 0..<200 { try s.create("/r/\(i)", encode: value(big)) }
        for i in 0..<200 { try s.delete("/r/\(i)", expectedRevision: nil) }
        s.close()   // checkpoints the WAL into the file
        let full = try #require(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        let reopened = try SQLiteStore(path: path)
        defer { reopened.close() }
        try reopened.compact(revision: reopened.currentRevision)
        reopened.close()
        let compacted = try #require(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        #expect(full > 4_000_000)
        #expect(compacted < full / 10)
    }

    @Test func aSnapshotRestoresWhatWasDeletedAndMovesRevisionsOn() throws {
        defer { cleanUp() }
        let snapshot = directory.appendingPathComponent("snapshots/one").path
        let s = try SQLiteStore(path: path)
        try s.create("/r/a", encode: value("a1"))                       // 1
        try s.create("/r/b", encode: value("b1"))                       // 2
        try s.update("/r/a", expectedRevision: 1, encode: value("a2"))  // 3
        try FileManager.default.createDirectory(atPath: (snapshot as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try SQLiteSnapshots.save(database: path, to: snapshot)          // taken while the store is open
        try s.delete("/r/b", expectedRevision: nil)                     // 4
        try s.create("/r/c", encode: value("c1"))                       // 5
        s.close()
        #expect(try FileManager.default.attributesOfItem(atPath: snapshot)[.posixPermissions] as? Int == 0o600)

        let restored = try SQLiteSnapshots.restore(from: snapshot, database: path, now: Date(timeIntervalSince1970: 1_700_000_000))
        #expect(restored.revision == 6)
        #expect(restored.replacedStoreMovedTo == path + ".before-restore-1700000000")

        let back = try SQLiteStore(path: path)
        defer { back.close() }
        #expect(try back.list(prefix: "/r/", revision: 0, startAfter: nil, limit: 0).items.map { "\($0.key)=\(String(decoding: $0.value, as: UTF8.self))" }
                == ["/r/a=a2", "/r/b=b1"])
        #expect(back.currentRevision == 6)
        // A client that saw revision 5 must start again, not resume as if nothing changed.
        #expect(storeError { _ = try back.watch(prefix: "/", fromRevision: 5, handler: { _ in }) } == .compacted(requested: 5, compacted: 6))
        #expect(try back.create("/r/d", encode: value("d")).modRevision == 7)

        // The replaced store is kept whole.
        let replaced = try SQLiteStore(path: path + ".before-restore-1700000000")
        defer { replaced.close() }
        #expect(try replaced.list(prefix: "/r/", revision: 0, startAfter: nil, limit: 0).items.map(\.key) == ["/r/a", "/r/c"])
    }

    @Test func aDamagedSnapshotIsNeitherKeptNorRestored() throws {
        defer { cleanUp() }
        let s = try SQLiteStore(path: path)
        try s.create("/r/a", encode: value("a1"))
        s.close()
        let snapshot = directory.appendingPathComponent("snap").path
        try SQLiteSnapshots.save(database: path, to: snapshot)
        let db = try SQLiteConnection(path: snapshot, create: false)
        try db.exec("UPDATE log SET value = CAST('zz' AS BLOB)")
        db.close()
        #expect(isCorrupt(storeError { _ = try SQLiteSnapshots.restore(from: snapshot, database: path) }, mentioning: "\(snapshot) is damaged"))
        // Nothing was touched.
        let again = try SQLiteStore(path: path)
        defer { again.close() }
        #expect(text(try again.get("/r/a")) == "a1")
        #expect(!FileManager.default.fileExists(atPath: path + ".restoring"))
    }

    @Test func snapshotDirectoryNamesListsAndKeepsTheNewest() throws {
        defer { cleanUp() }
        let s = try SQLiteStore(path: path)
        try s.create("/r/a", encode: value("a1"))
        s.close()
        let folder = SnapshotDirectory(path: directory.appendingPathComponent("snapshots").path)
        for t in 0..<4 {
            let saved = try folder.save(database: path, name: "scheduled", node: "n1", now: Date(timeIntervalSince1970: TimeInterval(1_000 + t)))
            #expect(saved.name == "scheduled-n1-\(1_000 + t)")
            // Creation order is what retention goes by; the file times say it.
            try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: TimeInterval(1_000 + t))], ofItemAtPath: saved.path)
        }
        try folder.save(database: path, name: "on-demand", node: "n1", now: Date(timeIntervalSince1970: 900))
        #expect(folder.prune(prefix: "scheduled-n1-", keep: 2) == ["scheduled-n1-1000", "scheduled-n1-1001"])
        #expect(Set(folder.list().map(\.name)) == ["scheduled-n1-1002", "scheduled-n1-1003", "on-demand-n1-900"])
        #expect(throws: StoreError.self) { try folder.save(database: path, name: "../escape", node: "n1") }
    }
}
