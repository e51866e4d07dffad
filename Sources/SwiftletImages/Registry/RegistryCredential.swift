import Foundation

/// A username and password (or, with an empty username, an identity token) for a registry.
public struct RegistryCredential: Sendable, Hashable, CustomStringConvertible {
    public var username: String
    public var password: String

    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }

    /// `base64(username:password)`, as Docker's config files store `auth`.
    public init?(base64: String) {
        let trimmed = base64.trimmingCharacters(in: .whitespaces)
        var padded = trimmed
        while padded.count % 4 != 0 { padded += "=" }
        guard let data = Data(base64Encoded: padded), let text = String(data: data, encoding: .utf8),
              let colon = text.firstIndex(of: ":") else { return nil }
        username = String(text[..<colon])
        password = String(text[text.index(after: colon)...]).trimmingCharacters(in: CharacterSet(charactersIn: "\0"))
    }

    var basicAuthorization: String {
        "Basic " + Data("\(username):\(password)".utf8).base64EncodedString()
    }

    /// Never the password: credentials show up in logs and errors only by user.
    public var description: String { username.isEmpty ? "identity token" : "user \(username)" }
}

/// The credentials of a pod's image pull secrets, matched to images as the kubelet's keyring
/// does: `kubernetes.io/dockerconfigjson` (`{"auths": {KEY: {...}}}`) and the legacy
/// `kubernetes.io/dockercfg` (the inner map alone). Keys are registry hosts with an optional
/// path prefix and `*` wildcards per host label; `https://index.docker.io/v1/` and friends are
/// normalised to the host.
public struct DockerKeyring: Sendable, Equatable {
    struct Entry: Sendable, Equatable {
        var key: String
        var credential: RegistryCredential
    }

    private(set) var entries: [Entry] = []

    public init() {}

    public var isEmpty: Bool { entries.isEmpty }

    /// Adds a Docker config's `auths` map (or a dockercfg map). Entries that cannot be read are skipped.
    public mutating func add(dockerConfigJSON data: [UInt8], legacy: Bool = false) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(data)) as? [String: Any] else { return }
        let auths = legacy ? object : (Self.value(object, "auths") as? [String: Any] ?? [:])
        for (key, value) in auths {
            guard let entry = value as? [String: Any] else { continue }
            var credential: RegistryCredential?
            if let auth = Self.value(entry, "auth") as? String, !auth.isEmpty {
                credential = RegistryCredential(base64: auth)
            } else if let username = Self.value(entry, "username") as? String {
                credential = RegistryCredential(username: username, password: Self.value(entry, "password") as? String ?? "")
            }
            guard let credential, let normalized = Self.normalize(key) else { continue }
            entries.append(Entry(key: normalized, credential: credential))
        }
        // More specific keys first, as the kubelet sorts them.
        entries.sort { $0.key > $1.key }
    }

    /// The credentials to try for an image, in order; empty means pull anonymously.
    public func credentials(for reference: ImageReference) -> [RegistryCredential] {
        let image = reference.name
        var found = entries.filter { Self.matches(key: $0.key, image: image) }.map(\.credential)
        if found.isEmpty, reference.registry == "docker.io" {
            found = entries.filter { $0.key == "index.docker.io" }.map(\.credential)
        }
        var unique: [RegistryCredential] = []
        for credential in found where !unique.contains(credential) { unique.append(credential) }
        return unique
    }

    /// Go's JSON field matching is case-insensitive.
    private static func value(_ object: [String: Any], _ key: String) -> Any? {
        object[key] ?? object.first { $0.key.lowercased() == key }?.value
    }

    static func normalize(_ key: String) -> String? {
        var text = key
        if !text.hasPrefix("http://") && !text.hasPrefix("https://") { text = "https://" + text }
        guard let url = URL(string: text), let host = url.host, !host.isEmpty else { return nil }
        // URL's path drops a trailing slash, which Go's keeps: `/v1/` must become `/`, the host alone.
        var path = URLComponents(string: text)?.path ?? url.path
        if path.hasPrefix("/v1/") || path.hasPrefix("/v2/") { path = String(path.dropFirst(3)) }
        let hostPort = url.port.map { "\(host):\($0)" } ?? host
        return path.isEmpty || path == "/" ? hostPort : hostPort + path
    }

    /// Same port, same number of host labels each matching (`*` within a label), and the key's
    /// path a prefix of the image's.
    static func matches(key: String, image: String) -> Bool {
        guard let keyURL = URL(string: "https://" + key), let imageURL = URL(string: "https://" + image),
              let keyHost = keyURL.host, let imageHost = imageURL.host else { return false }
        guard keyURL.port == imageURL.port else { return false }
        let keyLabels = keyHost.split(separator: ".", omittingEmptySubsequences: false)
        let imageLabels = imageHost.split(separator: ".", omittingEmptySubsequences: false)
        guard keyLabels.count == imageLabels.count,
              zip(keyLabels, imageLabels).allSatisfy({ glob(String($0), String($1)) }) else { return false }
        return imageURL.path.hasPrefix(keyURL.path)
    }

    /// `*` and `?` within one label, as Go's filepath.Match (by dynamic programming, so a
    /// pattern full of stars costs no more than its length times the label's).
    static func glob(_ pattern: String, _ text: String) -> Bool {
        let p = Array(pattern)
        let t = Array(text)
        // matched[j]: the pattern so far matches the first j characters of the text.
        var matched = [Bool](repeating: false, count: t.count + 1)
        matched[0] = true
        for c in p {
            var next = [Bool](repeating: false, count: t.count + 1)
            if c == "*" {
                var any = false
                for j in 0...t.count {
                    any = any || matched[j]
                    next[j] = any
                }
            } else {
                for j in 0..<t.count where matched[j] && (c == "?" || c == t[j]) { next[j + 1] = true }
            }
            matched = next
        }
        return matched[t.count]
    }
}
