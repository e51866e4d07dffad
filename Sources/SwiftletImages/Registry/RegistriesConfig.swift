import Foundation
import Yams

/// `DATA_DIR/registries.yaml`, in k3s's format:
///
///     mirrors:
///       docker.io:
///         endpoint: ["https://mirror.example.com", "http://127.0.0.1:5000"]
///         rewrite: {"^library/(.*)": "mirrored/$1"}
///     configs:
///       mirror.example.com:
///         auth: {username: u, password: p}        # or auth: base64(u:p), or identitytoken
///         tls: {ca_file: /path, cert_file: /path, key_file: /path, insecure_skip_verify: false}
///
/// A mirror's endpoints are tried in order, then the registry itself. `"*"` holds mirrors and
/// configs for every registry without its own. A missing file is an empty configuration.
public struct RegistriesConfig: Sendable, Equatable, Decodable {
    public var mirrors: [String: Mirror] = [:]
    public var configs: [String: HostConfig] = [:]

    public struct Mirror: Sendable, Equatable, Decodable {
        public var endpoint: [String]?
        public var rewrite: [String: String]?

        public init(endpoint: [String]? = nil, rewrite: [String: String]? = nil) {
            self.endpoint = endpoint
            self.rewrite = rewrite
        }
    }

    public struct HostConfig: Sendable, Equatable, Decodable {
        public var auth: Auth?
        public var tls: TLS?

        public init(auth: Auth? = nil, tls: TLS? = nil) {
            self.auth = auth
            self.tls = tls
        }
    }

    public struct Auth: Sendable, Equatable, Decodable {
        public var username: String?
        public var password: String?
        public var auth: String?
        public var identitytoken: String?

        public init(username: String? = nil, password: String? = nil, auth: String? = nil, identitytoken: String? = nil) {
            self.username = username
            self.password = password
            self.auth = auth
            self.identitytoken = identitytoken
        }

        /// Username and password win over an identity token, which wins over `auth`, as containerd reads them.
        public var credential: RegistryCredential? {
            if let username, !username.isEmpty { return RegistryCredential(username: username, password: password ?? "") }
            if let identitytoken, !identitytoken.isEmpty { return RegistryCredential(username: "", password: identitytoken) }
            if let auth, let decoded = RegistryCredential(base64: auth) { return decoded }
            return nil
        }
    }

    public struct TLS: Sendable, Equatable, Decodable {
        public var ca_file: String?
        public var cert_file: String?
        public var key_file: String?
        public var insecure_skip_verify: Bool?

        public init(ca_file: String? = nil, cert_file: String? = nil, key_file: String? = nil, insecure_skip_verify: Bool? = nil) {
            self.ca_file = ca_file
            self.cert_file = cert_file
            self.key_file = key_file
            self.insecure_skip_verify = insecure_skip_verify
        }
    }

    public init(mirrors: [String: Mirror] = [:], configs: [String: HostConfig] = [:]) {
        self.mirrors = mirrors
        self.configs = configs
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        mirrors = try container.decodeIfPresent([String: Mirror].self, forKey: .mirrors) ?? [:]
        configs = try container.decodeIfPresent([String: HostConfig].self, forKey: .configs) ?? [:]
    }

    enum CodingKeys: String, CodingKey {
        case mirrors, configs
    }

    /// Parses the YAML text; errors name the file and what is wrong, so the agent can refuse to start with them.
    public static func parse(_ text: String, file: String = "registries.yaml") throws(ImageError) -> RegistriesConfig {
        if text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return RegistriesConfig() }
        let config: RegistriesConfig
        do {
            config = try YAMLDecoder().decode(RegistriesConfig.self, from: text)
        } catch {
            throw ImageError(.invalidContent, "\(file): \(error)")
        }
        for (pattern, _) in config.mirrors.values.flatMap({ $0.rewrite ?? [:] }) {
            guard (try? NSRegularExpression(pattern: pattern)) != nil else {
                throw ImageError(.invalidContent, "\(file): invalid rewrite pattern \"\(pattern)\"")
            }
        }
        return config
    }

    /// The file at `path`, or an empty configuration when there is none.
    public static func load(path: String) throws(ImageError) -> RegistriesConfig {
        guard FileManager.default.fileExists(atPath: path) else { return RegistriesConfig() }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ImageError(.storage, "cannot read \(path)")
        }
        return try parse(String(decoding: data, as: UTF8.self), file: path)
    }
}
