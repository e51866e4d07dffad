import Foundation
import Glibc
import Synchronization

/// A node's images, as containerd keeps them: blobs in the content store, one snapshot per
/// layer (named by its diff id, so a layer shared by many images is unpacked once), and
/// records naming images. On disk, under `root`:
///
///     blobs/sha256/<hex>        content store (manifests, configs, compressed layers)
///     ingest/                   blobs being written
///     snapshots/<16 hex>/fs     a layer unpacked as an overlay lower directory
///     snapshots/<16 hex>/diffid the layer's full diff id
///     images.json               the records
///     imports.json              airgap archives already imported
///
/// The store is shared by the node agent and by `swiftlet images` in another process, so it
/// is coordinated with two file locks: writers of `images.json` hold `records.lock`
/// exclusively for the read-modify-write; pulls and container start-ups hold `content.lock`
/// shared while they add or use unreferenced content, and garbage collection holds it
/// exclusively, so it never removes what a pull is writing.
public final class ImageStore: Sendable {
    public let root: String
    public let content: ContentStore
    private let cache = Mutex<(file: RecordFileStamp, records: [ImageRecord])?>(nil)

    public init(root: String) throws(ImageError) {
        self.root = root
        try FileSystem.createDirectories(root, mode: 0o700)
        content = try ContentStore(root: root)
        try FileSystem.createDirectories(root + "/snapshots")
    }

    var recordsPath: String { root + "/images.json" }

    // MARK: - Records

    /// Every record, read again only when the file changed.
    public func records() -> [ImageRecord] {
        var info = stat()
        guard stat(recordsPath, &info) == 0 else { return [] }
        let stamp = RecordFileStamp(info)
        if let cached = cache.withLock({ $0 }), cached.file == stamp {
            return cached.records
        }
        guard let bytes = FileSystem.readFile(recordsPath, limit: 64 << 20),
              let file = try? CanonicalJSON.decode(ImageRecordFile.self, from: bytes, what: "images.json") else { return [] }
        cache.withLock { $0 = (stamp, file.images) }
        return file.images
    }

    public func record(named name: String) -> ImageRecord? {
        records().first { $0.name == name }
    }

    /// Adds or replaces records by name.
    public func save(_ new: [ImageRecord]) throws(ImageError) {
        try updateRecords { records in
            for record in new {
                records.removeAll { $0.name == record.name }
                records.append(record)
            }
        }
    }

    /// Removes records by name; returns those removed.
    @discardableResult
    public func removeRecords(named names: Set<String>) throws(ImageError) -> [ImageRecord] {
        var removed: [ImageRecord] = []
        try updateRecords { records in
            removed = records.filter { names.contains($0.name) }
            records.removeAll { names.contains($0.name) }
        }
        return removed
    }

    private func updateRecords(_ change: (inout [ImageRecord]) -> Void) throws(ImageError) {
        try withLock("records", exclusive: true) { () throws(ImageError) in
            cache.withLock { $0 = nil }
            var records = records()
            change(&records)
            records.sort { $0.name < $1.name }
            try FileSystem.writeAtomically(CanonicalJSON.encode(ImageRecordFile(images: records)), to: recordsPath)
            cache.withLock { $0 = nil }
        }
    }

    /// The image's configuration, read from the content store.
    public func configuration(of record: ImageRecord) throws(ImageError) -> ImageConfiguration {
        try CanonicalJSON.decode(ImageConfiguration.self, from: content.read(record.config.digest, limit: Self.maxConfigBytes),
                                 what: "image config \(record.config.digest)")
    }

    /// Limits on what a registry or an archive may hand the store.
    public static let maxManifestBytes = 4 << 20
    public static let maxConfigBytes = 8 << 20

    // MARK: - Snapshots

    func snapshotDirectory(_ diffID: Digest) -> String { root + "/snapshots/" + String(diffID.hex.prefix(16)) }

    /// The unpacked layer's directory, if the store has it.
    public func snapshot(_ diffID: Digest) -> String? {
        let directory = snapshotDirectory(diffID)
        guard let stored = FileSystem.readFile(directory + "/diffid", limit: 128),
              String(decoding: stored, as: UTF8.self) == diffID.description else { return nil }
        return directory + "/fs"
    }

    /// The overlay lower directories for an image, topmost layer first; nil if a layer is missing.
    public func lowerDirectories(_ record: ImageRecord) -> [String]? {
        var directories: [String] = []
        for layer in record.layers.reversed() {
            guard let directory = snapshot(layer.diffID) else { return nil }
            directories.append(directory)
        }
        return directories
    }

    /// Whether every blob and snapshot the record names is present.
    public func isComplete(_ record: ImageRecord) -> Bool {
        record.blobs.allSatisfy(content.contains) && lowerDirectories(record) != nil
    }

    /// Makes a snapshot: `fill` unpacks the layer into an empty directory and returns the diff
    /// id it computed, which must be `diffID`.
    public func createSnapshot(_ diffID: Digest, fill: (String) throws(ImageError) -> Digest) throws(ImageError) -> String {
        if let existing = snapshot(diffID) { return existing }
        let pending = try beginSnapshot()
        do throws(ImageError) {
            return try commitSnapshot(pending, diffID: diffID, computed: try fill(pending.directory))
        } catch {
            abandonSnapshot(pending)
            throw error
        }
    }

    /// A private, empty directory for a layer being unpacked.
    public func beginSnapshot() throws(ImageError) -> PendingSnapshot {
        let temporary = root + "/snapshots/.tmp-" + FileSystem.randomSuffix()
        try FileSystem.createDirectories(temporary + "/fs")
        return PendingSnapshot(path: temporary)
    }

    /// Moves a complete snapshot into place, once its content is known to be `diffID`. If
    /// another process made the same snapshot meanwhile, its copy stays and this one goes.
    public func commitSnapshot(_ pending: PendingSnapshot, diffID: Digest, computed: Digest) throws(ImageError) -> String {
        guard computed == diffID else {
            abandonSnapshot(pending)
            throw ImageError(.invalidContent, "layer diff id mismatch: the image config says \(diffID), the layer is \(computed)")
        }
        try FileSystem.writeAtomically(Array(diffID.description.utf8), to: pending.path + "/diffid")
        let directory = snapshotDirectory(diffID)
        if rename(pending.path, directory) != 0 {
            let code = errno
            abandonSnapshot(pending)
            guard code == EEXIST || code == ENOTEMPTY, let existing = snapshot(diffID) else {
                throw ImageError(.storage, "cannot store the snapshot of \(diffID): \(FileSystem.errorText(code))")
            }
            return existing
        }
        return directory + "/fs"
    }

    public func abandonSnapshot(_ pending: PendingSnapshot) {
        Self.removeTree(pending.path)
    }

    /// Every snapshot directory name with its diff id.
    func snapshotNames() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: root + "/snapshots")) ?? []).filter { !$0.hasPrefix(".") }
    }

    static func removeTree(_ path: String) {
        // Snapshots hold whiteouts and read-only directories: removal goes depth first, modes aside.
        try? FileManager.default.removeItem(atPath: path)
        if access(path, F_OK) == 0 {
            chmodTree(path)
            try? FileManager.default.removeItem(atPath: path)
        }
    }

    private static func chmodTree(_ path: String) {
        chmod(path, 0o700)
        guard let names = try? FileManager.default.subpathsOfDirectory(atPath: path) else { return }
        for name in names {
            var info = stat()
            if lstat(path + "/" + name, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR { chmod(path + "/" + name, 0o700) }
        }
    }

    // MARK: - Locks

    /// Takes one of the store's file locks. Blocks the calling thread while another process
    /// holds it: call it off Swift concurrency's cooperative threads.
    public func lock(_ name: String, exclusive: Bool) throws(ImageError) -> StoreLock {
        let path = root + "/" + name + ".lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ImageError(.storage, "cannot open \(path): \(FileSystem.errorText())") }
        while flock(fd, exclusive ? LOCK_EX : LOCK_SH) != 0 {
            guard errno == EINTR else {
                close(fd)
                throw ImageError(.storage, "cannot lock \(path): \(FileSystem.errorText())")
            }
        }
        return StoreLock(fd: fd)
    }

    public func withLock<T>(_ name: String, exclusive: Bool, _ body: () throws(ImageError) -> T) throws(ImageError) -> T {
        let held = try lock(name, exclusive: exclusive)
        defer { held.release() }
        return try body()
    }

    /// Content that pulls add and containers use is held with the content lock shared;
    /// garbage collection takes it exclusively.
    public func withContentLock<T>(_ body: () throws(ImageError) -> T) throws(ImageError) -> T {
        try withLock("content", exclusive: false, body)
    }
}

/// Which version of `images.json` the cached records are. The modification time alone is not
/// enough: two writes in one tick of the filesystem's clock get the same one. Each write
/// renames a new file into place, so the inode tells them apart.
private struct RecordFileStamp: Equatable {
    var inode: UInt64
    var size: Int64
    var seconds: Int
    var nanoseconds: Int

    init(_ info: stat) {
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        seconds = info.st_mtim.tv_sec
        nanoseconds = info.st_mtim.tv_nsec
    }
}

/// A held file lock of the store, released once.
public final class StoreLock: Sendable {
    private let fd: Mutex<Int32>

    init(fd: Int32) { self.fd = Mutex(fd) }

    public func release() {
        fd.withLock { fd in
            if fd >= 0 { close(fd) }
            fd = -1
        }
    }

    deinit { release() }
}

/// A snapshot being made: `directory` is where the layer unpacks to.
public struct PendingSnapshot: Sendable {
    let path: String
    public var directory: String { path + "/fs" }
}
