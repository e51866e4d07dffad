/// Errors that stop the PKI from loading; each names the file or value so the operator can act.
public enum PKIError: Error, CustomStringConvertible, Sendable, Equatable {
    /// A SAN that is neither an IP address nor a well-formed DNS name.
    case invalidName(String)
    /// `ca.crt` exists without a usable `ca.key`. Regenerating would silently invalidate every
    /// kubeconfig and node that trusts the old CA, so this needs a human decision.
    case missingCAKey(path: String)
    /// The key file does not belong to the certificate next to it.
    case keyMismatch(certificatePath: String, keyPath: String)
    /// The file is not a usable PEM certificate, key or CA certificate.
    case invalidFile(path: String, reason: String)

    public var description: String {
        switch self {
        case .invalidName(let name):
            return "invalid certificate subject alternative name \"\(name)\""
        case .missingCAKey(let path):
            return "cluster CA certificate exists but its key \(path) is missing; restore it, or remove the whole tls directory to create a new CA (existing kubeconfigs and nodes will stop trusting the server)"
        case .keyMismatch(let certificatePath, let keyPath):
            return "\(keyPath) is not the private key of \(certificatePath)"
        case .invalidFile(let path, let reason):
            return "\(path): \(reason)"
        }
    }
}
