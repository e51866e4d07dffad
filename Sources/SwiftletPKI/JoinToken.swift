import Crypto
import Foundation

/// A node join token in k3s's secure form, `K10<sha256 of the CA certificate>::node:<secret>`:
/// besides the secret the agent authenticates with, it carries the hash of the cluster CA, so
/// an agent on a machine without the CA can fetch it from the server and check that it is the
/// cluster's before trusting anything the server says. A bare secret (the older form) still
/// works with `--ca-file`.
public struct JoinToken: Sendable, Equatable {
    /// Lower-case hex SHA-256 of the CA certificate's PEM bytes, as the server serves them at `/cacerts`.
    public var caHash: String?
    public var secret: String

    public init(caHash: String?, secret: String) {
        self.caHash = caHash
        self.secret = secret
    }

    public init(caCertificatePEM: String, secret: String) {
        self.init(caHash: Self.hash(Array(caCertificatePEM.utf8)), secret: secret)
    }

    /// Reads either form; nil for text that is neither (an empty secret, a K10 token without `::`).
    public init?(_ text: String) {
        let text = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.hasPrefix("K10") else {
            guard !text.isEmpty, !text.contains(where: \.isWhitespace) else { return nil }
            self.init(caHash: nil, secret: text)
            return
        }
        guard let separator = text.range(of: "::") else { return nil }
        let hash = String(text[text.index(text.startIndex, offsetBy: 3)..<separator.lowerBound])
        let credentials = text[separator.upperBound...]
        // `user:password`; the password is the secret.
        let secret = credentials.firstIndex(of: ":").map { String(credentials[credentials.index(after: $0)...]) } ?? String(credentials)
        guard hash.count == 64, hash.allSatisfy(\.isHexDigit), !secret.isEmpty else { return nil }
        self.init(caHash: hash.lowercased(), secret: secret)
    }

    public var text: String {
        caHash.map { "K10\($0)::node:\(secret)" } ?? secret
    }

    public static func hash(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }
}
