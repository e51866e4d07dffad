/// A container image reference, parsed and normalised as Docker's reference grammar and
/// containerd do: `nginx:1.17-alpine` is `docker.io/library/nginx:1.17-alpine`, a reference
/// with neither tag nor digest gets `latest`.
public struct ImageReference: Hashable, Sendable, CustomStringConvertible {
    /// The registry host, with its port if any: `docker.io`, `127.0.0.1:5000`.
    public let registry: String
    /// The repository path within the registry: `library/nginx`.
    public let repository: String
    public let tag: String?
    public let digest: Digest?

    public init?(_ text: String) {
        guard !text.isEmpty, text.utf8.count <= 512 else { return nil }
        var rest = Substring(text)
        var digest: Digest?
        if let at = rest.firstIndex(of: "@") {
            guard let parsed = Digest(String(rest[rest.index(after: at)...])) else { return nil }
            digest = parsed
            rest = rest[..<at]
        }
        var tag: String?
        if let colon = rest.lastIndex(of: ":"), !rest[colon...].contains("/") {
            let candidate = rest[rest.index(after: colon)...]
            guard Self.isTag(candidate) else { return nil }
            tag = String(candidate)
            rest = rest[..<colon]
        }
        var parts = rest.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        // The first part names a registry only if it looks like a host: Docker's rule.
        var registry = "docker.io"
        if parts.count > 1, parts[0].contains(".") || parts[0].contains(":") || parts[0] == "localhost" {
            guard Self.isDomain(parts[0]) else { return nil }
            registry = parts.removeFirst()
        }
        if registry == "index.docker.io" { registry = "docker.io" }
        guard !parts.isEmpty, parts.allSatisfy(Self.isPathComponent) else { return nil }
        if registry == "docker.io", parts.count == 1 { parts.insert("library", at: 0) }
        let repository = parts.joined(separator: "/")
        guard repository.utf8.count + registry.utf8.count < 256 else { return nil }
        self.registry = registry
        self.repository = repository
        self.tag = tag ?? (digest == nil ? "latest" : nil)
        self.digest = digest
    }

    public init(registry: String, repository: String, tag: String?, digest: Digest?) {
        self.registry = registry
        self.repository = repository
        self.tag = tag
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

    /// What a pull asks the registry for: the digest when there is one, else the tag.
    public var manifestReference: String { digest?.description ?? tag ?? "latest" }

    /// The same repository at another digest.
    public func pinned(to digest: Digest) -> ImageReference {
        ImageReference(registry: registry, repository: repository, tag: nil, digest: digest)
    }

    /// A path component: lowercase letters and digits, separated by `.`, `_`, `__` or dashes.
    static func isPathComponent(_ part: String) -> Bool {
        let bytes = Array(part.utf8)
        guard let first = bytes.first, let last = bytes.last, isAlnum(first), isAlnum(last) else { return false }
        var index = 0
        while index < bytes.count {
            if isAlnum(bytes[index]) {
                index += 1
                continue
            }
            // A separator: ".", "_", "__", or one or more "-".
            var end = index
            if bytes[index] == UInt8(ascii: "-") {
                while end < bytes.count, bytes[end] == UInt8(ascii: "-") { end += 1 }
            } else if bytes[index] == UInt8(ascii: ".") {
                end += 1
            } else if bytes[index] == UInt8(ascii: "_") {
                end += 1
                if end < bytes.count, bytes[end] == UInt8(ascii: "_") { end += 1 }
            } else {
                return false
            }
            guard end < bytes.count, isAlnum(bytes[end]) else { return false }
            index = end
        }
        return true
    }

    /// `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
    static func isTag(_ tag: Substring) -> Bool {
        let bytes = Array(tag.utf8)
        guard let first = bytes.first, bytes.count <= 128, isWord(first) else { return false }
        return bytes.allSatisfy { isWord($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
    }

    /// A host name or IPv4 address (labels of letters, digits and dashes), or a bracketed IPv6
    /// address, with an optional port.
    static func isDomain(_ domain: String) -> Bool {
        var host = Substring(domain)
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return false }
            let address = host[host.index(after: host.startIndex)..<close]
            guard !address.isEmpty, address.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else { return false }
            host = host[host.index(after: close)...]
            if host.isEmpty { return true }
            guard host.hasPrefix(":") else { return false }
            return isPort(host.dropFirst())
        }
        if let colon = host.lastIndex(of: ":") {
            guard isPort(host[host.index(after: colon)...]) else { return false }
            host = host[..<colon]
        }
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        return !labels.isEmpty && labels.allSatisfy { label in
            let bytes = Array(label.utf8)
            guard let first = bytes.first, let last = bytes.last, isAlnumAnyCase(first), isAlnumAnyCase(last) else { return false }
            return bytes.allSatisfy { isAlnumAnyCase($0) || $0 == UInt8(ascii: "-") }
        }
    }

    private static func isPort(_ text: Substring) -> Bool {
        !text.isEmpty && text.count <= 5 && text.allSatisfy(\.isASCII) && text.allSatisfy(\.isNumber)
    }

    private static func isAlnum(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    private static func isAlnumAnyCase(_ byte: UInt8) -> Bool {
        isAlnum(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    }

    private static func isWord(_ byte: UInt8) -> Bool {
        isAlnumAnyCase(byte) || byte == UInt8(ascii: "_")
    }
}
