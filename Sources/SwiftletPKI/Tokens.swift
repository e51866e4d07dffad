import Crypto

/// Generation, storage and checking of bearer secrets.
public enum Tokens {
    /// `byteCount` random bytes from the system CSPRNG as lower-case hex (64 chars for 32 bytes):
    /// 256 bits cannot be guessed, and hex survives shells, YAML and HTTP headers unquoted.
    public static func generate(byteCount: Int = 32) -> String {
        var generator = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(byteCount * 2)
        for _ in 0..<byteCount {
            let byte = UInt8.random(in: .min ... .max, using: &generator)
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// Returns the token stored at `path`, creating it (mode 0600) on first use.
    ///
    /// An existing non-empty file is trusted as-is, so an operator may pre-seed a token of their
    /// own choosing (as with k3s `--token`). Surrounding whitespace is ignored because such files
    /// are often written with `echo`.
    public static func loadOrCreate(at path: String) throws -> String {
        if let stored = try SecureFiles.readIfExists(path) {
            let token = stored.trimmingWhitespace()
            if !token.isEmpty {
                try SecureFiles.setMode(path, 0o600)
                return token
            }
        }
        let token = generate()
        try SecureFiles.writeAtomically(path, contents: token + "\n", mode: 0o600)
        return token
    }

    /// Compares a presented token with the expected one in time independent of where they differ.
    ///
    /// Both sides are hashed first, so neither the position of the first mismatch nor the
    /// expected token's length leaks through response timing. An empty expected token never
    /// matches, so an unconfigured secret cannot be satisfied by an empty header.
    public static func matches(_ presented: String, _ expected: String) -> Bool {
        let a = SHA256.hash(data: Array(presented.utf8))
        let b = SHA256.hash(data: Array(expected.utf8))
        var difference: UInt8 = 0
        for (x, y) in zip(a, b) { difference |= x ^ y }
        return difference == 0 && !expected.isEmpty
    }

    /// Extracts the token from an `Authorization: Bearer <token>` header value (scheme
    /// case-insensitive, per RFC 7235), or nil if the header uses another scheme.
    public static func bearerToken(fromAuthorization header: String) -> String? {
        let trimmed = header.trimmingWhitespace()
        guard trimmed.count > 7, trimmed.prefix(7).lowercased() == "bearer " else { return nil }
        let token = String(trimmed.dropFirst(7)).trimmingWhitespace()
        return token.isEmpty ? nil : token
    }
}

/// The server's two shared secrets: the admin token (full access, written into the admin
/// kubeconfig) and the node join token (lets an agent register). Kept apart so the join token
/// can be handed to machines without granting cluster-admin.
public struct ClusterTokens: Sendable, Equatable {
    public let adminToken: String
    /// The secret agents authenticate with.
    public let nodeToken: String
    /// What `DATA_DIR/node-token` holds and `swiftlet agent --token` takes: the secret with the
    /// CA's hash (`K10…::node:SECRET`).
    public let joinToken: JoinToken

    /// Loads `DIR/tls/admin.token` and `DIR/node-token`, creating each on first start. A
    /// node-token holding only a secret (written before tokens carried the CA's hash) is
    /// rewritten in the secure form with the same secret, so agents that have it keep working.
    public static func loadOrCreate(dataDirectory: String, caCertificatePEM: String) throws -> ClusterTokens {
        let layout = PKILayout(dataDirectory: dataDirectory)
        try SecureFiles.createDirectory(layout.dataDirectory, mode: 0o700)
        try SecureFiles.createDirectory(layout.tlsDirectory, mode: 0o700)
        let stored = try Tokens.loadOrCreate(at: layout.nodeTokenPath)
        guard let parsed = JoinToken(stored) else {
            throw PKIError.invalidFile(path: layout.nodeTokenPath, reason: "not a join token (K10<hash>::node:<secret>, or a secret)")
        }
        let join = JoinToken(caCertificatePEM: caCertificatePEM, secret: parsed.secret)
        if parsed != join { try SecureFiles.writeAtomically(layout.nodeTokenPath, contents: join.text + "\n", mode: 0o600) }
        return ClusterTokens(adminToken: try Tokens.loadOrCreate(at: layout.adminTokenPath), nodeToken: join.secret, joinToken: join)
    }
}
