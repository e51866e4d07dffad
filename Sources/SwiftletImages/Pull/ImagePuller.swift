import Foundation
import NIOCore
import SwiftletOffload

/// What a pull reports as it goes, for `swiftlet images pull`'s progress lines.
public enum PullEvent: Sendable {
    case resolved(reference: String, digest: Digest)
    /// A layer the store already has.
    case layerPresent(Digest, size: Int64)
    case layerProgress(Digest, received: Int64, total: Int64)
    case layerDone(Digest, size: Int64)
}

/// Pulls images into the store, as containerd's CRI image service does: resolve the
/// reference on the registry's endpoints in order (mirrors first), fetch the index, pick this
/// platform's manifest, fetch the config, then the layers (three at a time), each unpacked
/// into its snapshot while it downloads. Content the store has already is not fetched again,
/// and concurrent pulls of one layer (by two images that share it) fetch it once.
///
/// The references Swiftlet builds itself (`BuiltInImages`) are served from the node, as a
/// local mirror would.
public final class ImagePuller: Sendable {
    public let store: ImageStore
    public let hosts: RegistryHosts
    public let builtIn: BuiltInImages?
    let client: RegistryClient
    let platform: Platform
    let limits: LayerExtractor.Limits
    let maxConcurrentLayers: Int
    private let layers = SingleFlight<Digest, Void>()

    public init(store: ImageStore, registries: RegistriesConfig, builtIn: BuiltInImages?, client: RegistryClient = RegistryClient(),
                platform: Platform = .current, limits: LayerExtractor.Limits = .init(), maxConcurrentLayers: Int = 3) {
        self.store = store
        hosts = RegistryHosts(config: registries)
        self.builtIn = builtIn
        self.client = client
        self.platform = platform
        self.limits = limits
        self.maxConcurrentLayers = maxConcurrentLayers
    }

    /// Pulls `reference`, trying each credential in turn (anonymously when there are none);
    /// returns the stored record. Errors are worded as containerd's (`failed to pull and unpack image …`).
    public func pull(_ reference: ImageReference, credentials: [RegistryCredential] = [],
                     progress: (@Sendable (PullEvent) -> Void)? = nil) async throws(ImageError) -> ImageRecord {
        if let builtIn, BuiltInImages.serves(reference) {
            let store = self.store
            return try await Offload.run { () throws(ImageError) in try builtIn.ensure(reference, in: store) }
        }
        var errors: [ImageError] = []
        for credential in credentials.isEmpty ? [nil] : credentials.map(Optional.some) {
            do throws(ImageError) {
                return try await pull(reference, credential: credential, progress: progress)
            } catch {
                errors.append(error)
                // Only a refusal is worth another credential.
                guard error.kind == .unauthorized else { break }
            }
        }
        guard errors.count > 1 else { throw errors[0] }
        // As the kubelet aggregates the errors of several credentials.
        throw ImageError(errors.last!.kind, "[" + errors.map(\.message).joined(separator: ", ") + "]")
    }

    private func pull(_ reference: ImageReference, credential: RegistryCredential?,
                      progress: (@Sendable (PullEvent) -> Void)?) async throws(ImageError) -> ImageRecord {
        let store = self.store
        let lock = try await Offload.run { () throws(ImageError) in try store.lock("content", exclusive: false) }
        defer { lock.release() }
        do throws(ImageError) {
            let (target, descriptor, body) = try await resolve(reference, credential: credential)
            progress?(.resolved(reference: reference.description, digest: descriptor.digest))
            if let existing = store.image(for: reference.pinned(to: descriptor.digest)), store.isComplete(existing) {
                // The name already stands for this content: nothing to fetch or write.
                if existing.name == reference.description { return existing }
                var record = existing
                record.name = reference.description
                record.pinned = false
                record.created = Date()
                try store.save([record])
                return record
            }
            return try await fetch(reference, target: target, top: descriptor, topBytes: body, progress: progress)
        } catch {
            throw ImageError(error.kind, "failed to pull and unpack image \"\(reference)\": \(error.message)")
        }
    }

    /// The first endpoint that knows the reference. Failures are kept by how telling they
    /// are (a refusal over a 404 over an unreachable mirror), as containerd does.
    private func resolve(_ reference: ImageReference, credential: RegistryCredential?) async throws(ImageError)
        -> (RegistryClient.Target, Descriptor, [UInt8]?) {
        var best: ImageError?
        for endpoint in hosts.endpoints(for: reference) {
            let target = RegistryClient.Target(endpoint: endpoint, repository: reference.repository,
                                               credential: credential ?? endpoint.config?.auth?.credential)
            do throws(ImageError) {
                let (descriptor, body) = try await client.resolve(target, reference: reference.manifestReference, fetchBody: false)
                guard MediaType.isIndex(descriptor.mediaType) || MediaType.isManifest(descriptor.mediaType) else {
                    throw ImageError(.unsupported, "unsupported manifest media type \(descriptor.mediaType)")
                }
                return (target, descriptor, body)
            } catch {
                if best == nil || Self.rank(error) > Self.rank(best!) { best = error }
            }
        }
        let error = best ?? ImageError(.notFound, "not found")
        if error.kind == .notFound && error.message == "not found" {
            throw ImageError(.notFound, "failed to resolve image: \(reference): not found")
        }
        throw ImageError(error.kind, "failed to resolve image: \(error.message)")
    }

    private static func rank(_ error: ImageError) -> Int {
        switch error.kind {
        case .unavailable: return 1
        case .notFound: return 2
        default: return 3
        }
    }

    private func fetch(_ reference: ImageReference, target: RegistryClient.Target, top: Descriptor, topBytes: [UInt8]?,
                       progress: (@Sendable (PullEvent) -> Void)?) async throws(ImageError) -> ImageRecord {
        var manifestDescriptor = top
        var manifestBytes = try await content(top, known: topBytes, target: target)
        if MediaType.isIndex(top.mediaType) {
            let index = try CanonicalJSON.decode(ImageIndex.self, from: manifestBytes, what: "image index \(top.digest)")
            guard let chosen = index.manifest(for: platform) else {
                throw ImageError(.notFound, "no match for platform in manifest: not found (the image has \(index.manifests.compactMap { $0.platform?.description }.joined(separator: ", ")), this node is \(platform))")
            }
            manifestDescriptor = chosen
            manifestBytes = try await content(chosen, known: nil, target: target)
        }
        let manifest = try CanonicalJSON.decode(ImageManifest.self, from: manifestBytes, what: "image manifest \(manifestDescriptor.digest)")
        let configBytes = try await content(manifest.config, known: nil, target: target, limit: ImageStore.maxConfigBytes)
        let configuration = try CanonicalJSON.decode(ImageConfiguration.self, from: configBytes, what: "image config \(manifest.config.digest)")
        if !MediaType.isIndex(top.mediaType), let imagePlatform = configuration.platform, !platform.runs(imagePlatform) {
            throw ImageError(.notFound, "no match for platform in manifest: not found (the image is for \(imagePlatform), this node is \(platform))")
        }
        let diffIDs = configuration.rootfs.diff_ids
        guard diffIDs.count == manifest.layers.count else {
            throw ImageError(.invalidContent, "image config \(manifest.config.digest) lists \(diffIDs.count) layers, its manifest \(manifest.layers.count)")
        }
        let layers = zip(manifest.layers, diffIDs).map { ImageRecord.Layer(blob: $0, diffID: $1) }
        for layer in layers where Compression.forLayer(mediaType: layer.blob.mediaType) == nil {
            throw ImageError(.unsupported, "unsupported layer media type \(layer.blob.mediaType)")
        }
        try await fetchLayers(layers, target: target, progress: progress)
        let record = ImageRecord(name: reference.description, target: top, manifest: manifestDescriptor.digest,
                                 config: manifest.config, layers: layers, created: Date())
        try store.save([record])
        return record
    }

    /// A manifest, index or config: from the store if it has it, else fetched (and stored).
    private func content(_ descriptor: Descriptor, known: [UInt8]?, target: RegistryClient.Target,
                         limit: Int = ImageStore.maxManifestBytes) async throws(ImageError) -> [UInt8] {
        if let bytes = try? store.content.read(descriptor.digest, limit: limit) { return bytes }
        let bytes: [UInt8]
        if let known {
            bytes = known
        } else if MediaType.isIndex(descriptor.mediaType) || MediaType.isManifest(descriptor.mediaType) {
            bytes = try await client.manifest(target, descriptor)
        } else {
            bytes = try await client.smallBlob(target, descriptor, limit: limit)
        }
        try store.content.write(bytes, expected: descriptor.digest)
        return bytes
    }

    private func fetchLayers(_ layers: [ImageRecord.Layer], target: RegistryClient.Target,
                             progress: (@Sendable (PullEvent) -> Void)?) async throws(ImageError) {
        let result: Result<Void, ImageError> = await withTaskGroup(of: Result<Void, ImageError>.self) { group in
            var pending = layers[...]
            var running = 0
            var failure: ImageError?
            while failure == nil, let next = pending.popFirst() {
                if running == maxConcurrentLayers, let done = await group.next() {
                    running -= 1
                    if case .failure(let error) = done {
                        failure = error
                        break
                    }
                }
                running += 1
                group.addTask {
                    await self.layers.run(next.diffID) {
                        do throws(ImageError) {
                            return .success(try await self.fetchLayer(next, target: target, progress: progress))
                        } catch {
                            return .failure(error)
                        }
                    }
                }
            }
            for await done in group {
                if failure == nil, case .failure(let error) = done { failure = error }
            }
            return failure.map { .failure($0) } ?? .success(())
        }
        try result.get()
    }

    /// One layer: nothing if blob and snapshot are there; an unpack if only the blob is;
    /// otherwise a download that is stored and unpacked as it arrives.
    private func fetchLayer(_ layer: ImageRecord.Layer, target: RegistryClient.Target,
                            progress: (@Sendable (PullEvent) -> Void)?) async throws(ImageError) {
        let store = self.store
        let limits = self.limits
        let hasBlob = store.content.contains(layer.blob.digest)
        let hasSnapshot = store.snapshot(layer.diffID) != nil
        if hasBlob && hasSnapshot {
            progress?(.layerPresent(layer.blob.digest, size: layer.blob.size))
            return
        }
        if hasBlob {
            try await Offload.run { () throws(ImageError) in _ = try LayerUnpack.unpack(store: store, layer: layer, limits: limits) }
            progress?(.layerDone(layer.blob.digest, size: layer.blob.size))
            return
        }
        guard let compression = Compression.forLayer(mediaType: layer.blob.mediaType) else {
            throw ImageError(.unsupported, "unsupported layer media type \(layer.blob.mediaType)")
        }
        let blobLimit = limits.maxBytes
        // The snapshot directory (when the store lacks it) and the unpacker are made, fed and
        // finished on Dispatch threads; the bytes arrive on the event loop.
        let (pending, box) = try await Offload.run { () throws(ImageError) -> (PendingSnapshot?, UnpackBox) in
            let pending = hasSnapshot ? nil : try store.beginSnapshot()
            let writer = try BlobWriter(store: store.content, expected: layer.blob.digest, expectedSize: layer.blob.size, limit: blobLimit)
            let unpack = try LayerUnpack(blob: writer, compression: compression, snapshotDirectory: pending?.directory, limits: limits)
            return (pending, UnpackBox(unpack))
        }
        do throws(ImageError) {
            var batch = ByteBuffer()
            var received: Int64 = 0
            try await client.blob(target, layer.blob) { (chunk) throws(ImageError) in
                var chunk = chunk
                batch.writeBuffer(&chunk)
                guard batch.readableBytes >= Self.batchBytes else { return }
                received += Int64(batch.readableBytes)
                try await Self.write(batch, to: box)
                batch.clear()
                progress?(.layerProgress(layer.blob.digest, received: received, total: layer.blob.size))
            }
            if batch.readableBytes > 0 { try await Self.write(batch, to: box) }
            try await Offload.run { () throws(ImageError) in
                let diffID = try box.unpack.finish()
                if let pending, let diffID { _ = try store.commitSnapshot(pending, diffID: layer.diffID, computed: diffID) }
            }
            progress?(.layerDone(layer.blob.digest, size: layer.blob.size))
        } catch {
            await Offload.run {
                box.unpack.abort()
                if let pending { store.abandonSnapshot(pending) }
            }
            throw error
        }
    }

    /// Downloaded bytes are unpacked a megabyte at a time: fewer hops between threads, and
    /// longer runs for the decompressor.
    static let batchBytes = 1 << 20

    private static func write(_ bytes: ByteBuffer, to box: UnpackBox) async throws(ImageError) {
        try await Offload.run { () throws(ImageError) in
            try bytes.withUnsafeReadableBytes { raw in Result { () throws(ImageError) in try box.unpack.write(raw) } }.get()
        }
    }
}

/// Hands the (non-Sendable) unpacker between threads; only one of them uses it at a time.
private final class UnpackBox: @unchecked Sendable {
    let unpack: LayerUnpack
    init(_ unpack: LayerUnpack) { self.unpack = unpack }
}

extension ImageStore {
    /// The record for a reference: by name, or for a digest reference, any record of the
    /// same repository whose target is that digest.
    public func image(for reference: ImageReference) -> ImageRecord? {
        if let exact = record(named: reference.description) { return exact }
        guard let digest = reference.digest else { return nil }
        return records().first { $0.target.digest == digest && ImageReference($0.name)?.name == reference.name }
    }
}
