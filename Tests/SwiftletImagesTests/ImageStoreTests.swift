import Foundation
import Glibc
import Synchronization
import Testing
@testable import SwiftletImages
import SwiftletTestSupport

@Suite(.blockingWork) struct ImageStoreTests {
    static func digest(_ text: String) -> Digest { Digest(hashing: Array(text.utf8)) }

    /// A snapshot holding one file, made through the store.
    @discardableResult
    static func makeSnapshot(_ store: ImageStore, _ diffID: Digest, file: String = "file") throws -> String {
        try store.createSnapshot(diffID) { (directory) throws(ImageError) -> Digest in
            _ = FileManager.default.createFile(atPath: directory + "/" + file, contents: Data(diffID.hex.utf8))
            return diffID
        }
    }

    static func snapshotListing(_ store: ImageStore) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: store.root + "/snapshots")) ?? []).sorted()
    }

    @Test func recordsRoundTripThroughTheFile() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try ImageStore(root: directory.path + "/store")
        #expect(store.records().isEmpty)
        let nginx = ImageRecord.fake("docker.io/library/nginx:1.17", blobs: [Self.digest("t1"), Self.digest("c1"), Self.digest("l1")],
                                     diffIDs: [Self.digest("d1")])
        let busybox = ImageRecord.fake("docker.io/library/busybox:latest", blobs: [Self.digest("t2"), Self.digest("c2")], diffIDs: [])
        try store.save([nginx, busybox])
        #expect(store.records().map(\.name) == ["docker.io/library/busybox:latest", "docker.io/library/nginx:1.17"])
        #expect(store.record(named: nginx.name) == nginx)

        // Saving a name again replaces its record.
        var pinned = nginx
        pinned.pinned = true
        try store.save([pinned])
        #expect(store.records().count == 2)
        #expect(store.record(named: nginx.name)?.pinned == true)

        // Another store on the same root (another process) reads the same.
        let other = try ImageStore(root: directory.path + "/store")
        #expect(other.records() == store.records())

        #expect(try store.removeRecords(named: [nginx.name, "docker.io/library/missing:1"]) == [pinned])
        #expect(store.records() == [busybox])
        #expect(other.records() == [busybox])
        #expect(try store.removeRecords(named: ["docker.io/library/missing:1"]).isEmpty)
    }

    @Test func anotherStoreOnTheSameRootSeesEverySave() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let writer = try ImageStore(root: directory.path)
        let reader = try ImageStore(root: directory.path)
        for i in 0..<30 {
            try writer.save([ImageRecord.fake("example.com/app:\(i)", blobs: [Self.digest("t\(i)"), Self.digest("c\(i)")], diffIDs: [])])
            #expect(reader.records().count == i + 1, "after save \(i)")
        }
    }

    @Test func recordsDescribeTheirImage() throws {
        let record = ImageRecord.fake("docker.io/library/nginx:1.17", blobs: [Self.digest("t"), Self.digest("c"), Self.digest("l")],
                                      diffIDs: [Self.digest("d")])
        #expect(record.repoDigest == "docker.io/library/nginx@" + Self.digest("t").description)
        #expect(record.id == Self.digest("c"))
        // Config and layers, and the manifest when it is the target.
        #expect(record.size == 3)

        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try ImageStore(root: directory.path)
        try store.save([record])
        #expect(store.image(for: ImageReference("nginx:1.17")!) == record)
        #expect(store.image(for: ImageReference("nginx@" + Self.digest("t").description)!) == record)
        #expect(store.image(for: ImageReference("other@" + Self.digest("t").description)!) == nil)
        #expect(store.image(for: ImageReference("nginx@" + Self.digest("x").description)!) == nil)
    }

    @Test func snapshotsAndLowerDirectories() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try ImageStore(root: directory.path)
        let (bottom, top) = (Self.digest("bottom"), Self.digest("top"))
        let bottomPath = try Self.makeSnapshot(store, bottom)
        #expect(bottomPath == store.root + "/snapshots/" + bottom.hex.prefix(16) + "/fs")
        #expect(contents(bottomPath + "/file") == bottom.hex)
        #expect(contents(store.root + "/snapshots/" + bottom.hex.prefix(16) + "/diffid") == bottom.description)
        // A second creation finds it and does not fill again.
        #expect(try store.createSnapshot(bottom) { (_) throws(ImageError) -> Digest in
            Issue.record("filled twice")
            return bottom
        } == bottomPath)

        var record = ImageRecord.fake("example.com/app:1", blobs: [Self.digest("t"), Self.digest("c"), Self.digest("lb"), Self.digest("lt")],
                                      diffIDs: [bottom, top])
        #expect(store.lowerDirectories(record) == nil)
        let topPath = try Self.makeSnapshot(store, top)
        #expect(store.lowerDirectories(record) == [topPath, bottomPath])
        #expect(!store.isComplete(record))
        for text in ["t", "c", "lb", "lt"] { try store.content.write(Array(text.utf8)) }
        #expect(store.isComplete(record))
        record.layers[1].diffID = Self.digest("absent")
        #expect(!store.isComplete(record))

        // A directory whose diffid file names another layer (a prefix collision) is not that layer's.
        let colliding = try #require(Digest("sha256:" + bottom.hex.prefix(16) + String(repeating: "0", count: 48)))
        #expect(store.snapshot(colliding) == nil)
    }

    @Test func aSnapshotWhoseContentIsNotItsDiffIDIsRefused() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try ImageStore(root: directory.path)
        let diffID = Self.digest("expected")
        let error = imageError { () throws(ImageError) in
            _ = try store.createSnapshot(diffID) { (directory) throws(ImageError) -> Digest in
                _ = FileManager.default.createFile(atPath: directory + "/file", contents: Data("x".utf8))
                return Self.digest("something else")
            }
        }
        #expect(error?.kind == .invalidContent)
        #expect(error?.message.contains("diff id mismatch") == true)
        #expect(store.snapshot(diffID) == nil)
        #expect(Self.snapshotListing(store).isEmpty)

        // A fill that fails leaves nothing either.
        #expect(imageError { () throws(ImageError) in
            _ = try store.createSnapshot(diffID) { (_) throws(ImageError) -> Digest in throw ImageError(.storage, "disk full") }
        }?.kind == .storage)
        #expect(Self.snapshotListing(store).isEmpty)
    }

    @Test func concurrentCreationsOfOneSnapshotBothSucceed() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try ImageStore(root: directory.path)
        let diffID = Self.digest("shared layer")
        // Both fills run at once: each waits (a while at most) for the other to have begun.
        let arrivals = Barrier(parties: 2)
        let results = Mutex<[Result<String, ImageError>]>([])
        let group = DispatchGroup()
        for thread in 0..<2 {
            DispatchQueue.global().async(group: group) {
                let result = Result { () throws(ImageError) -> String in
                    try store.createSnapshot(diffID) { (directory) throws(ImageError) -> Digest in
                        _ = FileManager.default.createFile(atPath: directory + "/made-by", contents: Data("\(thread)".utf8))
                        arrivals.arriveAndWait()
                        return diffID
                    }
                }
                results.withLock { $0.append(result) }
            }
        }
        group.wait()
        #expect(arrivals.arrived == 2)
        let paths = results.withLock { $0 }.compactMap { try? $0.get() }
        #expect(paths.count == 2)
        #expect(Set(paths) == [store.root + "/snapshots/" + diffID.hex.prefix(16) + "/fs"])
        #expect(Self.snapshotListing(store) == [String(diffID.hex.prefix(16))])
        #expect(["0", "1"].contains(contents(paths[0] + "/made-by") ?? ""))
    }

    @Test func garbageCollectionKeepsOnlyWhatRecordsName() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try ImageStore(root: directory.path)
        let kept = ImageRecord.fake("example.com/kept:1", blobs: [Self.digest("t"), Self.digest("c"), Self.digest("shared")],
                                    diffIDs: [Self.digest("kept layer")])
        let dropped = ImageRecord.fake("example.com/dropped:1",
                                       blobs: [Self.digest("t2"), Self.digest("c2"), Self.digest("shared"), Self.digest("own")],
                                       diffIDs: [Self.digest("kept layer"), Self.digest("dropped layer")])
        for text in ["t", "c", "shared", "t2", "c2", "own", "never named"] { try store.content.write(Array(text.utf8)) }
        try Self.makeSnapshot(store, Self.digest("kept layer"))
        let droppedSnapshot = try Self.makeSnapshot(store, Self.digest("dropped layer"))
        // What unpacked layers hold: read-only directories, whiteouts.
        try shell("mkdir -p '\(droppedSnapshot)/ro/deeper' && touch '\(droppedSnapshot)/ro/deeper/f' && mknod '\(droppedSnapshot)/gone' c 0 0 && chmod 0555 '\(droppedSnapshot)/ro' '\(droppedSnapshot)/ro/deeper'")
        try Self.makeSnapshot(store, Self.digest("unnamed layer"))
        // Left by an unpack a dead process began.
        _ = directory.directory("snapshots/.tmp-deadbeef/fs")
        try store.save([kept, dropped])

        let (removed, garbage) = try store.remove(names: [dropped.name])
        #expect(removed == [dropped])
        #expect(garbage.blobs == 4)  // t2, c2, own, never named
        #expect(garbage.snapshots == 2)
        #expect(garbage.bytes > 0)
        #expect(Set(store.content.allDigests()) == Set(["t", "c", "shared"].map(Self.digest)))
        #expect(Self.snapshotListing(store) == [String(Self.digest("kept layer").hex.prefix(16))])
        #expect(store.isComplete(kept))

        // Nothing more to collect.
        #expect(try store.collectGarbage() == CollectedGarbage())
    }

    @Test func mountPathsAreUnescaped() {
        #expect(ImageStore.unescapeMountPath("/var/lib/plain") == "/var/lib/plain")
        #expect(ImageStore.unescapeMountPath("/tmp/a\\040b") == "/tmp/a b")
        #expect(ImageStore.unescapeMountPath("/tmp/tab\\011and\\012newline") == "/tmp/tab\tand\nnewline")
        #expect(ImageStore.unescapeMountPath("/tmp/back\\134slash") == "/tmp/back\\slash")
        #expect(ImageStore.unescapeMountPath("\\040") == " ")
        #expect(ImageStore.unescapeMountPath("/end\\04") == "/end\\04")
    }

    /// A real overlay whose lower directory is an unreferenced snapshot: it is reported in use
    /// and kept until it is unmounted. The store's path has a space, which mountinfo escapes.
    @Test func aMountedSnapshotIsKeptUntilUnmounted() throws {
        let directory = TemporaryDirectory("swiftlet images test")
        defer { directory.remove() }
        let store = try ImageStore(root: directory.path + "/image store")
        let diffID = Self.digest("running layer")
        let lower = try Self.makeSnapshot(store, diffID)
        let record = ImageRecord.fake("example.com/running:1", blobs: [Self.digest("t"), Self.digest("c"), Self.digest("l")],
                                      diffIDs: [diffID])
        try store.save([record])

        let upper = directory.directory("upper")
        let work = directory.directory("work")
        let mountPoint = directory.directory("rootfs")
        try shell("mount -t overlay overlay -o 'lowerdir=\(lower),upperdir=\(upper),workdir=\(work)' '\(mountPoint)'")
        var mounted = true
        defer { if mounted { try? shell("umount -l '\(mountPoint)'") } }
        #expect(contents(mountPoint + "/file") == diffID.hex)

        let name = String(diffID.hex.prefix(16))
        #expect(store.mountedSnapshots() == [name])
        #expect(store.imagesInUse() == [record.name])

        // The image goes; its snapshot stays while the container's root uses it.
        let (_, garbage) = try store.remove(names: [record.name])
        #expect(garbage.snapshots == 0)
        #expect(store.snapshot(diffID) == lower)

        try shell("umount '\(mountPoint)'")
        mounted = false
        #expect(store.mountedSnapshots().isEmpty)
        #expect(try store.collectGarbage().snapshots == 1)
        #expect(store.snapshot(diffID) == nil)
    }

    @Test func filesystemUsageAndDiskUsage() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try ImageStore(root: directory.path)
        let usage = try #require(store.filesystemUsage())
        #expect(usage.capacity > 0 && usage.available > 0 && usage.available <= usage.capacity)
        let empty = store.diskUsage()
        try store.content.write(Array(repeating: 1, count: 100_000))
        #expect(store.diskUsage() >= empty + 100_000)
    }
}

/// Threads that wait for each other: each `arriveAndWait` returns once `parties` have
/// arrived (or after a minute, so a broken store cannot hang the run).
final class Barrier: @unchecked Sendable {
    private let condition = NSCondition()
    private let parties: Int
    private var count = 0

    init(parties: Int) { self.parties = parties }

    var arrived: Int {
        condition.lock()
        defer { condition.unlock() }
        return count
    }

    func arriveAndWait() {
        condition.lock()
        defer { condition.unlock() }
        count += 1
        condition.broadcast()
        let deadline = Date().addingTimeInterval(60)
        while count < parties, condition.wait(until: deadline) {}
    }
}
