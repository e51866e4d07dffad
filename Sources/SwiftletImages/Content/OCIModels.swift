import Foundation

/// A content descriptor: what a manifest or an index points at.
public struct Descriptor: Codable, Sendable, Equatable {
    public var mediaType: String
    public var digest: Digest
    public var size: Int64
    public var platform: Platform?
    public var annotations: [String: String]?
    public var urls: [String]?

    public init(mediaType: String, digest: Digest, size: Int64, platform: Platform? = nil, annotations: [String: String]? = nil) {
        self.mediaType = mediaType
        self.digest = digest
        self.size = size
        self.platform = platform
        self.annotations = annotations
    }
}

/// An OS and CPU an image was built for.
public struct Platform: Codable, Sendable, Equatable, CustomStringConvertible {
    public var architecture: String
    public var os: String
    public var variant: String?

    enum CodingKeys: String, CodingKey {
        case architecture, os, variant
    }

    public init(os: String, architecture: String, variant: String? = nil) {
        self.os = os
        self.architecture = architecture
        self.variant = variant
    }

    public var description: String { [os, architecture, variant].compactMap { $0 }.joined(separator: "/") }

    /// The machine this process runs on, as Go names it (`linux/amd64`, `linux/arm64/v8`).
    public static let current: Platform = {
        #if arch(x86_64)
        return Platform(os: "linux", architecture: "amd64")
        #elseif arch(arm64)
        return Platform(os: "linux", architecture: "arm64", variant: "v8")
        #elseif arch(arm)
        return Platform(os: "linux", architecture: "arm", variant: "v7")
        #else
        return Platform(os: "linux", architecture: "unknown")
        #endif
    }()

    /// Whether an image for `candidate` runs here, as containerd's default matcher decides:
    /// same OS and architecture, and a variant this machine can run (arm64's is v8 when unset;
    /// an arm v7 machine also runs v6 and v5 images).
    public func runs(_ candidate: Platform) -> Bool {
        guard candidate.os == os, Self.normalize(candidate.architecture) == Self.normalize(architecture) else { return false }
        let mine = Self.variant(architecture: architecture, variant)
        let theirs = Self.variant(architecture: candidate.architecture, candidate.variant)
        if mine == theirs || theirs == nil { return true }
        if Self.normalize(architecture) == "arm", let mine, let theirs,
           let m = Int(mine.dropFirst()), let t = Int(theirs.dropFirst()) {
            return t <= m
        }
        return false
    }

    /// How well `candidate` fits, for choosing among several that run: an exact variant first.
    public func preference(_ candidate: Platform) -> Int {
        Self.variant(architecture: candidate.architecture, candidate.variant) == Self.variant(architecture: architecture, variant) ? 0 : 1
    }

    private static func normalize(_ architecture: String) -> String {
        switch architecture {
        case "x86_64", "x86-64": return "amd64"
        case "aarch64": return "arm64"
        case "armhf", "armel": return "arm"
        default: return architecture
        }
    }

    private static func variant(architecture: String, _ variant: String?) -> String? {
        switch normalize(architecture) {
        case "arm64": return variant ?? "v8"
        case "amd64": return variant == "v1" ? nil : variant
        default: return variant
        }
    }
}

/// An image manifest (OCI, or Docker schema 2: the same fields).
public struct ImageManifest: Codable, Sendable, Equatable {
    public var schemaVersion: Int
    public var mediaType: String?
    public var config: Descriptor
    public var layers: [Descriptor]
    public var annotations: [String: String]?

    public init(mediaType: String = MediaType.ociManifest, config: Descriptor, layers: [Descriptor]) {
        schemaVersion = 2
        self.mediaType = mediaType
        self.config = config
        self.layers = layers
    }
}

/// An image index (OCI) or manifest list (Docker): one manifest per platform.
public struct ImageIndex: Codable, Sendable, Equatable {
    public var schemaVersion: Int
    public var mediaType: String?
    public var manifests: [Descriptor]
    public var annotations: [String: String]?

    public init(mediaType: String = MediaType.ociIndex, manifests: [Descriptor]) {
        schemaVersion = 2
        self.mediaType = mediaType
        self.manifests = manifests
    }

    /// The manifest for `platform`: the first that runs there, an exact variant preferred.
    public func manifest(for platform: Platform) -> Descriptor? {
        manifests.enumerated()
            .filter { MediaType.isManifest($0.element.mediaType) && $0.element.platform.map(platform.runs) ?? false }
            .min { (platform.preference($0.element.platform!), $0.offset) < (platform.preference($1.element.platform!), $1.offset) }?
            .element
    }
}

/// The image configuration: how to run it and what its layers unpack to.
public struct ImageConfiguration: Codable, Sendable, Equatable {
    public var architecture: String?
    public var os: String?
    public var variant: String?
    public var config: RunConfig?
    public var rootfs: RootFS

    public struct RunConfig: Codable, Sendable, Equatable {
        public var User: String?
        public var Env: [String]?
        public var Entrypoint: [String]?
        public var Cmd: [String]?
        public var WorkingDir: String?
        public var StopSignal: String?
        public var Labels: [String: String]?
        public var ExposedPorts: [String: EmptyObject]?

        public init(User: String? = nil, Env: [String]? = nil, Entrypoint: [String]? = nil, Cmd: [String]? = nil,
                    WorkingDir: String? = nil, StopSignal: String? = nil, Labels: [String: String]? = nil) {
            self.User = User
            self.Env = Env
            self.Entrypoint = Entrypoint
            self.Cmd = Cmd
            self.WorkingDir = WorkingDir
            self.StopSignal = StopSignal
            self.Labels = Labels
        }
    }

    public struct RootFS: Codable, Sendable, Equatable {
        public var type: String
        public var diff_ids: [Digest]

        public init(diffIDs: [Digest]) {
            type = "layers"
            diff_ids = diffIDs
        }
    }

    public struct EmptyObject: Codable, Sendable, Equatable {
        public init() {}
    }

    public init(platform: Platform, config: RunConfig, diffIDs: [Digest]) {
        architecture = platform.architecture
        os = platform.os
        variant = platform.variant
        self.config = config
        rootfs = RootFS(diffIDs: diffIDs)
    }

    public var platform: Platform? {
        guard let os, let architecture else { return nil }
        return Platform(os: os, architecture: architecture, variant: variant)
    }
}

/// JSON for the store and for manifests it writes itself: sorted keys, so equal content gives equal digests.
enum CanonicalJSON {
    static func encode(_ value: some Encodable) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return Array((try? encoder.encode(value)) ?? Data())
    }

    static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8], what: String) throws(ImageError) -> T {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        do {
            return try decoder.decode(type, from: Data(bytes))
        } catch {
            throw ImageError(.invalidContent, "invalid \(what): \(Self.reason(error))")
        }
    }

    private static func reason(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, let context):
            return "missing \(Self.path(context.codingPath + [key]))"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            return "wrong type at \(Self.path(context.codingPath))"
        case DecodingError.dataCorrupted(let context):
            return context.codingPath.isEmpty ? "not JSON" : "\(context.debugDescription) at \(Self.path(context.codingPath))"
        default:
            return "\(error)"
        }
    }

    private static func path(_ keys: [any CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? "." + $0.stringValue }.joined()
    }
}
