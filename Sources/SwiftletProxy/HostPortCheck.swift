#if canImport(Glibc)
import Glibc
#endif

/// Whether a host port is already taken by a process of the calling thread's network namespace, to report a
/// LoadBalancer port that cannot be served there (the DNAT would silently steal the traffic from that process).
public enum HostPortCheck {
    /// Binds 0.0.0.0:port and closes at once; true only on EADDRINUSE. TCP sets SO_REUSEADDR so that connections
    /// in TIME_WAIT do not count; UDP does not, since with it two UDP sockets may share a port.
    public static func inUse(port: Int, transport: ProxyTransport) -> Bool {
        guard (1...65535).contains(port) else { return false }
        let type = transport == .tcp ? Int32(SOCK_STREAM.rawValue) : Int32(SOCK_DGRAM.rawValue)
        let fd = socket(AF_INET, type | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        if transport == .tcp {
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr = in_addr(s_addr: INADDR_ANY)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return result != 0 && errno == EADDRINUSE
    }
}
