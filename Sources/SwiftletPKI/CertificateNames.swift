import SwiftASN1
import X509

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The subject alternative names (DNS names and IP addresses) a certificate should cover.
///
/// Names are normalised (DNS lower-cased without a trailing dot, IPs in canonical text form) and
/// de-duplicated, so "is the existing serving certificate still good enough?" is a plain subset
/// test and `::1` / `0:0::1` or `Kubernetes.` / `kubernetes` do not force a needless re-issue.
public struct CertificateNames: Sendable, Hashable {
    public private(set) var dnsNames: [String] = []
    /// Raw address bytes (4 or 16); the text form is derived, so comparisons never depend on spelling.
    private(set) var ipAddressBytes: [[UInt8]] = []

    public init() {}

    /// Classifies each entry: anything that parses as an IPv4/IPv6 address (optionally in
    /// brackets) becomes an IP SAN, everything else a DNS SAN. This matches how operators pass
    /// `--tls-san` values, where both kinds arrive in one list. Empty entries are ignored.
    public init(_ names: some Sequence<String>) throws {
        for name in names { try insert(name) }
    }

    public init(dnsNames: [String], ipAddresses: [String]) throws {
        for name in dnsNames { try insertDNSName(name) }
        for address in ipAddresses { try insertIPAddress(address) }
    }

    /// IP addresses in canonical text form (`10.43.0.1`, `::1`).
    public var ipAddresses: [String] { ipAddressBytes.map(Self.format) }

    public var isEmpty: Bool { dnsNames.isEmpty && ipAddressBytes.isEmpty }

    public mutating func insert(_ name: String) throws {
        let trimmed = name.trimmingWhitespace()
        if trimmed.isEmpty { return }
        if Self.parseIPAddress(trimmed) != nil {
            try insertIPAddress(trimmed)
        } else {
            try insertDNSName(trimmed)
        }
    }

    public mutating func insertDNSName(_ name: String) throws {
        var normalized = name.trimmingWhitespace().lowercased()
        while normalized.hasSuffix(".") { normalized.removeLast() }
        // A malformed dNSName makes some TLS stacks (Go's among them) reject the whole
        // certificate, so refuse it here instead of minting a certificate kubectl cannot use.
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789-._*")
        guard !normalized.isEmpty, normalized.count <= 253, normalized.allSatisfy(allowed.contains),
              !normalized.hasPrefix("."), !normalized.contains("..")
        else {
            throw PKIError.invalidName(name)
        }
        if !dnsNames.contains(normalized) { dnsNames.append(normalized) }
    }

    public mutating func insertIPAddress(_ address: String) throws {
        guard let bytes = Self.parseIPAddress(address.trimmingWhitespace()) else {
            throw PKIError.invalidName(address)
        }
        if !ipAddressBytes.contains(bytes) { ipAddressBytes.append(bytes) }
    }

    public mutating func formUnion(_ other: CertificateNames) {
        for name in other.dnsNames where !dnsNames.contains(name) { dnsNames.append(name) }
        for bytes in other.ipAddressBytes where !ipAddressBytes.contains(bytes) { ipAddressBytes.append(bytes) }
    }

    /// True when a certificate carrying `other`'s names would satisfy every name in `self`.
    public func isSubset(of other: CertificateNames) -> Bool {
        dnsNames.allSatisfy(other.dnsNames.contains) && ipAddressBytes.allSatisfy(other.ipAddressBytes.contains)
    }

    /// The names every API server certificate needs, plus the caller's extras.
    ///
    /// In-cluster clients reach the API server as `kubernetes.default.svc[.<domain>]` or through the
    /// `kubernetes` Service IP; local tools use `localhost`/loopback; remote tools use the host's
    /// names and addresses. A name missing here shows up as an x509 error in some client later,
    /// which is far harder to diagnose than an extra SAN.
    ///
    /// - Parameters:
    ///   - serviceIP: ClusterIP of the `default/kubernetes` Service (e.g. `10.43.0.1`).
    ///   - hostNames: defaults to this machine's names (``hostNames()``).
    ///   - extra: further names or IPs, e.g. ``hostAddresses(includeLinkLocal:)`` or `--tls-san` values.
    public static func apiServer(
        serviceIP: String,
        clusterDomain: String = "cluster.local",
        hostNames: [String] = SwiftletPKI.hostNames(),
        extra: [String] = []
    ) throws -> CertificateNames {
        var names = CertificateNames()
        for name in [
            "localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
            "kubernetes.default.svc.\(clusterDomain)",
        ] {
            try names.insertDNSName(name)
        }
        // A discovered host name that is not a valid DNS name (rare, but hostnames are free-form
        // on Linux) must not stop the server from starting; it simply cannot be a SAN.
        for name in hostNames { try? names.insert(name) }
        try names.insertIPAddress("127.0.0.1")
        try names.insertIPAddress("::1")
        try names.insertIPAddress(serviceIP)
        for name in extra { try names.insert(name) }
        return names
    }

    // MARK: - X.509 conversion

    var generalNames: [GeneralName] {
        dnsNames.map { .dnsName($0) } + ipAddressBytes.map { .ipAddress(ASN1OctetString(contentBytes: $0[...])) }
    }

    /// The SANs an existing certificate carries; unknown name kinds are ignored.
    init(certificate: Certificate) throws {
        guard let sans = try certificate.extensions.subjectAlternativeNames else { return }
        for name in sans {
            switch name {
            case .dnsName(let dns):
                try? insertDNSName(dns)
            case .ipAddress(let octets):
                let bytes = Array(octets.bytes)
                if (bytes.count == 4 || bytes.count == 16) && !ipAddressBytes.contains(bytes) {
                    ipAddressBytes.append(bytes)
                }
            default:
                continue
            }
        }
    }

    // MARK: - Address text <-> bytes

    static func parseIPAddress(_ text: String) -> [UInt8]? {
        var text = Substring(text)
        if text.hasPrefix("[") && text.hasSuffix("]") { text = text.dropFirst().dropLast() }
        let string = String(text)
        var v4 = in_addr()
        if inet_pton(AF_INET, string, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, string, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }

    static func format(_ bytes: [UInt8]) -> String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = bytes.count == 4 ? AF_INET : AF_INET6
        let ok = bytes.withUnsafeBytes { raw in
            inet_ntop(family, raw.baseAddress, &buffer, socklen_t(buffer.count)) != nil
        }
        guard ok else { return bytes.map(String.init).joined(separator: ".") }
        return String(nulTerminated: buffer)
    }
}

extension String {
    /// Decodes a C string buffer filled in by libc (`inet_ntop`, `gethostname`).
    init(nulTerminated buffer: [CChar]) {
        self = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    func trimmingWhitespace() -> String {
        var slice = Substring(self)
        while let first = slice.first, first.isWhitespace { slice.removeFirst() }
        while let last = slice.last, last.isWhitespace { slice.removeLast() }
        return String(slice)
    }
}
