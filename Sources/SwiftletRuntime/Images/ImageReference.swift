/// A container image reference, normalised as Docker and containerd do:
/// `nginx:1.17-alpine` is `docker.io/library/nginx:1.17-alpine`, a missing tag is `latest`.
public struct ImageReference: Hashable, Sendable, CustomStringConvertible {
    public let registry: String
    public let repository: String
    public let tag: String?
    public let digest: String?

    public init?(_ text: String) {
        guard !text.isEmpty, !text.contains(where: { $0.isWhitespace || $0.isUppercase }) else { return nil }
        var rest = Substring(text)
        var digest: String?
        if let at = rest.firstIndex(of: "@") {
            digest = String(rest[rest.index(after: at)...])
            rest = rest[..<at]
            guard let d = digest, d.contains(":") else { return nil }
        }
        var tag: String?
        if let colon = rest.lastIndex(of: ":"), !rest[colon...].contains("/") {
            tag = String(rest[rest.index(after: colon)...])
            rest = rest[..<colon]
            guard let t = tag, !t.isEmpty else { return nil }
        }
        var parts = rest.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard !parts.isEmpty, parts.allSatisfy({ !$0.isEmpty }) else { return nil }
        // The first part names a registry only if it looks like a host: Docker's rule.
        var registry = "docker.io"
        if parts.count > 1, parts[0].contains(".") || parts[0].contains(":") || parts[0] == "localhost" {
            registry = parts.removeFirst()
        }
        if registry == "docker.io", parts.count == 1 { parts.insert("library", at: 0) }
        self.registry = registry
        self.repository = parts.joined(separator: "/")
        self.tag = tag ?? (digest == nil ? "latest" : nil)
        self.digest = digest
    }

    /// `registry/repository` without tag or digest.
    public var name: String { "\(registry)/\(repository)" }

    public var description: String {
        var text = name
        if let tag { text += ":\(tag)" }
        if let digest { text += "@\(digest)" }
        return text
    }
}
