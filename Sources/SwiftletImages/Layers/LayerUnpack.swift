import Foundation
import Glibc

/// One layer on its way into the store, chunk by chunk as it downloads: the compressed bytes
/// go to the content store (digest checked), and at the same time through the decompressor,
/// whose output is hashed (the diff id, checked) and unpacked into the snapshot.
final class LayerUnpack {
    private let blob: BlobWriter?
    private let decompressor: Decompressor?
    private var diffHasher = DigestHasher()
    private let extractor: LayerExtractor?
    private let tar: TarReader?

    /// `blob` nil when the store has the blob already; `snapshotDirectory` nil when it has the snapshot.
    init(blob: BlobWriter?, compression: Compression, snapshotDirectory: String?, limits: LayerExtractor.Limits) throws(ImageError) {
        self.blob = blob
        if let snapshotDirectory {
            let extractor = try LayerExtractor(directory: snapshotDirectory, limits: limits)
            self.extractor = extractor
            tar = TarReader(consumer: extractor)
            decompressor = try Decompressor(compression, limit: limits.maxBytes + (64 << 20))
        } else {
            extractor = nil
            tar = nil
            decompressor = nil
        }
    }

    func write(_ chunk: UnsafeRawBufferPointer) throws(ImageError) {
        try blob?.write(chunk)
        guard let decompressor, let tar else { return }
        try decompressor.feed(chunk) { (plain) throws(ImageError) in
            diffHasher.update(plain)
            try tar.feed(plain)
        }
    }

    /// Checks the ends of all three streams; returns the diff id when a snapshot was made.
    func finish() throws(ImageError) -> Digest? {
        if let decompressor, let tar, let extractor {
            try decompressor.finish()
            try tar.finish()
            try extractor.finish()
        }
        try blob?.commit()
        return decompressor == nil ? nil : diffHasher.finalize()
    }

    func abort() {
        blob?.abort()
    }

    /// Unpacks a blob already in the content store into a new snapshot.
    static func unpack(store: ImageStore, layer: ImageRecord.Layer, limits: LayerExtractor.Limits) throws(ImageError) -> String {
        guard let compression = Compression.forLayer(mediaType: layer.blob.mediaType) else {
            throw ImageError(.unsupported, "unsupported layer media type \(layer.blob.mediaType)")
        }
        return try store.createSnapshot(layer.diffID) { (directory) throws(ImageError) -> Digest in
            let unpack = try LayerUnpack(blob: nil, compression: compression, snapshotDirectory: directory, limits: limits)
            let fd = open(store.content.path(layer.blob.digest), O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw ImageError(.storage, "cannot read blob \(layer.blob.digest): \(FileSystem.errorText())") }
            defer { close(fd) }
            var blobHasher = DigestHasher()
            var buffer = [UInt8](repeating: 0, count: 256 * 1024)
            while true {
                let n = read(fd, &buffer, buffer.count)
                if n < 0, errno == EINTR { continue }
                guard n >= 0 else { throw ImageError(.storage, "cannot read blob \(layer.blob.digest): \(FileSystem.errorText())") }
                if n == 0 { break }
                try FileSystem.withBytes(buffer) { (all) throws(ImageError) in
                    let chunk = UnsafeRawBufferPointer(rebasing: all[0..<n])
                    blobHasher.update(chunk)
                    try unpack.write(chunk)
                }
            }
            // The blob is checked as it is read: a file changed on disk is not unpacked.
            guard blobHasher.finalize() == layer.blob.digest else {
                throw ImageError(.invalidContent, "blob \(layer.blob.digest) in the content store does not match its digest")
            }
            guard let diffID = try unpack.finish() else { throw ImageError(.storage, "no snapshot was made") }
            return diffID
        }
    }
}
