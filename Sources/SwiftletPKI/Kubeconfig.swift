import Foundation

/// A kubeconfig for the cluster: the server, its CA, and one user who authenticates with a
/// bearer token (the admin) or a client certificate signed by the cluster CA (`swiftlet kubeconfig`).
///
/// Rendered as hand-written YAML: the shape is fixed and tiny, and every value is emitted as a
/// double-quoted scalar, so no YAML library is needed and no value can change the structure.
public struct Kubeconfig: Sendable, Equatable {
    /// `https://host:port`; see ``serverURL(host:port:)``.
    public var server: String
    public var certificateAuthorityPEM: String
    public var credential: Credential
    public var clusterName = "swiftlet"
    public var userName = "swiftlet-admin"
    public var contextName = "swiftlet"
    public var namespace = "default"

    public enum Credential: Sendable, Equatable {
        case token(String)
        case clientCertificate(certificatePEM: String, keyPEM: String)
    }

    public init(server: String, certificateAuthorityPEM: String, token: String) {
        self.init(server: server, certificateAuthorityPEM: certificateAuthorityPEM, credential: .token(token))
    }

    public init(server: String, certificateAuthorityPEM: String, credential: Credential) {
        self.server = server
        self.certificateAuthorityPEM = certificateAuthorityPEM
        self.credential = credential
    }

    /// Builds the server URL clients should use for a bind address.
    ///
    /// A wildcard bind (`0.0.0.0`, `::`, empty) is not an address a client can dial, so it becomes
    /// `127.0.0.1` (covered by the serving certificate). IPv6 literals get brackets.
    public static func serverURL(host: String, port: Int) -> String {
        var host = host
        if host.isEmpty || host == "0.0.0.0" || host == "::" || host == "[::]" { host = "127.0.0.1" }
        if host.contains(":") && !host.hasPrefix("[") { host = "[\(host)]" }
        return "https://\(host):\(port)"
    }

    public func render() -> String {
        let caData = Data(certificateAuthorityPEM.utf8).base64EncodedString()
        let user: String
        switch credential {
        case .token(let token):
            user = "    token: \(quote(token))"
        case .clientCertificate(let certificatePEM, let keyPEM):
            user = """
                    client-certificate-data: \(quote(Data(certificatePEM.utf8).base64EncodedString()))
                    client-key-data: \(quote(Data(keyPEM.utf8).base64EncodedString()))
                """
        }
        return """
            apiVersion: v1
            kind: Config
            preferences: {}
            clusters:
            - name: \(quote(clusterName))
              cluster:
                server: \(quote(server))
                certificate-authority-data: \(quote(caData))
            users:
            - name: \(quote(userName))
              user:
            \(user)
            contexts:
            - name: \(quote(contextName))
              context:
                cluster: \(quote(clusterName))
                user: \(quote(userName))
                namespace: \(quote(namespace))
            current-context: \(quote(contextName))

            """
    }

    /// Writes the kubeconfig atomically with mode 0600 (it holds an admin credential), creating
    /// missing parent directories with 0700. Atomic so a `kubectl` running concurrently never
    /// reads a truncated file.
    /// Writes the file (mode 0600), unless it already holds exactly this: a server restarting
    /// on a full disk must not fail on a file it would leave as it is.
    public func write(to path: String) throws {
        let contents = render()
        if (try? SecureFiles.readIfExists(path)) == contents, (try? SecureFiles.mode(of: path)) == 0o600 { return }
        try SecureFiles.writeAtomically(path, contents: contents, mode: 0o600)
    }

    /// A YAML double-quoted scalar; escapes only what double-quoted YAML requires.
    private func quote(_ value: String) -> String {
        var result = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\t": result += "\\t"
            case "\r": result += "\\r"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7f {
                    result += "\\x" + String(format: "%02x", scalar.value)
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result + "\""
    }
}
