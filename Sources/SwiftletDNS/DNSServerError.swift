#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore

public enum DNSServerError: Error, Equatable, CustomStringConvertible {
    /// A field of `ClusterDNSConfiguration` that cannot work (an upstream or CIDR that does not parse...).
    case invalidConfiguration(String)
    /// Binding `address` ("ip:port") failed; `network` is "udp" or "tcp".
    case listenFailed(network: String, address: String, reason: String)
    case alreadyStarted

    public var description: String {
        switch self {
        case .invalidConfiguration(let message):
            "invalid cluster DNS configuration: \(message)"
        case .listenFailed(let network, let address, let reason):
            // Go's net.Listen wording, as CoreDNS reports a taken port.
            "listen \(network) \(address): \(reason)"
        case .alreadyStarted:
            "the cluster DNS server is already started"
        }
    }

    static func failedToListen(network: String, host: String, port: Int, error: any Error) -> DNSServerError {
        let address = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        let reason: String
        switch error {
        case let error as IOError:
            // "Address already in use" → "bind: address already in use", as Go prints it.
            let text = String(cString: strerror(error.errnoCode))
            reason = "bind: " + text.prefix(1).lowercased() + text.dropFirst()
        case is SocketAddressError, is SocketAddressError.UnknownHost:
            reason = "lookup \(host): no such host"
        default:
            reason = "\(error)"
        }
        return .listenFailed(network: network, address: address, reason: reason)
    }
}
