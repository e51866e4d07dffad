import Foundation

/// One `WWW-Authenticate` challenge: `Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`.
struct AuthChallenge: Sendable, Equatable {
    var scheme: String
    var parameters: [String: String]

    var realm: String? { parameters["realm"] }

    /// Every challenge in the headers, Bearer first, then Basic (what containerd prefers).
    static func parse(_ headers: [String]) -> [AuthChallenge] {
        var challenges: [AuthChallenge] = []
        for header in headers { challenges += parseHeader(header) }
        return challenges.sorted { rank($0.scheme) < rank($1.scheme) }
    }

    private static func rank(_ scheme: String) -> Int {
        switch scheme {
        case "bearer": return 0
        case "basic": return 1
        default: return 2
        }
    }

    /// RFC 7235: `scheme param=value, param="quoted \" value", … [, other-scheme …]`.
    static func parseHeader(_ header: String) -> [AuthChallenge] {
        var challenges: [AuthChallenge] = []
        let chars = Array(header)
        var index = 0
        func skipSpaces() { while index < chars.count, chars[index] == " " || chars[index] == "\t" || chars[index] == "," { index += 1 } }
        func token() -> String {
            let start = index
            while index < chars.count, !" \t,=".contains(chars[index]) { index += 1 }
            return String(chars[start..<index])
        }
        while index < chars.count {
            skipSpaces()
            let scheme = token().lowercased()
            guard !scheme.isEmpty else { break }
            var parameters: [String: String] = [:]
            while index < chars.count {
                skipSpaces()
                let save = index
                let key = token().lowercased()
                guard index < chars.count, chars[index] == "=", !key.isEmpty else {
                    // Not a parameter: the start of the next challenge.
                    index = save
                    break
                }
                index += 1
                var value = ""
                if index < chars.count, chars[index] == "\"" {
                    index += 1
                    while index < chars.count, chars[index] != "\"" {
                        if chars[index] == "\\", index + 1 < chars.count { index += 1 }
                        value.append(chars[index])
                        index += 1
                    }
                    index += 1
                } else {
                    value = token()
                }
                parameters[key] = value
            }
            challenges.append(AuthChallenge(scheme: scheme, parameters: parameters))
        }
        return challenges
    }
}

/// Bearer tokens by host, scope and credential, kept until they expire (never, when the token
/// server says nothing of it, as containerd does). The credential is part of the key: a token
/// one pod's pull secret obtained is never used for another pod's pull.
actor TokenCache {
    private var tokens: [String: (token: String, expires: ContinuousClock.Instant?)] = [:]
    /// Hosts that asked for Basic authentication.
    private var basicHosts: Set<String> = []

    static func key(host: String, scope: String, credential: RegistryCredential?) -> String {
        let who = credential.map { $0.username + ":" + Digest(hashing: Array($0.password.utf8)).short } ?? "-"
        return host + " " + scope + " " + who
    }

    func token(_ key: String) -> String? {
        guard let entry = tokens[key] else { return nil }
        if let expires = entry.expires, expires <= .now {
            tokens[key] = nil
            return nil
        }
        return entry.token
    }

    func store(_ key: String, token: String, expiresIn: Int?) {
        // A little early, so a token is never sent just as it expires.
        let expires = expiresIn.flatMap { $0 > 0 ? ContinuousClock.now + .seconds(max($0 - 10, 1)) : nil }
        tokens[key] = (token, expires)
    }

    func forget(_ key: String) {
        tokens[key] = nil
    }

    func usesBasic(_ host: String) -> Bool { basicHosts.contains(host) }

    func markBasic(_ host: String) { basicHosts.insert(host) }
}
