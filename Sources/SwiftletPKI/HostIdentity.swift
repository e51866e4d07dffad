#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// This machine's names, lower-cased: the `gethostname` result and, if that is a fully
/// qualified name, also its first label, because users type either form into `--server`.
public func hostNames() -> [String] {
    var buffer = [CChar](repeating: 0, count: 256)
    guard gethostname(&buffer, buffer.count - 1) == 0 else { return [] }
    let name = String(nulTerminated: buffer).lowercased()
    guard !name.isEmpty, name != "localhost" else { return [] }
    var names = [name]
    if let dot = name.firstIndex(of: "."), dot != name.startIndex {
        names.append(String(name[..<dot]))
    }
    return names
}

/// The host's non-loopback IPv4 and IPv6 addresses on interfaces that are up, IPv4 first.
///
/// These go into the serving certificate so that `kubectl --server https://<host-ip>:6443` works
/// from other machines without `--insecure-skip-tls-verify`. Link-local addresses (169.254/16,
/// fe80::/10) are left out by default: they need a zone to be usable and are never what a user
/// means by "the server's address".
public func hostAddresses(includeLinkLocal: Bool = false) -> [String] {
    var head: UnsafeMutablePointer<ifaddrs>?
    guard getifaddrs(&head) == 0, let first = head else { return [] }
    defer { freeifaddrs(head) }

    // IFF_UP / IFF_LOOPBACK have the same values on Linux and Darwin; spelled out because
    // Glibc imports them as enum cases with an awkward type.
    let interfaceUp: UInt32 = 0x1
    let interfaceLoopback: UInt32 = 0x8

    var v4: [[UInt8]] = []
    var v6: [[UInt8]] = []
    var cursor: UnsafeMutablePointer<ifaddrs>? = first
    while let entry = cursor {
        cursor = entry.pointee.ifa_next
        let flags = UInt32(entry.pointee.ifa_flags)
        guard flags & interfaceUp != 0, flags & interfaceLoopback == 0,
              let address = entry.pointee.ifa_addr
        else { continue }
        switch Int32(address.pointee.sa_family) {
        case AF_INET:
            let bytes = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { pointer in
                withUnsafeBytes(of: pointer.pointee.sin_addr) { Array($0) }
            }
            let loopback = bytes[0] == 127
            let linkLocal = bytes[0] == 169 && bytes[1] == 254
            if !loopback && (includeLinkLocal || !linkLocal) && !v4.contains(bytes) { v4.append(bytes) }
        case AF_INET6:
            let bytes = address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                withUnsafeBytes(of: pointer.pointee.sin6_addr) { Array($0) }
            }
            let loopback = bytes == [UInt8](repeating: 0, count: 15) + [1]
            let linkLocal = bytes[0] == 0xfe && (bytes[1] & 0xc0) == 0x80
            if !loopback && (includeLinkLocal || !linkLocal) && !v6.contains(bytes) { v6.append(bytes) }
        default:
            continue
        }
    }
    return (v4 + v6).map(CertificateNames.format)
}
