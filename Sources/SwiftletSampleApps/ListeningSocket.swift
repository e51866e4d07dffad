import Glibc

/// A failed socket call, with errno's text.
public struct SocketError: Error, CustomStringConvertible, Sendable {
    public let operation: String
    public let code: Int32

    public var description: String { "\(operation): \(String(cString: strerror(code)))" }
}

/// A bound, listening TCP socket on an IPv4 or IPv6 address.
struct ListeningSocket {
    let descriptor: Int32
    let port: UInt16

    /// Binds `address` (a literal IPv4 or IPv6 address) and `port` (0 picks a free one).
    /// "::" listens dual-stack, so IPv4 clients reach it too.
    init(address: String, port: UInt16, backlog: Int32 = 128) throws(SocketError) {
        var storage = sockaddr_storage()
        let length: socklen_t
        let family: Int32
        if address.contains(":") {
            family = AF_INET6
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            try withUnsafeMutableBytes(of: &storage) { (raw) throws(SocketError) in
                let ipv6 = raw.baseAddress!.assumingMemoryBound(to: sockaddr_in6.self)
                ipv6.pointee.sin6_family = sa_family_t(AF_INET6)
                ipv6.pointee.sin6_port = port.bigEndian
                guard inet_pton(AF_INET6, address, &ipv6.pointee.sin6_addr) == 1 else {
                    throw SocketError(operation: "inet_pton \(address)", code: EINVAL)
                }
            }
        } else {
            family = AF_INET
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
            try withUnsafeMutableBytes(of: &storage) { (raw) throws(SocketError) in
                let ipv4 = raw.baseAddress!.assumingMemoryBound(to: sockaddr_in.self)
                ipv4.pointee.sin_family = sa_family_t(AF_INET)
                ipv4.pointee.sin_port = port.bigEndian
                guard inet_pton(AF_INET, address, &ipv4.pointee.sin_addr) == 1 else {
                    throw SocketError(operation: "inet_pton \(address)", code: EINVAL)
                }
            }
        }

        let descriptor = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw SocketError(operation: "socket", code: errno) }
        var on: Int32 = 1
        var off: Int32 = 0
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        if family == AF_INET6 {
            setsockopt(descriptor, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &off, socklen_t(MemoryLayout<Int32>.size))
        }
        let bound = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        guard bound == 0, listen(descriptor, backlog) == 0 else {
            let code = errno
            close(descriptor)
            throw SocketError(operation: "bind/listen \(address):\(port)", code: code)
        }

        var actual = sockaddr_storage()
        var actualLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &actualLength) }
        }
        // sin_port and sin6_port sit at the same offset, right after the family.
        let networkPort = withUnsafeBytes(of: &actual) { $0.load(fromByteOffset: 2, as: UInt16.self) }
        self.descriptor = descriptor
        self.port = UInt16(bigEndian: networkPort)
    }
}

/// Sends all of `bytes`, retrying short writes; false once the peer is gone.
func sendAll(_ descriptor: Int32, _ bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBytes { buffer in
        var offset = 0
        while offset < buffer.count {
            // MSG_NOSIGNAL: a closed peer is an EPIPE here, not a SIGPIPE that kills the process.
            let sent = send(descriptor, buffer.baseAddress! + offset, buffer.count - offset, Int32(MSG_NOSIGNAL))
            if sent < 0 && errno == EINTR { continue }
            if sent <= 0 { return false }
            offset += sent
        }
        return true
    }
}
