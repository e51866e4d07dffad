import Foundation
import Glibc

/// Blobs by digest, as containerd's content store keeps them: `blobs/sha256/<hex>`, each one
/// written to `ingest/` first and renamed into place only once its digest and size are verified.
/// A blob is therefore stored once however many images use it, and a reader never sees a
/// partial one. Concurrent writers of the same blob (two pulls, or a pull and an import in
/// another process) both succeed; the second rename just replaces identical bytes.
public struct ContentStore: Sendable {
    public let root: String

    public init(root: String) throws(ImageError) {
        self.root = root
        for directory in [root + "/blobs/sha256", root + "/ingest"] {
            try FileSystem.createDirectories(directory)
        }
    }

    public func path(_ digest: Digest) -> String { root + "/blobs/sha256/" + digest.hex }

    public func contains(_ digest: Digest) -> Bool { access(path(digest), F_OK) == 0 }

    public func size(_ digest: Digest) -> Int64? {
        var info = stat()
        guard stat(path(digest), &info) == 0 else { return nil }
        return Int64(info.st_size)
    }

    /// A small blob (a manifest, an index, a config) in memory, verified against its digest so
    /// that a file changed on disk is never trusted.
    public func read(_ digest: Digest, limit: Int) throws(ImageError) -> [UInt8] {
        guard let size = size(digest) else { throw ImageError(.notFound, "blob \(digest) not found in the content store") }
        guard size <= Int64(limit) else { throw ImageError(.tooLarge, "blob \(digest) is \(size) bytes, more than \(limit)") }
        guard let bytes = FileSystem.readFile(path(digest), limit: limit) else {
            throw ImageError(.storage, "cannot read blob \(digest): \(FileSystem.errorText())")
        }
        guard Digest(hashing: bytes) == digest else {
            throw ImageError(.invalidContent, "blob \(digest) in the content store does not match its digest")
        }
        return bytes
    }

    /// Stores bytes already in memory; returns their digest.
    @discardableResult
    public func write(_ bytes: [UInt8], expected: Digest? = nil) throws(ImageError) -> Digest {
        let writer = try BlobWriter(store: self, expected: expected, expectedSize: expected == nil ? nil : Int64(bytes.count),
                                    limit: Int64(bytes.count))
        do {
            try FileSystem.withBytes(bytes) { (buffer) throws(ImageError) in try writer.write(buffer) }
            return try writer.commit()
        } catch {
            writer.abort()
            throw error
        }
    }

    public func delete(_ digest: Digest) {
        unlink(path(digest))
    }

    public func allDigests() -> [Digest] {
        ((try? FileManager.default.contentsOfDirectory(atPath: root + "/blobs/sha256")) ?? []).compactMap { Digest("sha256:" + $0) }
    }

    /// Removes partial downloads older than `age` (those of a process that died mid-pull).
    public func removeStaleIngests(olderThan age: TimeInterval, now: Date = Date()) {
        let directory = root + "/ingest"
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
            let path = directory + "/" + name
            var info = stat()
            guard lstat(path, &info) == 0 else { continue }
            if now.timeIntervalSince1970 - TimeInterval(info.st_mtim.tv_sec) > age { unlink(path) }
        }
    }
}

/// One blob being written: bytes go to a private file in `ingest/` while their digest is
/// computed; `commit` verifies digest and size and renames the file into the store.
public final class BlobWriter: @unchecked Sendable {
    private let store: ContentStore
    private let expected: Digest?
    private let expectedSize: Int64?
    private let limit: Int64
    private let temporaryPath: String
    private var fd: Int32
    private var hasher = DigestHasher()

    /// `limit` bounds the bytes accepted, whatever a registry says the size is.
    public init(store: ContentStore, expected: Digest?, expectedSize: Int64?, limit: Int64) throws(ImageError) {
        self.store = store
        self.expected = expected
        self.expectedSize = expectedSize
        self.limit = expectedSize.map { min($0, limit) } ?? limit
        self.temporaryPath = store.root + "/ingest/" + (expected?.hex ?? "blob") + "-" + FileSystem.randomSuffix()
        self.fd = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else { throw ImageError(.storage, "cannot create \(temporaryPath): \(FileSystem.errorText())") }
    }

    deinit {
        if fd >= 0 {
            close(fd)
            unlink(temporaryPath)
        }
    }

    public var bytesWritten: Int64 { hasher.count }

    public func write(_ bytes: UnsafeRawBufferPointer) throws(ImageError) {
        guard hasher.count + Int64(bytes.count) <= limit else {
            abort()
            if let expectedSize, expectedSize <= limit {
                throw ImageError(.invalidContent, "blob \(expected?.description ?? "") is larger than its descriptor's \(expectedSize) bytes")
            }
            throw ImageError(.tooLarge, "blob \(expected?.description ?? "") exceeds the limit of \(limit) bytes")
        }
        hasher.update(bytes)
        guard FileSystem.writeAll(fd, bytes) else {
            let text = FileSystem.errorText()
            abort()
            throw ImageError(.storage, "cannot write \(temporaryPath): \(text)")
        }
    }

    /// Verifies and moves the blob into the store; returns its digest.
    @discardableResult
    public func commit() throws(ImageError) -> Digest {
        let digest = hasher.finalize()
        defer { abort() }
        if let expectedSize, hasher.count != expectedSize {
            throw ImageError(.invalidContent, "blob \(expected?.description ?? digest.description) has \(hasher.count) bytes, its descriptor says \(expectedSize)")
        }
        if let expected, expected != digest {
            throw ImageError(.invalidContent, "digest mismatch: expected \(expected), got \(digest)")
        }
        guard fsync(fd) == 0, close(fd) == 0 else {
            throw ImageError(.storage, "cannot write \(temporaryPath): \(FileSystem.errorText())")
        }
        fd = -1
        guard rename(temporaryPath, store.path(digest)) == 0 else {
            throw ImageError(.storage, "cannot store blob \(digest): \(FileSystem.errorText())")
        }
        return digest
    }

    /// Drops what was written (nothing is left in `ingest/`).
    public func abort() {
        if fd >= 0 {
            close(fd)
            fd = -1
        }
        unlink(temporaryPath)
    }
}
