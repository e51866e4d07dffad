import Foundation
import Testing
@testable import SwiftletStorage

/// What only the file-backed driver promises: persistence, crash safety, file mode.
@Suite("SQLiteStore")
struct SQLiteStoreTests {
    let directory = makeTemporaryDirectory()
    var path: String { directory.appendingPathComponent("state.db").path }

    func cleanUp() {
        try? FileManager.default.removeItem(at: directory)
    }

    @Test func reopenRestoresEverything() throws {
        defer { cleanUp() }
        var live: [KeyValue] = []
        do {
            let s = try SQLiteStore(path: path)
            try s.create("/r/a", encode: value("a1"))                      // 1
            try s.create("/r/b", encode: value("b1"))                      // 2
            try s.update("/r/a", expectedRevision: 1, encode: value("a2")) // 3
            try s.delete("/r/b", expectedRevision: 2)                      // 4
            try s.create("/r/c", encode: value("c1"))                      // 5
            try s.compact(revision: 4)
            try s.update("/r/c", expectedRevision: 5, encode: value("c2")) // 6
            live = try s.list(prefix: "", revision: 0, startAfter: nil, limit: 0).items
            s.close()
        }

        let s = try SQLiteStore(path: path)
        defer { s.close() }
        #expect(s.currentRevision == 6)
        #expect(s.compactedRevision == 4)
        #expect(try s.list(prefix: "", revision: 0, startAfter: nil, limit: 0).items == live)
        #expect(try s.get("/r/a") == KeyValue(key: "/r/a", value: Array("a2".utf8), createRevision: 1, modRevision: 3))
        #expect(try s.get("/r/b") == nil)
        #expect(try s.list(prefix: "/r/", revision: 5, startAfter: nil, limit: 0).items.map(\.key) == ["/r/a", "/r/c"])
        #expect(storeError { _ = try s.watch(prefix: "/", fromRevision: 3, handler: { _ in }) } == .compacted(requested: 3, compacted: 4))

        // History survives too, and new writes continue from the old revision.
        let c = Collector()
        let w = try s.watch(prefix: "/r/", fromRevision: 4, handler: c.handler)
        defer { w.cancel() }
        #expect(try s.update("/r/a", expectedRevision: 3, encode: value("a3")).modRevision == 7)
        #expect(storeError { try s.create("/r/a", encode: value("x")) } == .keyExists("/r/a"))
        #expect(c.summary == ["created /r/c=c1 @5", "updated /r/c=c2 @6", "updated /r/a=a3 @7"])
        #expect(c.all[1].previous?.modRevision == 5)
    }

    /// Stands in for kill -9: the first store is never closed (no final checkpoint, WAL left
    /// behind), yet a fresh connection must find every acknowledged write.
    @Test func acknowledgedWritesAreVisibleWithoutClose() throws {
        defer { cleanUp() }
        let first = try SQLiteStore(path: path)
        for i in 0..<50 {
            try first.create("/d/\(i)", encode: value("v\(i)"))
        }
        try first.update("/d/0", expectedRevision: 1, encode: value("changed"))
        try first.delete("/d/1", expectedRevision: nil)
        #expect(FileManager.default.fileExists(atPath: path + "-wal"))

        let second = try SQLiteStore(path: path)
        #expect(second.currentRevision == 52)
        let items = try second.list(prefix: "/d/", revision: 0, startAfter: nil, limit: 0).items
        #expect(items.count == 49)
        #expect(try second.get("/d/0").map { text($0) } == "changed")
        #expect(try second.get("/d/1") == nil)
        #expect(try second.get("/d/49")?.modRevision == 50)
        second.close()
        first.close()
    }

    @Test func fileIsPrivate() throws {
        defer { cleanUp() }
        let s = try SQLiteStore(path: path)
        try s.create("/secret", encode: value("s"))
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let walMode = try FileManager.default.attributesOfItem(atPath: path + "-wal")[.posixPermissions] as? Int
        #expect(walMode == 0o600)
        s.close()

        // An existing file with loose permissions is tightened on open.
        chmod(path, 0o644)
        let again = try SQLiteStore(path: path)
        again.close()
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int == 0o600)
    }

    @Test func usesWriteAheadLogging() throws {
        defer { cleanUp() }
        let s = try SQLiteStore(path: path)
        try s.create("/a", encode: value("a"))
        s.close()
        // The WAL flag lives in the file header (bytes 18 and 19 are 2 in WAL mode).
        let header = try Data(contentsOf: URL(fileURLWithPath: path)).prefix(20)
        #expect(header[18] == 2 && header[19] == 2)
        // Closing the last connection checkpointed and removed the WAL.
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
    }

    @Test func compactionRemovesRows() throws {
        defer { cleanUp() }
        let s = try SQLiteStore(path: path)
        defer { s.close() }
        try s.create("/k/a", encode: value("0"))
        for i in 1..<30 {
            try s.update("/k/a", expectedRevision: Int64(i), encode: value("\(i)"))  // 2...30
        }
        try s.create("/k/gone", encode: value("x"))                                  // 31
        try s.delete("/k/gone", expectedRevision: nil)                               // 32
        try s.create("/k/b", encode: value("b"))                                     // 33
        #expect(try s.rowCount() == 33)
        try s.compact(revision: 33)
        // Left: the newest row of /k/a and /k/b; /k/gone's create and delete marker are gone.
        #expect(try s.rowCount() == 2)
        #expect(try s.list(prefix: "/k/", revision: 0, startAfter: nil, limit: 0).items.map(\.modRevision) == [30, 33])
        #expect(s.currentRevision == 33)
        try s.create("/k/c", encode: value("c"))
        #expect(s.currentRevision == 34)
    }

    /// Compaction runs in bounded steps; stepping must give exactly the result of one big step,
    /// including delete markers that sit right on a step boundary.
    @Test func steppedCompactionMatchesSingleStep() throws {
        defer { cleanUp() }
        func build(_ s: SQLiteStore) throws {
            for round in 0..<6 {
                for k in 0..<4 {
                    let key = "/s/\(k)"
                    if let kv = try s.get(key) {
                        if (round + k) % 3 == 0 {
                            try s.delete(key, expectedRevision: kv.modRevision)
                        } else {
                            try s.update(key, expectedRevision: kv.modRevision, encode: value("\(round)"))
                        }
                    } else {
                        try s.create(key, encode: value("\(round)"))
                    }
                }
            }
        }
        let single = try SQLiteStore(path: path)
        defer { single.close() }
        let steppedPath = directory.appendingPathComponent("stepped.db").path
        let stepped = try SQLiteStore(path: steppedPath)
        defer { stepped.close() }
        stepped.compactionStep.store(1, ordering: .relaxed)
        try build(single)
        try build(stepped)
        #expect(single.currentRevision == stepped.currentRevision)

        for target in [Int64(5), 11, 17, 23] {
            let r = single.currentRevision
            try single.compact(revision: target)
            try stepped.compact(revision: target)
            #expect(try single.rowCount() == stepped.rowCount())
            for rev in [target, (target + r) / 2, r] {
                let a = try single.list(prefix: "/s/", revision: rev, startAfter: nil, limit: 0).items
                let b = try stepped.list(prefix: "/s/", revision: rev, startAfter: nil, limit: 0).items
                #expect(a == b)
            }
            let ca = Collector(), cb = Collector()
            let wa = try single.watch(prefix: "/s/", fromRevision: target, handler: ca.handler)
            let wb = try stepped.watch(prefix: "/s/", fromRevision: target, handler: cb.handler)
            #expect(ca.all == cb.all)
            #expect(ca.revisions == Array((target + 1)...r))
            // Every replayed update or delete still knows its previous value.
            #expect(ca.all.allSatisfy { $0.kind == .created || $0.previous != nil })
            wa.cancel(); wb.cancel()
        }
    }

    /// The memory driver is the reference: the same random-ish history must read back the same
    /// from both, at every revision, before and after compaction.
    @Test func agreesWithMemoryStore() throws {
        defer { cleanUp() }
        let sql = try SQLiteStore(path: path)
        defer { sql.close() }
        let mem = MemoryStore()
        var rng = SplitMix(seed: 42)
        for _ in 0..<300 {
            let key = "/m/\(rng.next() % 12)"
            let v = "\(rng.next() % 1000)"
            for s in [sql, mem] as [any Store] {
                if let kv = try s.get(key) {
                    if rng.peek % 4 == 0 {
                        try s.delete(key, expectedRevision: kv.modRevision)
                    } else {
                        try s.update(key, expectedRevision: kv.modRevision, encode: value(v))
                    }
                } else {
                    try s.create(key, encode: value(v))
                }
            }
            _ = rng.next()
        }
        #expect(sql.currentRevision == mem.currentRevision)
        for compactTo in [Int64(0), 100, 250] {
            if compactTo > 0 {
                try sql.compact(revision: compactTo)
                try mem.compact(revision: compactTo)
            }
            for rev in stride(from: max(compactTo, 1), through: sql.currentRevision, by: 7) {
                for limit in [0, 3] {
                    let a = try sql.list(prefix: "/m/", revision: rev, startAfter: "/m/3", limit: limit)
                    let b = try mem.list(prefix: "/m/", revision: rev, startAfter: "/m/3", limit: limit)
                    #expect(a.items == b.items && a.hasMore == b.hasMore && a.revision == b.revision)
                }
            }
            let ca = Collector(), cb = Collector()
            let wa = try sql.watch(prefix: "/m/", fromRevision: compactTo, handler: ca.handler)
            let wb = try mem.watch(prefix: "/m/", fromRevision: compactTo, handler: cb.handler)
            #expect(ca.all == cb.all)
            wa.cancel(); wb.cancel()
        }
    }
}

/// A tiny deterministic generator, so the comparison test is reproducible.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    var peek: UInt64 { Self.mix(state &+ 0x9E37_79B9_7F4A_7C15) }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return Self.mix(state)
    }
    static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
