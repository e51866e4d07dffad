import Foundation

public enum PodNetworkError: Error, Equatable, CustomStringConvertible {
    /// The configuration cannot describe a working pod network (bad CIDR, interface name too long...).
    case invalidConfiguration(String)
    /// A command exited non-zero. `failedCommand` is the batch line that failed, or "one of: ..." the batch's lines
    /// when `ip` gave up without saying which (as it does on a bad argument).
    case commandFailed(command: String, failedCommand: String?, status: Int32, stderr: String)
    /// Every address of the pod CIDR's range is recorded for some pod.
    case addressesExhausted(podID: String, range: String)
    /// A system call failed; `operation` says what we were doing.
    case system(operation: String, errno: Int32)

    public var description: String {
        switch self {
        case .invalidConfiguration(let message):
            return "invalid pod network configuration: \(message)"
        case .commandFailed(let command, let failedCommand, let status, let stderr):
            let failing = failedCommand.map { " at \"\($0)\"" } ?? ""
            let output = stderr.trimmingCharacters(in: .whitespacesAndNewlines)
            return "`\(command)` failed\(failing) (exit status \(status))" + (output.isEmpty ? "" : ": \(output)")
        case .addressesExhausted(let podID, let range):
            // The wording of CNI's host-local IPAM, which users search for.
            return "failed to allocate for range 0: no IP addresses available in range set: \(range) (pod \(podID))"
        case .system(let operation, let code):
            return "\(operation): \(String(cString: strerror(code)))"
        }
    }
}
