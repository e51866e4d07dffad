import Foundation
import Glibc
import Testing
@testable import SwiftletImages
import SwiftletTestSupport

@Suite(.blockingWork) struct ContentStoreTests {
    static func listing(_ path: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
    }

    @Test func digestsParseOnlySHA256() throws {
        let digest = Digest(hashing: Array("hello".utf8))
        #expect(digest.description == "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
        #expect(Digest(digest.description) == digest)
        #expect(digest.short == "2cf24dba5fb0")
        #expect(Digest("sha512:" + digest.hex) == nil)
        #expect(Digest("sha256:" + digest.hex.uppercased()) == nil)
        #expect(Digest("sha256:" + digest.hex.dropLast()) == nil)
        #expect(Digest(digest.hex) == nil)
        let decoded = try JSONDecoder().decode([Digest].self, from: Data("[\"\(digest)\"]".utf8))
        #expect(decoded == [digest])
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([Digest].self, from: Data("[\"md5:00\"]".utf8)) }
    }

    @Test func storesAndReadsVerifiedBlobs() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try ContentStore(root: directory.path)
        let bytes = Array("a manifest".utf8)
        let digest = try store.write(bytes, expected: Digest(hashing: bytes))
        #expect(digest == Digest(hashing: bytes))
        #expect(store.contains(digest) && store.size(digest) == Int64(bytes.count))
        #expect(try store.read(digest, limit: 100) == bytes)
        #expect(store.allDigests() == [digest])
        #expect(Self.listing(directory.path + "/ingest").isEmpty)

        #expect(imageError { () throws(ImageError) in _ = try store.read(digest, limit: 3) }?.kind == .tooLarge)
        #expect(imageError { () throws(ImageError) in _ = try store.read(Digest(hashing: [1]), limit: 3) }?.kind == .notFound)

        // A blob changed on disk is never trusted.
        try Data("tampered!!".utf8).write(to: URL(fileURLWithPath: store.path(digest)))
        #expect(imageError { () throws(ImageError) in _ = try store.read(digest, limit: 100) }?.kind == .invalidContent)

        store.delete(digest)
        #expect(!store.contains(digest) && store.allDigests().isEmpty)
    }

    @Test func aDigestMismatchLeavesNothingBehind() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try ContentStore(root: directory.path)
        let expected = Digest(hashing: Array("what the manifest says".utf8))
        let error = imageError { () throws(ImageError) in try store.write(Array("what the registry sent".utf8), expected: expected) }
        #expect(error?.kind == .invalidContent)
        #expect(error?.message.contains("digest mismatch") == true)
        #expect(Self.listing(directory.path + "/blobs/sha256").isEmpty)
        #expect(Self.listing(directory.path + "/ingest").isEmpty)
    }

    @Test func sizesAndLimitsAreEnforcedWhileWriting() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try ContentStore(root: directory.path)
        let bytes = Array(repeating: UInt8(7), count: 100)

        // Fewer bytes than the descriptor says.
        let short = try BlobWriter(store: store, expected: Digest(hashing: bytes), expectedSize: 200, limit: 1 << 20)
        try FileSystem.withBytes(bytes) { (buffer) throws(ImageError) in try short.write(buffer) }
        let shortError = imageError { () throws(ImageError) in try short.commit() }
        #expect(shortError?.kind == .invalidContent)
        #expect(shortError?.message.contains("its descriptor says 200") == true)

        // More bytes than the descriptor says: refused as they arrive.
        let long = try BlobWriter(store: store, expected: Digest(hashing: bytes), expectedSize: 50, limit: 1 << 20)
        let longError = imageError { () throws(ImageError) in try FileSystem.withBytes(bytes) { (buffer) throws(ImageError) in try long.write(buffer) } }
        #expect(longError?.kind == .invalidContent)

        // No descriptor: the limit.
        let unbounded = try BlobWriter(store: store, expected: nil, expectedSize: nil, limit: 99)
        let limitError = imageError { () throws(ImageError) in try FileSystem.withBytes(bytes) { (buffer) throws(ImageError) in try unbounded.write(buffer) } }
        #expect(limitError?.kind == .tooLarge)

        // A descriptor larger than the limit: the limit still holds.
        let huge = try BlobWriter(store: store, expected: nil, expectedSize: 1 << 40, limit: 10)
        #expect(imageError { () throws(ImageError) in try FileSystem.withBytes(bytes) { (buffer) throws(ImageError) in try huge.write(buffer) } }?.kind == .tooLarge)

        #expect(Self.listing(directory.path + "/blobs/sha256").isEmpty)
        #expect(Self.listing(directory.path + "/ingest").isEmpty)

        // Written in chunks with its size right, a blob is stored under its digest.
        let fine = try BlobWriter(store: store, expected: Digest(hashing: bytes), expectedSize: 100, limit: 100)
        try feed(bytes, chunkSize: 33) { (chunk) throws(ImageError) in try fine.write(chunk) }
        #expect(fine.bytesWritten == 100)
        #expect(try fine.commit() == Digest(hashing: bytes))
        #expect(store.contains(Digest(hashing: bytes)))
        #expect(Self.listing(directory.path + "/ingest").isEmpty)
    }

    @Test func abandonedWritersAndStaleIngestsAreCleanedUp() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try ContentStore(root: directory.path)
        do {
            let writer = try BlobWriter(store: store, expected: nil, expectedSize: nil, limit: 10)
            try FileSystem.withBytes([1, 2, 3]) { (buffer) throws(ImageError) in try writer.write(buffer) }
            #expect(Self.listing(directory.path + "/ingest").count == 1)
        }
        // Dropped without a commit: its file goes with it.
        #expect(Self.listing(directory.path + "/ingest").isEmpty)

        // A dead process's partial download.
        _ = directory.write("ingest/partial", [1, 2, 3])
        store.removeStaleIngests(olderThan: 3600)
        #expect(Self.listing(directory.path + "/ingest") == ["partial"])
        store.removeStaleIngests(olderThan: 3600, now: Date().addingTimeInterval(7200))
        #expect(Self.listing(directory.path + "/ingest").isEmpty)
    }
}
