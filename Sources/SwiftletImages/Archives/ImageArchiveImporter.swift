import Foundation
import Glibc

/// Imports image archives into the store, as `k3s ctr images import` and k3s's airgap folder
/// do: `docker save` tarballs (`manifest.json`) and OCI image layouts (`oci-layout`,
/// `index.json`, `blobs/`), plain, gzip- or zstd-compressed. Every file of the archive is read
/// once, straight into the content store (so a layer is hashed and stored in one pass); the
/// images it describes are then checked, unpacked and recorded.
public struct ImageArchiveImporter: Sendable {
    public let store: ImageStore
    public let platform: Platform
    public let limits: LayerExtractor.Limits

    public init(store: ImageStore, platform: Platform = .current, limits: LayerExtractor.Limits = .init()) {
        self.store = store
        self.platform = platform
        self.limits = limits
    }

    /// Imports one archive; returns the records it made. `progress` hears of each layer unpacked.
    public func importArchive(_ path: String, progress: ((PullEvent) -> Void)? = nil) throws(ImageError) -> [ImageRecord] {
        try store.withContentLock { () throws(ImageError) -> [ImageRecord] in
            let files = try readArchive(path)
            let records: [ImageRecord]
            if files.metadata["oci-layout"] != nil {
                records = try ociImages(files, archive: path)
            } else if let manifest = files.metadata["manifest.json"] {
                records = try dockerImages(files, manifest: manifest, archive: path)
            } else {
                throw ImageError(.unsupported, "\(path) is neither a docker save archive (no manifest.json) nor an OCI image layout (no oci-layout)")
            }
            guard !records.isEmpty else { throw ImageError(.invalidContent, "\(path) holds no named image") }
            for record in records {
                for layer in record.layers {
                    if store.snapshot(layer.diffID) == nil {
                        _ = try LayerUnpack.unpack(store: store, layer: layer, limits: limits)
                    }
                    progress?(.layerDone(layer.blob.digest, size: layer.blob.size))
                }
            }
            try store.save(records)
            return records
        }
    }

    // MARK: - Reading the archive

    /// What the archive holds: small metadata files in memory, every other file as a blob.
    struct ArchiveFiles {
        var metadata: [String: [UInt8]] = [:]
        var blobs: [String: (digest: Digest, size: Int64)] = [:]
        var links: [String: String] = [:]

        /// A file by path, following the symbolic links `docker save` uses for repeated layers.
        func blob(_ path: String) -> (digest: Digest, size: Int64)? {
            var current = Self.clean(path)
            for _ in 0..<8 {
                if let blob = blobs[current] { return blob }
                guard let target = links[current] else { return nil }
                current = target.hasPrefix("/") ? Self.clean(target)
                    : Self.clean((current as NSString).deletingLastPathComponent + "/" + target)
            }
            return nil
        }

        static func clean(_ path: String) -> String {
            var parts: [Substring] = []
            for part in path.split(separator: "/") where part != "." {
                if part == ".." { _ = parts.popLast() } else { parts.append(part) }
            }
            return parts.joined(separator: "/")
        }
    }

    func readArchive(_ path: String) throws(ImageError) -> ArchiveFiles {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ImageError(.storage, "cannot open \(path): \(FileSystem.errorText())") }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 256 * 1024)
        var first = true
        var decompressor: Decompressor?
        let collector = ArchiveCollector(content: store.content, maxFileBytes: limits.maxBytes)
        let tar = TarReader(consumer: collector)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n < 0, errno == EINTR { continue }
            guard n >= 0 else { throw ImageError(.storage, "cannot read \(path): \(FileSystem.errorText())") }
            if n == 0 { break }
            if first {
                decompressor = try Decompressor(Compression.detect(buffer[0..<min(n, 4)]), limit: Int64.max)
                first = false
            }
            try FileSystem.withBytes(buffer) { (all) throws(ImageError) in
                try decompressor!.feed(UnsafeRawBufferPointer(rebasing: all[0..<n])) { (plain) throws(ImageError) in try tar.feed(plain) }
            }
        }
        try decompressor?.finish()
        try tar.finish()
        return collector.files
    }

    // MARK: - OCI image layouts

    private func ociImages(_ files: ArchiveFiles, archive: String) throws(ImageError) -> [ImageRecord] {
        guard let indexBytes = files.metadata["index.json"] else { throw ImageError(.invalidContent, "\(archive): an OCI layout without index.json") }
        let index = try CanonicalJSON.decode(ImageIndex.self, from: indexBytes, what: "\(archive): index.json")
        var records: [ImageRecord] = []
        for descriptor in index.manifests {
            guard let name = Self.imageName(descriptor.annotations) else { continue }
            records.append(try image(named: name, top: descriptor, archive: archive))
        }
        return records
    }

    /// containerd's name annotation, else the OCI one when it is a whole reference.
    static func imageName(_ annotations: [String: String]?) -> ImageReference? {
        for key in ["io.containerd.image.name", "org.opencontainers.image.ref.name"] {
            if let value = annotations?[key], value.contains("/") || value.contains(":"), let reference = ImageReference(value) {
                return reference
            }
        }
        return nil
    }

    private func image(named name: ImageReference, top: Descriptor, archive: String) throws(ImageError) -> ImageRecord {
        var manifestDescriptor = top
        if MediaType.isIndex(top.mediaType) {
            let index = try CanonicalJSON.decode(ImageIndex.self, from: try blob(top, archive: archive), what: "image index \(top.digest)")
            guard let chosen = index.manifest(for: platform) else {
                throw ImageError(.notFound, "\(archive): \(name) has no image for \(platform)")
            }
            manifestDescriptor = chosen
        }
        let manifest = try CanonicalJSON.decode(ImageManifest.self, from: try blob(manifestDescriptor, archive: archive),
                                                what: "image manifest \(manifestDescriptor.digest)")
        let configuration = try CanonicalJSON.decode(ImageConfiguration.self, from: try blob(manifest.config, archive: archive),
                                                     what: "image config \(manifest.config.digest)")
        return try record(name: name, target: top, manifest: manifestDescriptor.digest, config: manifest.config,
                          configuration: configuration, layers: manifest.layers, archive: archive)
    }

    private func blob(_ descriptor: Descriptor, archive: String) throws(ImageError) -> [UInt8] {
        do {
            return try store.content.read(descriptor.digest, limit: ImageStore.maxConfigBytes)
        } catch {
            throw ImageError(error.kind == .notFound ? .invalidContent : error.kind, "\(archive): \(error.message)")
        }
    }

    private func record(name: ImageReference, target: Descriptor, manifest: Digest, config: Descriptor,
                        configuration: ImageConfiguration, layers: [Descriptor], archive: String) throws(ImageError) -> ImageRecord {
        if let imagePlatform = configuration.platform, !platform.runs(imagePlatform) {
            throw ImageError(.unsupported, "\(archive): \(name) is for \(imagePlatform), this node is \(platform)")
        }
        let diffIDs = configuration.rootfs.diff_ids
        guard diffIDs.count == layers.count else {
            throw ImageError(.invalidContent, "\(archive): \(name) lists \(diffIDs.count) layers in its config and \(layers.count) in its manifest")
        }
        for layer in layers {
            guard store.content.contains(layer.digest) else { throw ImageError(.invalidContent, "\(archive): layer \(layer.digest) of \(name) is missing") }
        }
        return ImageRecord(name: name.description, target: target, manifest: manifest, config: config,
                           layers: zip(layers, diffIDs).map { ImageRecord.Layer(blob: $0, diffID: $1) }, created: Date())
    }

    // MARK: - docker save

    private struct DockerManifestEntry: Decodable {
        var Config: String
        var RepoTags: [String]?
        var Layers: [String]
    }

    private func dockerImages(_ files: ArchiveFiles, manifest: [UInt8], archive: String) throws(ImageError) -> [ImageRecord] {
        let entries = try CanonicalJSON.decode([DockerManifestEntry].self, from: manifest, what: "\(archive): manifest.json")
        var records: [ImageRecord] = []
        for entry in entries {
            guard let configFile = files.blob(entry.Config) else { throw ImageError(.invalidContent, "\(archive): \(entry.Config) is missing") }
            let configBytes = try store.content.read(configFile.digest, limit: ImageStore.maxConfigBytes)
            let configuration = try CanonicalJSON.decode(ImageConfiguration.self, from: configBytes, what: "\(archive): \(entry.Config)")
            var layers: [Descriptor] = []
            for path in entry.Layers {
                guard let layer = files.blob(path) else { throw ImageError(.invalidContent, "\(archive): layer \(path) is missing") }
                let head = FileSystem.readPrefix(store.content.path(layer.digest), count: 4)
                let type = switch Compression.detect(head) {
                case .gzip: MediaType.ociLayerGzip
                case .zstd: MediaType.ociLayerZstd
                case .none: MediaType.ociLayer
                }
                layers.append(Descriptor(mediaType: type, digest: layer.digest, size: layer.size))
            }
            let config = Descriptor(mediaType: MediaType.dockerConfig, digest: configFile.digest, size: configFile.size)
            let manifestBytes = CanonicalJSON.encode(ImageManifest(mediaType: MediaType.ociManifest, config: config, layers: layers))
            let target = Descriptor(mediaType: MediaType.ociManifest, digest: try store.content.write(manifestBytes), size: Int64(manifestBytes.count))
            for tag in entry.RepoTags ?? [] {
                guard let name = ImageReference(tag) else { throw ImageError(.invalidReference, "\(archive): invalid image name \"\(tag)\"") }
                records.append(try record(name: name, target: target, manifest: target.digest, config: config,
                                          configuration: configuration, layers: layers, archive: archive))
            }
        }
        return records
    }
}

/// Sends each file of an archive into the content store, keeping the small metadata files
/// in memory and symbolic links as paths. A blob named `blobs/sha256/<hex>` must match its name.
final class ArchiveCollector: TarEntryConsumer {
    private let content: ContentStore
    private let maxFileBytes: Int64
    private(set) var files = ImageArchiveImporter.ArchiveFiles()
    private var current: (path: String, writer: BlobWriter?, metadata: [UInt8]?)?

    init(content: ContentStore, maxFileBytes: Int64) {
        self.content = content
        self.maxFileBytes = maxFileBytes
    }

    func begin(_ header: TarHeader) throws(ImageError) {
        let path = ImageArchiveImporter.ArchiveFiles.clean(header.name)
        switch header.kind {
        case .file:
            if Self.isMetadata(path) {
                guard header.size <= Int64(ImageStore.maxManifestBytes) else {
                    throw ImageError(.tooLarge, "\(path) in the archive is \(header.size) bytes")
                }
                current = (path, nil, [])
            } else {
                var expected: Digest?
                if path.hasPrefix("blobs/sha256/") { expected = Digest("sha256:" + path.dropFirst("blobs/sha256/".count)) }
                current = (path, try BlobWriter(store: content, expected: expected, expectedSize: expected == nil ? nil : header.size,
                                                limit: maxFileBytes), nil)
            }
        case .symlink, .hardlink:
            files.links[path] = header.kind == .hardlink ? "/" + header.linkName : header.linkName
        default:
            break
        }
    }

    func data(_ bytes: UnsafeRawBufferPointer) throws(ImageError) {
        guard current != nil else { return }
        if let writer = current?.writer {
            try writer.write(bytes)
        } else {
            current?.metadata?.append(contentsOf: bytes)
        }
    }

    func end() throws(ImageError) {
        guard let (path, writer, metadata) = current else { return }
        current = nil
        if let writer {
            let size = writer.bytesWritten
            files.blobs[path] = (try writer.commit(), size)
        } else if let metadata {
            files.metadata[path] = metadata
        }
    }

    private static func isMetadata(_ path: String) -> Bool {
        ["oci-layout", "index.json", "manifest.json", "repositories"].contains(path)
    }
}
