/// Why an image operation failed, worded for the pod's waiting message and the CLI.
public struct ImageError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The reference cannot be parsed (the kubelet's InvalidImageName).
        case invalidReference
        /// The registry has no such repository, tag or blob.
        case notFound
        /// Credentials were missing or refused.
        case unauthorized
        /// The registry could not be reached or answered with a server error.
        case unavailable
        /// Content that does not match its digest, a malformed manifest or archive, a hostile layer.
        case invalidContent
        /// Content larger than the store accepts.
        case tooLarge
        /// A media type, platform or archive format Swiftlet cannot use.
        case unsupported
        /// The local filesystem failed (no space, permissions).
        case storage
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }

    /// Whether trying again later may succeed: a registry that is down or rate-limiting.
    public var isTransient: Bool { kind == .unavailable }
}
