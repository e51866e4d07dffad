import Foundation

/// One place an image's content can be fetched from: a mirror or the registry itself.
public struct RegistryEndpoint: Sendable, Equatable, CustomStringConvertible {
    public var scheme: String
    /// `host` or `host:port`.
    public var host: String
    /// The API root: `/v2`, or a mirror's own path.
    public var path: String
    /// A mirror is told which registry it stands in for (`?ns=docker.io`), as containerd does.
    public var namespace: String?
    /// Mirror rewrites of the repository path, applied in order; the first that changes it wins.
    public var rewrites: [Rewrite]
    public var config: RegistriesConfig.HostConfig?
    /// A registry on a loopback address without TLS settings, as Docker and containerd treat one:
    /// plain HTTP first, HTTPS if it turns out to speak only that.
    public var plainHTTPFirst: Bool

    public struct Rewrite: Sendable, Equatable {
        public var pattern: String
        public var replacement: String
    }

    public var description: String { "\(scheme)://\(host)\(path)" }

    /// The repository as this endpoint names it.
    public func repository(_ repository: String) -> String {
        for rewrite in rewrites {
            guard let expression = try? NSRegularExpression(pattern: rewrite.pattern) else { continue }
            let range = NSRange(repository.startIndex..., in: repository)
            let rewritten = expression.stringByReplacingMatches(in: repository, range: range,
                                                                withTemplate: Self.template(rewrite.replacement))
            if rewritten != repository { return rewritten }
        }
        return repository
    }

    /// `<scheme>://<host><path>/<repository>/<kind>/<reference>[?ns=<registry>]`.
    func url(scheme: String? = nil, repository: String, kind: String, reference: String) -> String {
        var url = "\(scheme ?? self.scheme)://\(host)\(path)/\(self.repository(repository))/\(kind)/\(reference)"
        if let namespace { url += "?ns=" + namespace }
        return url
    }

    /// Go's `${1}` is ICU's `$1`.
    private static func template(_ replacement: String) -> String {
        replacement.replacingOccurrences(of: #"\$\{([0-9]+)\}"#, with: "\\$$1", options: .regularExpression)
    }
}

/// Where to fetch an image from, as containerd configured by k3s's registries.yaml decides:
/// the registry's mirror endpoints in order (or those of `"*"`), then the registry itself
/// (`registry-1.docker.io` for `docker.io`).
public struct RegistryHosts: Sendable {
    public let config: RegistriesConfig

    public init(config: RegistriesConfig) {
        self.config = config
    }

    public func endpoints(for reference: ImageReference) -> [RegistryEndpoint] {
        let registry = reference.registry
        let defaultHost = registry == "docker.io" ? "registry-1.docker.io" : registry
        let loopback = Self.isLoopback(defaultHost)
        var endpoints: [RegistryEndpoint] = []
        let mirror = config.mirrors[registry] ?? config.mirrors["*"]
        let rewrites = (mirror?.rewrite ?? [:]).sorted { $0.key < $1.key }
            .map { RegistryEndpoint.Rewrite(pattern: $0.key, replacement: $0.value) }
        for text in mirror?.endpoint ?? [] {
            guard var endpoint = Self.endpoint(text) else { continue }
            endpoint.config = hostConfig(endpoint.host)
            if endpoint.host != defaultHost {
                endpoint.namespace = registry
                endpoint.rewrites = rewrites
            }
            if !endpoints.contains(where: { $0.description == endpoint.description }) { endpoints.append(endpoint) }
        }
        let defaultConfig = hostConfig(defaultHost)
        let upstream = RegistryEndpoint(scheme: "https", host: defaultHost, path: "/v2", namespace: nil, rewrites: [],
                                        config: defaultConfig, plainHTTPFirst: loopback && defaultConfig?.tls == nil)
        if !endpoints.contains(where: { $0.host == upstream.host && $0.path == upstream.path && $0.namespace == nil }) {
            endpoints.append(upstream)
        }
        return endpoints
    }

    /// A mirror endpoint as k3s normalises it: no scheme means plain HTTP for a loopback host
    /// with a port other than 443, else HTTPS; an empty path, `/` or `/v2` is the API root `/v2`.
    static func endpoint(_ text: String) -> RegistryEndpoint? {
        let withScheme = text.contains("://") ? text : "//" + text
        guard let components = URLComponents(string: withScheme), var host = components.host, !host.isEmpty else { return nil }
        if host.contains(":") && !host.hasPrefix("[") { host = "[\(host)]" }
        if host == "docker.io" { host = "registry-1.docker.io" }
        let hostPort = components.port.map { "\(host):\($0)" } ?? host
        var scheme = components.scheme ?? ""
        if scheme.isEmpty {
            scheme = isLoopback(hostPort) && components.port != nil && components.port != 443 ? "http" : "https"
        }
        guard scheme == "http" || scheme == "https" else { return nil }
        var path = components.path
        if path.isEmpty || path == "/" || path == "/v2" || path == "/v2/" { path = "/v2" }
        while path.hasSuffix("/") { path.removeLast() }
        return RegistryEndpoint(scheme: scheme, host: hostPort, path: path, namespace: nil, rewrites: [], config: nil,
                                plainHTTPFirst: false)
    }

    /// Settings for a host: its own, for Docker Hub's API host those written for `docker.io`, else `"*"`'s.
    func hostConfig(_ host: String) -> RegistriesConfig.HostConfig? {
        if let own = config.configs[host] { return own }
        if host == "registry-1.docker.io", let hub = config.configs["docker.io"] ?? config.configs["index.docker.io"] { return hub }
        return config.configs["*"]
    }

    /// localhost, 127.0.0.0/8 or ::1, with or without a port.
    public static func isLoopback(_ hostPort: String) -> Bool {
        var host = hostPort
        if host.hasPrefix("[") {
            host = String(host.dropFirst().prefix { $0 != "]" })
        } else if let colon = host.lastIndex(of: ":") {
            host = String(host[..<colon])
        }
        if host == "localhost" || host == "::1" { return true }
        let octets = host.split(separator: ".")
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
    }
}
