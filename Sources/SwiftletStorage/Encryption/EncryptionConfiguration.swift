import Crypto
import Foundation
import _CryptoExtras

/// Encryption at rest as kube-apiserver does it (`--encryption-provider-config`): an
/// EncryptionConfiguration names, per resource, providers in order; the first one encrypts
/// what is written, and any of them may decrypt what is read. Stored values carry upstream's
/// prefix (`k8s:enc:aesgcm:v1:KEYNAME:`), so a value written without encryption (no prefix)
/// still reads, and `identity` may be listed to say so.
///
/// Providers: `aesgcm` (AES-256-GCM, a fresh 12-byte nonce per write, the storage key as
/// additional data, as upstream binds a value to its key), `aescbc` (AES-CBC with PKCS#7
/// padding and a fresh IV, k3s's default), and `identity`.
public struct EncryptionConfiguration: Sendable, Equatable {
    public enum Provider: Sendable, Equatable {
        case aesgcm([Key])
        case aescbc([Key])
        case identity

        var name: String {
            switch self {
            case .aesgcm: return "aesgcm"
            case .aescbc: return "aescbc"
            case .identity: return "identity"
            }
        }

        var keys: [Key] {
            switch self {
            case .aesgcm(let keys), .aescbc(let keys): return keys
            case .identity: return []
            }
        }
    }

    public struct Key: Sendable, Equatable {
        public var name: String
        /// 16, 24 or 32 bytes.
        public var secret: [UInt8]

        public init(name: String, secret: [UInt8]) {
            self.name = name
            self.secret = secret
        }

        public static func generate(name: String) -> Key {
            Key(name: name, secret: SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) })
        }
    }

    /// Storage key prefixes (`/secrets/`) and their providers.
    public var resources: [(prefixes: [String], providers: [Provider])]

    public init(resources: [(prefixes: [String], providers: [Provider])]) {
        self.resources = resources
    }

    public static func == (a: EncryptionConfiguration, b: EncryptionConfiguration) -> Bool {
        a.resources.count == b.resources.count
            && zip(a.resources, b.resources).allSatisfy { $0.prefixes == $1.prefixes && $0.providers == $1.providers }
    }

    /// The providers for a storage key; nil when its resource is not encrypted.
    func providers(for key: String) -> [Provider]? {
        resources.first { $0.prefixes.contains { key.hasPrefix($0) } }?.providers
    }

    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    // MARK: Values

    static let prefix = "k8s:enc:"

    /// The stored form of `plaintext` at `key`.
    func encrypt(_ plaintext: [UInt8], key storageKey: String) throws -> [UInt8] {
        guard let provider = providers(for: storageKey)?.first, let key = provider.keys.first else { return plaintext }
        let header = Array("\(Self.prefix)\(provider.name):v1:\(key.name):".utf8)
        let symmetric = SymmetricKey(data: key.secret)
        switch provider {
        case .aesgcm:
            let sealed = try AES.GCM.seal(plaintext, using: symmetric, authenticating: Array(storageKey.utf8))
            return header + Array(sealed.nonce) + Array(sealed.ciphertext) + Array(sealed.tag)
        case .aescbc:
            let iv = try AES._CBC.IV(ivBytes: (0..<16).map { _ in UInt8.random(in: 0...255) })
            return header + Array(iv) + Array(try AES._CBC.encrypt(plaintext, using: symmetric, iv: iv))
        case .identity:
            return plaintext
        }
    }

    /// The plaintext of a stored value: decrypted with the key its prefix names, or as it is
    /// when it has none.
    func decrypt(_ stored: [UInt8], key storageKey: String) throws -> [UInt8] {
        guard stored.starts(with: Array(Self.prefix.utf8)) else { return stored }
        // `k8s:enc:PROVIDER:v1:KEY:` then binary, read as bytes: as text, a colon followed by
        // bytes that decode to a combining mark would be one character, and no separator.
        let colons = stored.prefix(256).indices.filter { stored[$0] == UInt8(ascii: ":") }.prefix(5)
        guard colons.count == 5 else { throw Failure("\(storageKey): unreadable encryption prefix") }
        func field(_ index: Int) -> String {
            String(decoding: stored[(colons[colons.startIndex + index - 1] + 1)..<colons[colons.startIndex + index]], as: UTF8.self)
        }
        guard field(3) == "v1" else { throw Failure("\(storageKey): unreadable encryption prefix") }
        let providerName = field(2), keyName = field(4)
        let body = Array(stored[(colons[colons.startIndex + 4] + 1)...])
        let candidates = (providers(for: storageKey) ?? []).filter { $0.name == providerName }
        guard let provider = candidates.first(where: { $0.keys.contains { $0.name == keyName } }),
              let key = provider.keys.first(where: { $0.name == keyName }) else {
            throw Failure("\(storageKey) is encrypted with \(providerName) key \"\(keyName)\", which the encryption configuration does not have")
        }
        let symmetric = SymmetricKey(data: key.secret)
        switch provider {
        case .aesgcm:
            guard body.count >= 28 else { throw Failure("\(storageKey): encrypted value too short") }
            let box = try AES.GCM.SealedBox(nonce: AES.GCM.Nonce(data: body.prefix(12)), ciphertext: body.dropFirst(12).dropLast(16),
                                            tag: body.suffix(16))
            return Array(try AES.GCM.open(box, using: symmetric, authenticating: Array(storageKey.utf8)))
        case .aescbc:
            guard body.count >= 32 else { throw Failure("\(storageKey): encrypted value too short") }
            return Array(try AES._CBC.decrypt(body.dropFirst(16), using: symmetric, iv: AES._CBC.IV(ivBytes: body.prefix(16))))
        case .identity:
            return body
        }
    }

    /// Whether a stored value is encrypted with the key that encrypts new writes.
    func isCurrent(_ stored: [UInt8], key storageKey: String) -> Bool {
        guard let provider = providers(for: storageKey)?.first else { return true }
        guard let key = provider.keys.first else { return !stored.starts(with: Array(Self.prefix.utf8)) }
        return stored.starts(with: Array("\(Self.prefix)\(provider.name):v1:\(key.name):".utf8))
    }

    // MARK: The file

    /// Reads upstream's `apiserver.config.k8s.io/v1` EncryptionConfiguration, in JSON.
    public static func parse(_ data: Data) throws -> EncryptionConfiguration {
        guard let root = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              root["kind"] as? String == "EncryptionConfiguration", let entries = root["resources"] as? [[String: Any]] else {
            throw Failure("not an apiserver.config.k8s.io/v1 EncryptionConfiguration")
        }
        var resources: [(prefixes: [String], providers: [Provider])] = []
        for entry in entries {
            let names = entry["resources"] as? [String] ?? []
            var providers: [Provider] = []
            for provider in entry["providers"] as? [[String: Any]] ?? [] {
                func keys(_ name: String) throws -> [Key] {
                    let list = (provider[name] as? [String: Any])?["keys"] as? [[String: Any]] ?? []
                    return try list.map { key in
                        guard let keyName = key["name"] as? String, !keyName.isEmpty, !keyName.contains(":"),
                              let secret = (key["secret"] as? String).flatMap({ Data(base64Encoded: $0) }),
                              [16, 24, 32].contains(secret.count) else {
                            throw Failure("\(name) keys need a name (without ':') and a base64 secret of 16, 24 or 32 bytes")
                        }
                        return Key(name: keyName, secret: Array(secret))
                    }
                }
                if provider["aesgcm"] != nil { providers.append(.aesgcm(try keys("aesgcm"))) }
                else if provider["aescbc"] != nil { providers.append(.aescbc(try keys("aescbc"))) }
                else if provider["identity"] != nil { providers.append(.identity) }
                else { throw Failure("unsupported provider \(provider.keys.sorted()): use aesgcm, aescbc or identity") }
            }
            if let first = providers.first, first != .identity, first.keys.isEmpty { throw Failure("the first provider has no key") }
            resources.append((names.map { "/\($0)/" }, providers))
        }
        return EncryptionConfiguration(resources: resources)
    }

    public func render() -> Data {
        let entries: [[String: Any]] = resources.map { entry in
            [
                "resources": entry.prefixes.map { String($0.dropFirst().dropLast()) },
                "providers": entry.providers.map { provider -> [String: Any] in
                    switch provider {
                    case .identity: return ["identity": [String: Any]()]
                    case .aesgcm(let keys), .aescbc(let keys):
                        return [provider.name: ["keys": keys.map { ["name": $0.name, "secret": Data($0.secret).base64EncodedString()] }]]
                    }
                },
            ]
        }
        let root: [String: Any] = ["apiVersion": "apiserver.config.k8s.io/v1", "kind": "EncryptionConfiguration", "resources": entries]
        return (try? JSONSerialization.data(withJSONObject: root, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])) ?? Data()
    }
}
