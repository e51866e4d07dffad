import Foundation

/// What the store knows of one image name: the content it resolved to and how to run it.
/// Several names may share content (a tag and a digest reference, two tags).
public struct ImageRecord: Codable, Sendable, Equatable {
    /// The normalised reference, `docker.io/library/nginx:1.17-alpine` or `…@sha256:…`.
    public var name: String
    /// What the name resolved to: an index for a multi-platform image, else a manifest. Its
    /// digest is the repo digest Kubernetes reports as the container's `imageID`.
    public var target: Descriptor
    /// This platform's manifest (the target itself for a single-platform image).
    public var manifest: Digest
    public var config: Descriptor
    /// Bottom layer first, as the manifest lists them.
    public var layers: [Layer]
    /// When the name was stored (pulled or imported).
    public var created: Date
    /// Never removed by garbage collection (the built-in images).
    public var pinned: Bool

    public struct Layer: Codable, Sendable, Equatable {
        /// The layer as distributed (usually compressed).
        public var blob: Descriptor
        /// The digest of the uncompressed tar: the snapshot's name.
        public var diffID: Digest

        public init(blob: Descriptor, diffID: Digest) {
            self.blob = blob
            self.diffID = diffID
        }
    }

    public init(name: String, target: Descriptor, manifest: Digest, config: Descriptor, layers: [Layer],
                created: Date, pinned: Bool = false) {
        self.name = name
        self.target = target
        self.manifest = manifest
        self.config = config
        self.layers = layers
        self.created = created
        self.pinned = pinned
    }

    /// The image's id as crictl shows it: its config's digest.
    public var id: Digest { config.digest }

    /// `repository@sha256:…`: what Kubernetes reports as `imageID` and lists in the node's images.
    public var repoDigest: String {
        let reference = ImageReference(name)
        return (reference?.name ?? name) + "@" + target.digest.description
    }

    /// The bytes the image's content takes as distributed: manifest, config and layers, as
    /// containerd and the kubelet report an image's size.
    public var size: Int64 {
        config.size + layers.reduce(0) { $0 + $1.blob.size } + (target.digest == manifest ? target.size : 0)
    }

    /// Every blob the record needs kept.
    var blobs: [Digest] {
        [target.digest, manifest, config.digest] + layers.map(\.blob.digest)
    }
}

/// The file that holds every record: small, rewritten whole through a rename.
struct ImageRecordFile: Codable {
    var images: [ImageRecord]
}
