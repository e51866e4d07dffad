#if canImport(Glibc)
import Glibc
#endif

public enum ServiceProxyError: Error, Equatable, CustomStringConvertible {
    /// The configuration cannot describe a working proxy (bad table name, CIDR...).
    case invalidConfiguration(String)
    /// A command exited non-zero.
    case commandFailed(command: String, status: Int32, stderr: String)
    /// A system call failed; `operation` says what we were doing.
    case system(operation: String, errno: Int32)
    /// The rules are applied, but UDP flows to removed endpoints may linger until conntrack expires them.
    indirect case conntrackCleanupFailed(ServiceProxyError)

    public var description: String {
        switch self {
        case .invalidConfiguration(let message):
            return "invalid service proxy configuration: \(message)"
        case .commandFailed(let command, let status, let stderr):
            let output = stderr.split(whereSeparator: \.isNewline).joined(separator: " ")
            return "`\(command)` failed (exit status \(status))" + (output.isEmpty ? "" : ": \(output)")
        case .system(let operation, let code):
            return "\(operation): \(String(cString: strerror(code)))"
        case .conntrackCleanupFailed(let cause):
            return "the Service rules are applied, but deleting stale UDP conntrack entries failed: \(cause)"
        }
    }
}
