import Crypto
import Foundation

/// k3s's node passwords: each agent keeps a random password in its data dir and shows it when it
/// asks for its node's certificates; the server remembers a salted hash per node name, so the
/// join token alone cannot take over a node that has joined. The passwords are 256 random bits,
/// which no guessing reaches, so one round of SHA-256 over salt and password suffices.
public enum NodePasswords {
    /// `sha256$<salt hex>$<digest hex>`.
    public static func hash(_ password: String, salt: String = Tokens.generate(byteCount: 16)) -> String {
        "sha256$\(salt)$\(digest(salt: salt, password: password))"
    }

    /// Whether `password` is the one `stored` was made from; the comparison takes the same time
    /// wherever the two differ.
    public static func verify(_ password: String, against stored: String) -> Bool {
        let parts = stored.split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "sha256" else { return false }
        return Tokens.matches(digest(salt: String(parts[1]), password: password), String(parts[2]))
    }

    private static func digest(salt: String, password: String) -> String {
        SHA256.hash(data: Data((salt + "$" + password).utf8)).map { String(format: "%02x", $0) }.joined()
    }
}
