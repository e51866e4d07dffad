#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public struct ClusterDNSConfiguration: Sendable, Equatable {
    /// The cluster domain (kubelet's `clusterDomain`).
    public var domain: String
    public var listenAddress: String
    /// 0 picks a free port (tests); see `ClusterDNSServer.boundPort`.
    public var port: Int
    /// Where names outside the cluster go: "ip" or "ip:port" ("[v6]:port"), tried in order.
    public var upstreams: [String]
    /// The TTL of every cluster record (CoreDNS's default is 5 s).
    public var ttl: UInt32
    /// The Service and pod CIDRs: PTR for an unknown address inside them is NXDOMAIN; outside, it is forwarded.
    public var reverseCIDRs: [String]
    /// How long one upstream has to answer before the next is tried.
    public var upstreamTimeout: Duration

    public init(
        domain: String = "cluster.local", listenAddress: String, port: Int = 53, upstreams: [String] = [],
        ttl: UInt32 = 5, reverseCIDRs: [String] = [], upstreamTimeout: Duration = .seconds(2)
    ) {
        self.domain = domain
        self.listenAddress = listenAddress
        self.port = port
        self.upstreams = upstreams
        self.ttl = ttl
        self.reverseCIDRs = reverseCIDRs
        self.upstreamTimeout = upstreamTimeout
    }

    /// The `nameserver` lines of the host's resolv.conf, minus `excluding` (the cluster DNS's own addresses, so that
    /// it never forwards to itself). A missing or unreadable file gives no upstreams.
    public static func hostUpstreams(resolvConf: String = "/etc/resolv.conf", excluding: [String]) -> [String] {
        guard let text = readTextFile(resolvConf) else { return [] }
        var upstreams: [String] = []
        for line in text.split(whereSeparator: \.isNewline) {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 2, fields[0] == "nameserver" else { continue }
            // A link-local IPv6 address carries its interface as "%eth0"; our upstream syntax has no room for it.
            let address = String(fields[1])
            guard !address.contains("%"), !excluding.contains(address), !upstreams.contains(address) else { continue }
            upstreams.append(address)
        }
        return upstreams
    }

    private static func readTextFile(_ path: String) -> String? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var contents: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { return nil }
            if count == 0 { return String(decoding: contents, as: UTF8.self) }
            contents.append(contentsOf: chunk[0..<count])
        }
    }
}
