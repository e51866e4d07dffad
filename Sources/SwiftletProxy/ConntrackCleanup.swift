/// Conntrack entries a model change leaves stale for UDP, which has no connection end to expire them: a client
/// that keeps its source port (a DNS resolver, say) would keep reaching a removed endpoint, or keep being
/// black-holed where a Service had no rule yet, as long as it keeps sending. kube-proxy deletes the same ones.
enum ConntrackCleanup {
    /// `conntrack` arguments, one deletion each:
    /// - every flow DNATed to an endpoint that a UDP Service port no longer has (by ClusterIP, NodePort, host port);
    /// - every flow to a UDP Service port that had no endpoints (or did not exist) and now has some.
    /// With no previous model (the first apply of a process) every UDP port with endpoints counts as new.
    static func deletions(from old: ServiceProxyModel?, to new: ServiceProxyModel) -> [[String]] {
        let before = udpPorts(old ?? ServiceProxyModel())
        let after = udpPorts(new)
        var deletions: [[String]] = []
        for (key, previous) in before.sorted(by: { $0.key < $1.key }) {
            let remaining = Set(after[key]?.endpoints ?? [])
            for endpoint in previous.endpoints where !remaining.contains(endpoint) {
                let dnatTo = ["--reply-src", endpoint.ip, "--reply-port-src", "\(endpoint.port)"]
                deletions.append(udp + ["--orig-dst", key.clusterIP, "--orig-port-dst", "\(key.port)"] + dnatTo)
                for port in previous.localPorts {
                    deletions.append(udp + ["--orig-port-dst", "\(port)"] + dnatTo)
                }
            }
        }
        for (key, current) in after.sorted(by: { $0.key < $1.key }) where !current.endpoints.isEmpty && before[key]?.endpoints.isEmpty ?? true {
            deletions.append(udp + ["--orig-dst", key.clusterIP, "--orig-port-dst", "\(key.port)"])
            for port in current.localPorts {
                deletions.append(udp + ["--orig-port-dst", "\(port)"])
            }
        }
        return deletions
    }

    private static let udp = ["-D", "-p", "udp"]

    private struct PortKey: Hashable, Comparable {
        let clusterIP: String
        let port: Int

        static func < (lhs: PortKey, rhs: PortKey) -> Bool { (lhs.clusterIP, lhs.port) < (rhs.clusterIP, rhs.port) }
    }

    private struct PortState {
        var endpoints: [ProxyEndpoint]
        /// The NodePort and host port, which match any local address.
        var localPorts: [Int]
    }

    private static func udpPorts(_ model: ServiceProxyModel) -> [PortKey: PortState] {
        var ports: [PortKey: PortState] = [:]
        for service in model.services {
            guard let clusterIP = service.clusterIP.flatMap(IPv4.parse).map(IPv4.format) else { continue }
            for port in service.ports where port.transport == .udp {
                let endpoints = port.endpoints.compactMap { endpoint in
                    IPv4.parse(endpoint.ip).map { ProxyEndpoint(ip: IPv4.format($0), port: endpoint.port) }
                }
                let key = PortKey(clusterIP: clusterIP, port: port.port)
                if ports[key] == nil {
                    ports[key] = PortState(endpoints: endpoints, localPorts: [port.nodePort, port.hostPort].compactMap { $0 })
                }
            }
        }
        return ports
    }
}
