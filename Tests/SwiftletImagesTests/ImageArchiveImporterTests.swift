import Foundation
import Glibc
import Testing
@testable import SwiftletImages
import SwiftletTestSupport

/// Image archives as `ctr images export` (an OCI image layout) and `docker save` write them.
enum TestArchive {
    /// An OCI image layout: `oci-layout`, `index.json` naming each top descriptor, `blobs/sha256/`.
    static func ociLayout(_ tops: [(descriptor: Descriptor, name: String)], blobs: [[UInt8]]) throws -> [UInt8] {
        try tarBytes { tar in
            try tar.file("oci-layout", contents: Array(#"{"imageLayoutVersion":"1.0.0"}"#.utf8))
            try tar.directory("blobs/sha256")
            var seen = Set<Digest>()
            for blob in blobs where seen.insert(Digest(hashing: blob)).inserted {
                try tar.file("blobs/sha256/" + Digest(hashing: blob).hex, contents: blob)
            }
            let manifests = tops.map { top in
                var descriptor = top.descriptor
                descriptor.annotations = ["io.containerd.image.name": top.name,
                                          "org.opencontainers.image.ref.name": String(top.name.split(separator: ":").last!)]
                return descriptor
            }
            try tar.file("index.json", contents: CanonicalJSON.encode(ImageIndex(manifests: manifests)))
        }
    }

    static func blobs(of image: TestImage) -> [[UInt8]] {
        [image.manifest, image.config] + image.layers.map(\.blob)
    }

    /// `docker save` of images with uncompressed layers: a `<id>/layer.tar` per layer, and a
    /// layer already written for an earlier image as a symbolic link to that one.
    static func dockerSave(_ images: [(TestImage, tags: [String])]) throws -> [UInt8] {
        try tarBytes { tar in
            var written: [Digest: String] = [:]
            var entries: [[String: Any]] = []
            for (index, (image, tags)) in images.enumerated() {
                var layerPaths: [String] = []
                for (number, layer) in image.layers.enumerated() {
                    // As docker names them: an id per image and position, not per content.
                    let path = "\(index)\(number)" + String(layer.descriptor.digest.hex.prefix(20)) + "/layer.tar"
                    if let first = written[layer.descriptor.digest] {
                        try tar.symlink(path, target: "../" + first)
                    } else {
                        try tar.file(path, contents: layer.blob)
                        written[layer.descriptor.digest] = path
                    }
                    layerPaths.append(path)
                }
                let configPath = image.configDescriptor.digest.hex + ".json"
                try tar.file(configPath, contents: image.config)
                entries.append(["Config": configPath, "RepoTags": tags, "Layers": layerPaths])
            }
            try tar.file("manifest.json", contents: Array(try JSONSerialization.data(withJSONObject: entries)))
            try tar.file("repositories", contents: Array("{}".utf8))
        }
    }
}

@Suite(.blockingWork) struct ImageArchiveImporterTests {
    static let amd64 = Platform(os: "linux", architecture: "amd64")

    static func importer(_ directory: TemporaryDirectory) throws -> ImageArchiveImporter {
        ImageArchiveImporter(store: try ImageStore(root: directory.path + "/store"), platform: amd64)
    }

    /// Every layer of `record` is unpacked, and the topmost holds `file` with `text`.
    static func expectUnpacked(_ store: ImageStore, _ record: ImageRecord, file: String, text: String,
                               sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(store.isComplete(record), sourceLocation: sourceLocation)
        let top = store.lowerDirectories(record)?.first ?? ""
        #expect(contents(top + "/" + file) == text, sourceLocation: sourceLocation)
    }

    @Test(arguments: ["tar", "tar.gz", "tar.zst"])
    func importsAnOCILayout(format: String) throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let app = try TestImage(layers: [["etc/base": "base"], ["app": "gzip layer"]])
        let zstdImage = try TestImage(layers: [["tool": "zstd layer"]], compression: .zstd)
        var archive = try TestArchive.ociLayout([(app.manifestDescriptor, "example.com/app:1.0"),
                                                 (zstdImage.manifestDescriptor, "docker.io/library/tool:2")],
                                                blobs: TestArchive.blobs(of: app) + TestArchive.blobs(of: zstdImage))
        switch format {
        case "tar.gz": archive = try gzip(archive)
        case "tar.zst": archive = try zstd(archive)
        default: break
        }
        let path = directory.write("images." + format, archive)
        let importer = try Self.importer(directory)
        let records = try importer.importArchive(path)

        #expect(records.map(\.name) == ["example.com/app:1.0", "docker.io/library/tool:2"])
        #expect(records[0].target.digest == app.manifestDescriptor.digest)
        #expect(records[0].config == app.configDescriptor)
        #expect(records[0].layers.map(\.diffID) == app.layers.map(\.diffID))
        #expect(records[1].layers.map(\.blob.mediaType) == [MediaType.ociLayerZstd])
        Self.expectUnpacked(importer.store, records[0], file: "app", text: "gzip layer")
        Self.expectUnpacked(importer.store, records[1], file: "tool", text: "zstd layer")
        #expect(Set(importer.store.records().map(\.name)) == ["example.com/app:1.0", "docker.io/library/tool:2"])
    }

    @Test func anOCILayoutWithAnIndexGivesThisPlatformsImage() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let amd64 = try TestImage(layers: [["arch": "amd64"]])
        let arm64 = try TestImage(layers: [["arch": "arm64"]], platform: Platform(os: "linux", architecture: "arm64"))
        var amd64Entry = amd64.manifestDescriptor
        amd64Entry.platform = Self.amd64
        var arm64Entry = arm64.manifestDescriptor
        arm64Entry.platform = Platform(os: "linux", architecture: "arm64")
        let index = CanonicalJSON.encode(ImageIndex(manifests: [arm64Entry, amd64Entry]))
        let indexDescriptor = Descriptor(mediaType: MediaType.ociIndex, digest: Digest(hashing: index), size: Int64(index.count))
        let archive = try TestArchive.ociLayout([(indexDescriptor, "example.com/multi:1")],
                                                blobs: [index] + TestArchive.blobs(of: amd64) + TestArchive.blobs(of: arm64))
        let importer = try Self.importer(directory)
        let records = try importer.importArchive(directory.write("multi.tar", archive))
        #expect(records.count == 1)
        #expect(records.first?.target == indexDescriptor.withAnnotations(of: records.first?.target))
        #expect(records.first?.manifest == amd64.manifestDescriptor.digest)
        Self.expectUnpacked(importer.store, try #require(records.first), file: "arch", text: "amd64")
        #expect(importer.store.snapshot(arm64.layers[0].diffID) == nil)
    }

    @Test(arguments: ["tar", "tar.gz", "tar.zst"])
    func importsADockerSaveArchive(format: String) throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let first = try TestImage(layers: [["etc/base": "shared"], ["app": "first"]], compression: .none)
        let second = try TestImage(layers: [["etc/base": "shared"], ["app": "second"]], compression: .none)
        var archive = try TestArchive.dockerSave([(first, ["app:1.0", "example.com/app:latest"]), (second, ["other:2"])])
        // The second image's base is a link to the first's, as docker writes a repeated layer.
        #expect(try readTar(archive).contains { $0.header.kind == .symlink && $0.header.linkName.hasPrefix("../") })
        switch format {
        case "tar.gz": archive = try gzip(archive)
        case "tar.zst": archive = try zstd(archive)
        default: break
        }
        let importer = try Self.importer(directory)
        let records = try importer.importArchive(directory.write("saved." + format, archive))

        #expect(records.map(\.name) == ["docker.io/library/app:1.0", "example.com/app:latest", "docker.io/library/other:2"])
        #expect(records[0].target == records[1].target)
        #expect(records[0].config.digest == first.configDescriptor.digest)
        #expect(records[2].config.digest == second.configDescriptor.digest)
        #expect(records[0].layers.map(\.blob.digest) == first.layers.map(\.descriptor.digest))
        #expect(records[2].layers.map(\.blob.digest) == second.layers.map(\.descriptor.digest))
        #expect(records.allSatisfy { $0.layers.allSatisfy { $0.blob.mediaType == MediaType.ociLayer } })
        #expect(records[2].layers.map(\.diffID) == second.layers.map(\.diffID))
        // The manifest the importer wrote is in the store, and describes the image.
        let manifest = try CanonicalJSON.decode(ImageManifest.self, from: importer.store.content.read(records[0].target.digest, limit: 1 << 20),
                                                what: "manifest")
        #expect(manifest.layers.map(\.digest) == first.layers.map(\.descriptor.digest))
        Self.expectUnpacked(importer.store, records[0], file: "app", text: "first")
        Self.expectUnpacked(importer.store, records[2], file: "app", text: "second")
        #expect(importer.store.lowerDirectories(records[0])?.last == importer.store.lowerDirectories(records[2])?.last)
    }

    @Test func archivesThatAreNotImagesAreRefused() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let importer = try Self.importer(directory)
        let notAnImage = try tarBytes { tar in try tar.file("hello.txt", contents: Array("hi".utf8)) }
        let helloPath = directory.write("hello.tar", notAnImage)
        let error = imageError { () throws(ImageError) in _ = try importer.importArchive(helloPath) }
        #expect(error?.kind == .unsupported)
        #expect(error?.message.contains("neither a docker save archive (no manifest.json) nor an OCI image layout (no oci-layout)") == true)

        let truncated = Array(try gzip(try TestArchive.dockerSave([(try TestImage(layers: [["a": "b"]], compression: .none), ["a:1"])])).dropLast(20))
        let truncatedPath = directory.write("cut.tar.gz", truncated)
        #expect(imageError { () throws(ImageError) in _ = try importer.importArchive(truncatedPath) }?.kind == .invalidContent)
        #expect(importer.store.records().isEmpty)
    }

    @Test func anArchiveWhoseContentIsNotWhatItSaysIsRefused() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let importer = try Self.importer(directory)
        let image = try TestImage(layers: [["a": "b"]])

        // A blob whose name is not its digest.
        let misnamed = try tarBytes { tar in
            try tar.file("oci-layout", contents: Array(#"{"imageLayoutVersion":"1.0.0"}"#.utf8))
            try tar.file("blobs/sha256/" + image.manifestDescriptor.digest.hex, contents: image.config)
        }
        let misnamedPath = directory.write("misnamed.tar", misnamed)
        #expect(imageError { () throws(ImageError) in _ = try importer.importArchive(misnamedPath) }?.kind == .invalidContent)

        // A config whose diff id is not the layer's.
        var lying = try TestImage(layers: [["a": "b"]], compression: .none)
        lying.config = CanonicalJSON.encode(ImageConfiguration(platform: Self.amd64, config: .init(),
                                                               diffIDs: [Digest(hashing: Array("not the layer".utf8))]))
        lying.configDescriptor = Descriptor(mediaType: MediaType.ociConfig, digest: Digest(hashing: lying.config), size: Int64(lying.config.count))
        let lyingPath = directory.write("lying.tar", try TestArchive.dockerSave([(lying, ["lying:1"])]))
        let error = imageError { () throws(ImageError) in _ = try importer.importArchive(lyingPath) }
        #expect(error?.kind == .invalidContent)
        #expect(error?.message.contains("diff id mismatch") == true)

        // An image for another platform.
        let arm = try TestImage(layers: [["a": "b"]], platform: Platform(os: "linux", architecture: "arm64"), compression: .none)
        let armPath = directory.write("arm.tar", try TestArchive.dockerSave([(arm, ["arm:1"])]))
        let armError = imageError { () throws(ImageError) in _ = try importer.importArchive(armPath) }
        #expect(armError?.kind == .unsupported)
        #expect(importer.store.records().isEmpty)
    }

    @Test func theAirgapFolderImportsEachArchiveOnce() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let importer = try Self.importer(directory)
        let images = directory.directory("images")
        let archive = try TestArchive.dockerSave([(try TestImage(layers: [["app": "airgap"]], compression: .none), ["airgap:1"])])
        let path = directory.write("images/airgap.tar", archive)
        _ = directory.write("images/README.txt", Array("not an archive".utf8))
        _ = directory.write("images/broken.tar.gz", Array("not gzip".utf8))
        let airgap = AirgapImages(directory: images, importer: importer)

        let first = airgap.importNew()
        #expect(first.map(\.file) == [images + "/airgap.tar", images + "/broken.tar.gz"])
        #expect((try? first[0].result?.get())?.map(\.name) == ["docker.io/library/airgap:1"])
        #expect(importer.store.record(named: "docker.io/library/airgap:1") != nil)
        guard case .failure = first[1].result else {
            Issue.record("a broken archive was imported")
            return
        }

        // Skipped once imported; a failed one is tried again.
        let second = airgap.importNew()
        #expect(second[0].result == nil)
        guard case .failure = second[1].result else {
            Issue.record("a broken archive was skipped")
            return
        }

        // A replaced archive (another modification time) is imported again.
        var times = [timespec(tv_sec: 1_000_000, tv_nsec: 0), timespec(tv_sec: 1_000_000, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, path, &times, 0) == 0)
        #expect((try? airgap.importNew()[0].result?.get())?.map(\.name) == ["docker.io/library/airgap:1"])
    }
}

extension Descriptor {
    /// This descriptor with another's annotations (the importer keeps the index.json entry's).
    func withAnnotations(of other: Descriptor?) -> Descriptor {
        var copy = self
        copy.annotations = other?.annotations
        return copy
    }
}
