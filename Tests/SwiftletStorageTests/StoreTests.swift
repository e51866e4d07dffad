import Foundation
import Synchronization
import Testing
@testable import SwiftletStorage

/// Behavior every driver must share; each test runs once per driver.
@Suite("Store (both drivers)")
struct StoreTests {
    @Test(arguments: Driver.allCases)
    func createGetUpdateDelete(_ driver: Driver) throws {
        let t = try TestStore(driver)
        let s = t.store
        #expect(s.currentRevision == 0)
        #expect(try s.get("/a") == nil)

        let created = try s.create("/a", encode: value("one"))
        #expect(created == KeyValue(key: "/a", value: Array("one".utf8), createRevision: 1, modRevision: 1))
        #expect(try s.get("/a") == created)
        #expect(storeError { try s.create("/a", encode: value("again")) } == .keyExists("/a"))

        // CAS: a stale revision is refused and the error names the current one.
        #expect(storeError { try s.update("/a", expectedRevision: 7, encode: value("x")) } == .conflict(key: "/a", currentRevision: 1))
        let updated = try s.update("/a", expectedRevision: 1, encode: value("two"))
        #expect(updated == KeyValue(key: "/a", value: Array("two".utf8), createRevision: 1, modRevision: 2))
        #expect(try s.get("/a") == updated)
        #expect(storeError { try s.update("/a", expectedRevision: 1, encode: value("x")) } == .conflict(key: "/a", currentRevision: 2))
        #expect(storeError { try s.update("/missing", expectedRevision: 1, encode: value("x")) } == .notFound("/missing"))

        // Delete with a stale revision fails; with the right one it returns the last value at
        // the delete's revision.
        #expect(storeError { try s.delete("/a", expectedRevision: 1) } == .conflict(key: "/a", currentRevision: 2))
        let deleted = try s.delete("/a", expectedRevision: 2)
        #expect(deleted == KeyValue(key: "/a", value: Array("two".utf8), createRevision: 1, modRevision: 3))
        #expect(try s.get("/a") == nil)
        #expect(storeError { try s.delete("/a", expectedRevision: nil) } == .notFound("/a"))
        #expect(storeError { try s.update("/a", expectedRevision: 3, encode: value("x")) } == .notFound("/a"))

        // Unconditional delete, and re-creation starts a new life (new createRevision).
        try s.create("/b", encode: value("b"))
        #expect(try s.delete("/b", expectedRevision: nil).modRevision == 5)
        let again = try s.create("/a", encode: value("three"))
        #expect(again.createRevision == 6 && again.modRevision == 6)
        #expect(s.currentRevision == 6)
    }

    @Test(arguments: Driver.allCases)
    func revisionsAreGlobalAndOnlyConsumedBySuccessfulWrites(_ driver: Driver) throws {
        let t = try TestStore(driver)
        let s = t.store
        var seen: [Int64] = []
        for i in 0..<5 {
            seen.append(try s.create("/k/\(i)", encode: value("\(i)")).modRevision)
        }
        seen.append(try s.update("/k/0", expectedRevision: 1, encode: value("x")).modRevision)
        // Failed writes (exists, conflict, encoder error) do not use up a revision.
        _ = storeError { try s.create("/k/1", encode: value("dup")) }
        _ = storeError { try s.update("/k/1", expectedRevision: 99, encode: value("x")) }
        #expect(storeError { try s.create("/k/new", encode: { _ in throw EncodeFailure() }) } == .encodingFailed(String(describing: EncodeFailure())))
        #expect(try s.get("/k/new") == nil)
        seen.append(try s.delete("/k/2", expectedRevision: nil).modRevision)
        #expect(seen == [1, 2, 3, 4, 5, 6, 7])
        #expect(s.currentRevision == 7)
    }

    @Test(arguments: Driver.allCases)
    func encodeSeesTheRevisionTheWriteGets(_ driver: Driver) throws {
        let t = try TestStore(driver)
        let s = t.store
        try s.create("/x", encode: value("filler"))
        let kv = try s.create("/k", encode: { rev in Array("rv=\(rev)".utf8) })
        #expect(text(kv) == "rv=2" && kv.modRevision == 2)
        let up = try s.update("/k", expectedRevision: 2, encode: { rev in Array("rv=\(rev)".utf8) })
        #expect(text(up) == "rv=3")
        #expect(text(try s.get("/k")) == "rv=3")
        // A StoreError thrown by the encoder passes through as is.
        #expect(storeError { try s.update("/k", expectedRevision: 3, encode: { _ in throw StoreError.io("boom") }) } == .io("boom"))
        // Empty values round-trip.
        try s.create("/empty", encode: { _ in [] })
        #expect(try s.get("/empty")?.value == [])
    }

    @Test(arguments: Driver.allCases)
    func listByPrefixWithPaging(_ driver: Driver) throws {
        let t = try TestStore(driver)
        let s = t.store
        // Inserted out of order, with neighbours that share a textual prefix but not "/a/".
        for key in ["/a/3", "/b/1", "/a/1", "/ab/x", "/a/5", "/a", "/a/2", "/a/4", "/a0"] {
            try s.create(key, encode: value(key))
        }
        let all = try s.list(prefix: "/a/", revision: 0, startAfter: nil, limit: 0)
        #expect(all.items.map(\.key) == ["/a/1", "/a/2", "/a/3", "/a/4", "/a/5"])
        #expect(all.items.map { text($0) } == ["/a/1", "/a/2", "/a/3", "/a/4", "/a/5"])
        #expect(all.revision == 9 && !all.hasMore)

        // Paging with limit + startAfter (continue tokens).
        var pages: [[String]] = []
        var after: String?
        while true {
            let page = try s.list(prefix: "/a/", revision: 0, startAfter: after, limit: 2)
            pages.append(page.items.map(\.key))
            #expect(page.revision == 9)
            guard page.hasMore else { break }
            after = page.items.last?.key
        }
        #expect(pages == [["/a/1", "/a/2"], ["/a/3", "/a/4"], ["/a/5"]])

        // Exactly `limit` items left: no phantom "more".
        let exact = try s.list(prefix: "/a/", revision: 0, startAfter: "/a/3", limit: 2)
        #expect(exact.items.map(\.key) == ["/a/4", "/a/5"] && !exact.hasMore)

        // startAfter before the prefix range is harmless; after it yields nothing.
        #expect(try s.list(prefix: "/a/", revision: 0, startAfter: "/", limit: 1).items.map(\.key) == ["/a/1"])
        #expect(try s.list(prefix: "/a/", revision: 0, startAfter: "/z", limit: 0).items.isEmpty)

        // The empty prefix lists everything, in byte order.
        let everything = try s.list(prefix: "", revision: 0, startAfter: nil, limit: 0)
        #expect(everything.items.map(\.key) == ["/a", "/a/1", "/a/2", "/a/3", "/a/4", "/a/5", "/a0", "/ab/x", "/b/1"])
        #expect(try s.list(prefix: "/nothing/", revision: 0, startAfter: nil, limit: 5).items.isEmpty)

        // Deleted keys disappear from lists and paging skips over them.
        try s.delete("/a/2", expectedRevision: nil)
        try s.delete("/a/3", expectedRevision: nil)
        let afterDelete = try s.list(prefix: "/a/", revision: 0, startAfter: "/a/1", limit: 1)
        #expect(afterDelete.items.map(\.key) == ["/a/4"] && afterDelete.hasMore)
        #expect(afterDelete.revision == 11)
    }

    @Test(arguments: Driver.allCases)
    func keysAreOrderedByUTF8Bytes(_ driver: Driver) throws {
        let t = try TestStore(driver)
        let s = t.store
        let keys = ["/u/z", "/u/é", "/u/😀", "/u/\u{FFFD}", "/u/a", "/u/ü/x", "/u/Z", "/u/"]
        for key in keys { try s.create(key, encode: value(key)) }
        try s.create("/v", encode: value("v"))
        let expected = keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        #expect(try s.list(prefix: "/u/", revision: 0, startAfter: nil, limit: 0).items.map(\.key) == expected)
        #expect(try s.list(prefix: "/u/ü", revision: 0, startAfter: nil, limit: 0).items.map(\.key) == ["/u/ü/x"])
        // Paging one by one reaches every key, including 4-byte UTF-8 ones.
        var paged: [String] = []
        var after: String?
        repeat {
            let page = try s.list(prefix: "/u/", revision: 0, startAfter: after, limit: 1)
            paged += page.items.map(\.key)
            after = page.hasMore ? page.items.last?.key : nil
        } while after != nil
        #expect(paged == expected)
    }

    @Test(arguments: Driver.allCases)
    func listAtAnOlderRevision(_ driver: Driver) throws {
        let t = try TestStore(driver)
        let s = t.store
        try s.create("/p/a", encode: value("a1"))            // 1
        try s.create("/p/b", encode: value("b1"))            // 2
        try s.update("/p/a", expectedRevision: 1, encode: value("a2"))  // 3
        try s.delete("/p/b", expectedRevision: nil)          // 4
        try s.create("/p/c", encode: value("c1"))            // 5
        try s.create("/q/x", encode: value("x"))             // 6
        try s.create("/p/b", encode: value("b2"))            // 7

        func state(_ rev: Int64, after: String? = nil, limit: Int = 0) throws -> [String] {
            let r = try s.list(prefix: "/p/", revision: rev, startAfter: after, limit: limit)
            #expect(r.revision == (rev == 0 ? 7 : rev))
            return r.items.map { "\($0.key)=\(text($0)!)@\($0.modRevision)/\($0.createRevision)" }
        }
        #expect(try state(1) == ["/p/a=a1@1/1"])
        #expect(try state(2) == ["/p/a=a1@1/1", "/p/b=b1@2/2"])
        #expect(try state(3) == ["/p/a=a2@3/1", "/p/b=b1@2/2"])
        #expect(try state(4) == ["/p/a=a2@3/1"])
        #expect(try state(6) == ["/p/a=a2@3/1", "/p/c=c1@5/5"])
        #expect(try state(7) == ["/p/a=a2@3/1", "/p/b=b2@7/7", "/p/c=c1@5/5"])
        #expect(try state(0) == state(7))
        // Paging at an old revision.
        #expect(try state(3, limit: 1) == ["/p/a=a2@3/1"])
        #expect(try state(3, after: "/p/a", limit: 1) == ["/p/b=b1@2/2"])
        let page = try s.list(prefix: "/p/", revision: 2, startAfter: nil, limit: 1)
        #expect(page.hasMore)
        #expect(!(try s.list(prefix: "/p/", revision: 2, startAfter: "/p/a", limit: 1).hasMore))

        #expect(storeError { _ = try s.list(prefix: "/p/", revision: 8, startAfter: nil, limit: 0) } == .futureRevision(8))
    }

    @Test(arguments: Driver.allCases)
    func watchReplaysHistoryThenLiveEvents(_ driver: Driver) throws {
        let t = try TestStore(driver)
        let s = t.store
        try s.create("/w/a", encode: value("a1"))                      // 1
        try s.create("/other", encode: value("o"))                     // 2
        try s.update("/w/a", expectedRevision: 1, encode: value("a2")) // 3
        try s.create("/w/b", encode: value("b1"))                      // 4
        try s.delete("/w/a", expectedRevision: 3)                      // 5

        let fromZero = Collector()
        let w0 = try s.watch(prefix: "/w/", fromRevision: 0, handler: fromZero.handler)
        #expect(fromZero.summary == [
            "created /w/a=a1 @1", "updated /w/a=a2 @3", "created /w/b=b1 @4", "deleted /w/a=a2 @5",
        ])
        let events = fromZero.all
        #expect(events[0].previous == nil)
        #expect(events[1].previous == KeyValue(key: "/w/a", value: Array("a1".utf8), createRevision: 1, modRevision: 1))
        #expect(events[1].kv.createRevision == 1)
        #expect(events[3].kv == KeyValue(key: "/w/a", value: Array("a2".utf8), createRevision: 1, modRevision: 5))
        #expect(events[3].previous == KeyValue(key: "/w/a", value: Array("a2".utf8), createRevision: 1, modRevision: 3))

        let fromMiddle = Collector()
        let w3 = try s.watch(prefix: "/w/", fromRevision: 3, handler: fromMiddle.handler)
        #expect(fromMiddle.revisions == [4, 5])

        let everything = Collector()
        let wAll = try s.watch(prefix: "", fromRevision: 2, handler: everything.handler)
        #expect(everything.revisions == [3, 4, 5])

        let fromNow = Collector()
        let wNow = try s.watch(prefix: "/w/", fromRevision: s.currentRevision, handler: fromNow.handler)
        #expect(fromNow.all.isEmpty)

        // Live events follow, filtered by prefix.
        try s.create("/other2", encode: value("o2"))                   // 6
        try s.update("/w/b", expectedRevision: 4, encode: value("b2")) // 7
        try s.delete("/w/b", expectedRevision: nil)                    // 8
        let live = ["updated /w/b=b2 @7", "deleted /w/b=b2 @8"]
        #expect(fromZero.summary.suffix(2) == live[...])
        #expect(fromMiddle.revisions == [4, 5, 7, 8])
        #expect(fromNow.summary == live)
        #expect(everything.revisions == [3, 4, 5, 6, 7, 8])
        #expect(fromNow.all[0].previous == KeyValue(key: "/w/b", value: Array("b1".utf8), createRevision: 4, modRevision: 4))
        #expect(fromNow.all[1].previous?.modRevision == 7)

        // Cancelling stops delivery to that watch only.
        w0.cancel()
        w3.cancel()
        try s.create("/w/c", encode: value("c"))                       // 9
        #expect(fromZero.all.count == 6)
        #expect(fromMiddle.revisions == [4, 5, 7, 8])
        #expect(fromNow.revisions == [7, 8, 9])
        wAll.cancel()
        wNow.cancel()
        w0.cancel()   // idempotent
        try s.create("/w/d", encode: value("d"))
        #expect(fromNow.revisions == [7, 8, 9])
        #expect(everything.revisions.last == 9)

        #expect(storeError { _ = try s.watch(prefix: "", fromRevision: 99, handler: { _ in }) } == .futureRevision(99))
    }

    @Test(arguments: Driver.allCases)
    func handlersMayCancelAndReadCountersWithoutDeadlock(_ driver: Driver) throws {
        let t = try TestStore(driver)
        let s = t.store
        let seen = Mutex<[Int64]>([])
        let handle = Mutex<StoreWatch?>(nil)
        let watch = try s.watch(prefix: "/", fromRevision: 0, handler: { [s] event in
            // Counters are lock-free, and cancel() does not take the store lock.
            seen.withLock { $0.append(s.currentRevision) }
            if event.revision == 2 { handle.withLock { $0?.cancel() } }
        })
        handle.withLock { $0 = watch }
        try s.create("/1", encode: value("1"))
        try s.create("/2", encode: value("2"))
        try s.create("/3", encode: value("3"))
        #expect(seen.withLock { $0 } == [1, 2])
    }

    /// Regression: a watch's handler once gained a re-abstraction thunk per delivery and
    /// overflowed the stack after some tens of thousands of events.
    @Test func oneWatchSurvivesManyEvents() throws {
        let s = MemoryStore()
        defer { s.close() }
        let count = Mutex(0)
        let w = try s.watch(prefix: "/", fromRevision: 0, handler: { _ in count.withLock { $0 += 1 } })
        defer { w.cancel() }
        var kv = try s.create("/hot", encode: value("0"))
        for i in 1..<60_000 {
            kv = try s.update("/hot", expectedRevision: kv.modRevision, encode: { _ in [UInt8(truncatingIfNeeded: i)] })
        }
        try s.compact(revision: kv.modRevision)
        #expect(count.withLock { $0 } == 60_000)
    }

    @Test(arguments: Driver.allCases)
    func compactionDropsHistoryButKeepsLiveValues(_ driver: Driver) throws {
        let t = try TestStore(driver)
        let s = t.store
        try s.create("/c/a", encode: value("a1"))                       // 1
        try s.create("/c/b", encode: value("b1"))                       // 2
        try s.update("/c/a", expectedRevision: 1, encode: value("a2"))  // 3
        try s.delete("/c/b", expectedRevision: nil)                     // 4
        try s.create("/c/c", encode: value("c1"))                       // 5
        try s.update("/c/c", expectedRevision: 5, encode: value("c2"))  // 6
        try s.update("/c/a", expectedRevision: 3, encode: value("a3"))  // 7
        try s.create("/c/d", encode: value("d1"))                       // 8
        let before6 = try s.list(prefix: "/c/", revision: 6, startAfter: nil, limit: 0).items
        let live = try s.list(prefix: "/c/", revision: 0, startAfter: nil, limit: 0).items

        try s.compact(revision: 6)
        #expect(s.compactedRevision == 6)
        #expect(s.currentRevision == 8)

        // Live values, and the state at the compacted revision itself, are intact.
        #expect(try s.list(prefix: "/c/", revision: 0, startAfter: nil, limit: 0).items == live)
        #expect(try s.list(prefix: "/c/", revision: 6, startAfter: nil, limit: 0).items == before6)
        #expect(try s.get("/c/a") == KeyValue(key: "/c/a", value: Array("a3".utf8), createRevision: 1, modRevision: 7))
        #expect(try s.get("/c/b") == nil)

        // Older revisions are gone, for lists and watches alike.
        #expect(storeError { _ = try s.list(prefix: "/c/", revision: 5, startAfter: nil, limit: 0) } == .compacted(requested: 5, compacted: 6))
        #expect(storeError { _ = try s.watch(prefix: "/c/", fromRevision: 5, handler: { _ in }) } == .compacted(requested: 5, compacted: 6))
        #expect(storeError { _ = try s.watch(prefix: "/c/", fromRevision: 0, handler: { _ in }) } == .compacted(requested: 0, compacted: 6))

        // A watch from the compacted revision still gets full events, with previous values.
        let c = Collector()
        let w = try s.watch(prefix: "/c/", fromRevision: 6, handler: c.handler)
        defer { w.cancel() }
        #expect(c.summary == ["updated /c/a=a3 @7", "created /c/d=d1 @8"])
        #expect(c.all[0].previous == KeyValue(key: "/c/a", value: Array("a2".utf8), createRevision: 1, modRevision: 3))

        // Compacting backwards is a no-op; beyond the current revision is an error.
        try s.compact(revision: 3)
        #expect(s.compactedRevision == 6)
        #expect(storeError { try s.compact(revision: 9) } == .futureRevision(9))

        // Compacting to "now" still keeps every live value, and writes carry on.
        try s.compact(revision: 8)
        #expect(try s.list(prefix: "", revision: 0, startAfter: nil, limit: 0).items == live)
        try s.update("/c/d", expectedRevision: 8, encode: value("d2"))
        #expect(c.revisions == [7, 8, 9])
        #expect(c.all.last?.previous?.modRevision == 8)
    }

    @Test(arguments: Driver.allCases)
    func compactIfNeededKeepsAWindow(_ driver: Driver) throws {
        let t = try TestStore(driver)
        let s = t.store
        try s.create("/k", encode: value("0"))
        for i in 1..<20 {
            try s.update("/k", expectedRevision: Int64(i), encode: value("\(i)"))
        }
        #expect(try s.compactIfNeeded(keepRevisions: 5))
        #expect(s.compactedRevision == 15)
        #expect(!(try s.compactIfNeeded(keepRevisions: 5)))
        #expect(!(try s.compactIfNeeded(keepRevisions: 100)))
        #expect(try s.get("/k")?.modRevision == 20)
        let c = Collector()
        _ = try s.watch(prefix: "/", fromRevision: 15, handler: c.handler)
        #expect(c.revisions == [16, 17, 18, 19, 20])
    }

    /// Writers on several threads while watches come and go: every watch must see a gap-free,
    /// duplicate-free run of revisions starting right after its start revision.
    @Test(arguments: Driver.allCases)
    func concurrentWritersAndWatchersSeeEveryRevisionOnce(_ driver: Driver) throws {
        let t = try TestStore(driver)
        let s = t.store
        let writers = 4, perWriter = 150
        let watches = Mutex<[(from: Int64, collector: Collector, handle: StoreWatch)]>([])
        DispatchQueue.concurrentPerform(iterations: writers + 1) { worker in
            if worker == writers {
                // Start watches from assorted past revisions while writes are under way.
                for _ in 0..<10 {
                    let from = max(0, s.currentRevision - 7)
                    let c = Collector()
                    if let h = try? s.watch(prefix: "/", fromRevision: from, handler: c.handler) {
                        watches.withLock { $0.append((from, c, h)) }
                    }
                    usleep(500)
                }
                return
            }
            for i in 0..<perWriter {
                let key = "/w\(worker)/\(i % 10)"
                if let kv = try? s.get(key) {
                    _ = try? s.update(key, expectedRevision: kv.modRevision, encode: value("\(i)"))
                } else {
                    _ = try? s.create(key, encode: value("\(i)"))
                }
            }
        }
        let total = s.currentRevision
        #expect(total == Int64(writers * perWriter))
        let all = watches.withLock { $0 }
        #expect(all.count == 10)
        for w in all {
            #expect(w.collector.revisions == Array((w.from + 1)...total))
            w.handle.cancel()
        }
    }

    @Test(arguments: Driver.allCases)
    func closedStoreRefusesEverything(_ driver: Driver) throws {
        let t = try TestStore(driver)
        let s = t.store
        try s.create("/a", encode: value("a"))
        let c = Collector()
        _ = try s.watch(prefix: "/", fromRevision: 0, handler: c.handler)
        s.close()
        s.close()
        #expect(storeError { _ = try s.get("/a") } == .closed)
        #expect(storeError { _ = try s.list(prefix: "/", revision: 0, startAfter: nil, limit: 0) } == .closed)
        #expect(storeError { try s.create("/b", encode: value("b")) } == .closed)
        #expect(storeError { try s.update("/a", expectedRevision: 1, encode: value("b")) } == .closed)
        #expect(storeError { try s.delete("/a", expectedRevision: nil) } == .closed)
        #expect(storeError { _ = try s.watch(prefix: "/", fromRevision: 1, handler: { _ in }) } == .closed)
        #expect(storeError { try s.compact(revision: 1) } == .closed)
        #expect(c.revisions == [1])
    }
}

@Suite("openStore")
struct OpenStoreTests {
    @Test func memoryURL() throws {
        let s = try openStore(url: "memory://")
        #expect(s is MemoryStore)
        s.close()
    }

    @Test func sqliteURLs() throws {
        let dir = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let absolute = dir.appendingPathComponent("nested/dir/state.db").path
        let s = try openStore(url: "sqlite://" + absolute)
        #expect((s as? SQLiteStore)?.path == absolute)
        try s.create("/a", encode: value("a"))
        s.close()
        #expect(FileManager.default.fileExists(atPath: absolute))

        // Relative paths are relative to the working directory (reached here via "../"s
        // rather than chdir, which would affect tests running in parallel).
        let cwdDepth = FileManager.default.currentDirectoryPath.split(separator: "/").count
        let target = dir.appendingPathComponent("relative.db").path
        let relativePath = String(repeating: "../", count: cwdDepth) + target.dropFirst()
        let relative = try openStore(url: "sqlite://" + relativePath)
        relative.close()
        #expect(FileManager.default.fileExists(atPath: target))
    }

    @Test(arguments: ["", "etcd://localhost:2379", "sqlite://", "sqlite:/x.db", "postgres://db", "/var/lib/state.db"])
    func invalidURLs(_ url: String) {
        #expect(storeError { _ = try openStore(url: url) } == .invalidURL(url))
    }
}
