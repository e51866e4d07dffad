/// The per-Service objects of a table, as an apply wrote them: the next apply rewrites only the chains whose
/// rules changed and deletes what is no longer wanted.
struct TableContents: Sendable, Equatable {
    /// Chain name → its rules.
    var chains: [String: [String]] = [:]
    /// Affinity set name → the `add set` command declaring it (re-running it is a no-op that keeps the elements).
    var sets: [String: String] = [:]
}

/// The nft commands for one model.
struct Ruleset: Sendable {
    /// The table, its hooked and helper chains, maps and sets: declared, flushed and filled by every apply.
    var fixed: String
    /// The chains of each Service port and endpoint, in the order they were made.
    var chains: [(name: String, rules: [String])]
    /// The affinity sets' declarations, in the order they were made.
    var sets: [(name: String, declaration: String)]
    /// The maps' and sets' elements, one command per map.
    var elements: String

    var contents: TableContents {
        TableContents(chains: Dictionary(chains.map { ($0.name, $0.rules) }, uniquingKeysWith: { first, _ in first }),
                      sets: Dictionary(sets.map { ($0.name, $0.declaration) }, uniquingKeysWith: { first, _ in first }))
    }
}

/// Writes kube-proxy's nftables layout into one table:
/// - nat `prerouting` (pods, other hosts) and `output` (host processes) jump to `services`, which dispatches
///   ClusterIP . protocol . port, NodePort (local addresses but loopback) and host port (every local address,
///   loopback included) through verdict maps to a chain per Service port; it picks an endpoint chain with
///   `numgen inc` (round robin) after the ClientIP affinity checks, and the endpoint chain DNATs.
/// - Traffic that must come back through this node (sources outside the cluster CIDR, 127.0.0.1) gets mark
///   0x4000 on its way to DNAT and is masqueraded in nat `postrouting`, as is a pod reaching itself and a pod
///   reaching beyond the cluster CIDR.
/// - Filter chains at prerouting (pods, other hosts) and output (host processes) reject new connections to
///   Service ports without endpoints (TCP reset, ICMP port unreachable otherwise) before DNAT, and to ClusterIP
///   ports that no Service defines after it.
struct RulesetWriter {
    /// A validated configuration.
    let config: ServiceProxyConfig

    static let masqueradeMark = "0x4000"
    private static let dnatPriority = -100
    private static let snatPriority = 100
    /// The no-endpoints check sees destinations before DNAT, as kube-proxy's filter chains do.
    private static let preDNATFilterPriority = -110
    /// ...except the check for undefined ClusterIP ports, which must see what DNAT left untouched.
    private static let postDNATFilterPriority = -90

    private var table: String { "ip \(config.tableName)" }

    /// One transaction that removes whatever the table held and writes the model: what the first apply of a
    /// process uses, since it cannot know what an earlier run left behind.
    func fullReplacement(_ ruleset: Ruleset) -> String {
        var text = "add table \(table)\ndelete table \(table)\n" + ruleset.fixed
        for set in ruleset.sets { text += set.declaration + "\n" }
        for chain in ruleset.chains { text += "add chain \(table) \(chain.name)\n" }
        for chain in ruleset.chains { appendRules(chain.rules, of: chain.name, to: &text) }
        return text + ruleset.elements
    }

    /// One transaction that rewrites the fixed part, only those Service chains whose rules changed since
    /// `previous` was written, and deletes the chains and sets of Services that are gone. Affinity sets that stay
    /// keep their elements, chains that stay unchanged keep their round-robin position.
    func incremental(_ ruleset: Ruleset, replacing previous: TableContents) -> String {
        var text = ruleset.fixed
        for set in ruleset.sets where previous.sets[set.name] == nil { text += set.declaration + "\n" }
        let changed = ruleset.chains.filter { previous.chains[$0.name] != $0.rules }
        // Every chain exists before any rule jumps to it.
        for chain in changed {
            text += "add chain \(table) \(chain.name)\n"
            if previous.chains[chain.name] != nil { text += "flush chain \(table) \(chain.name)\n" }
        }
        for chain in changed { appendRules(chain.rules, of: chain.name, to: &text) }
        text += ruleset.elements

        let current = ruleset.contents
        // A chain must be empty before it can go, and nothing may jump to it: the maps were flushed above, and the
        // chains that jumped to it were rewritten or are going too. The `add` makes each deletion safe for an
        // object that is already gone.
        let staleChains = previous.chains.keys.filter { current.chains[$0] == nil }.sorted()
        for chain in staleChains { text += "add chain \(table) \(chain)\nflush chain \(table) \(chain)\n" }
        for chain in staleChains { text += "delete chain \(table) \(chain)\n" }
        for (set, declaration) in previous.sets.sorted(by: { $0.key < $1.key }) where current.sets[set] == nil {
            text += "\(declaration)\ndelete set \(table) \(set)\n"
        }
        return text
    }

    private func appendRules(_ rules: [String], of chain: String, to text: inout String) {
        for rule in rules { text += "add rule \(table) \(chain) \(rule)\n" }
    }

    func write(_ model: ServiceProxyModel) -> Ruleset {
        var writer = BodyWriter(table: table)
        writeFixedPart(&writer)
        var claims = Claims()
        for service in model.services {
            guard let clusterIP = service.clusterIP.flatMap(IPv4.parse).map(IPv4.format) else { continue }
            for port in service.ports {
                writeServicePort(port, of: service, clusterIP: clusterIP, claims: &claims, into: &writer)
            }
        }
        writer.addElements(claims.clusterIPs.sorted(), to: "cluster-ips")
        writer.addElements(claims.endpointIPs.sorted().map { "\($0) . \($0)" }, to: "hairpin-endpoints")
        return Ruleset(fixed: writer.text, chains: writer.chains, sets: writer.sets, elements: writer.elementCommands())
    }

    private func writeFixedPart(_ writer: inout BodyWriter) {
        writer.text += "add table \(table)\n"
        // Rejections happen in prerouting rather than forward: a pod's packet to a ClusterIP leaves the bridge
        // it came in on, so forwarding first sends the pod an ICMP redirect, and the rate limit that redirect
        // shares with ICMP errors would then swallow the "port unreachable" (reject in prerouting needs Linux 5.9).
        let baseChains: [(name: String, type: String, hook: String, priority: Int)] = [
            ("filter-prerouting", "filter", "prerouting", Self.preDNATFilterPriority),
            ("filter-output", "filter", "output", Self.preDNATFilterPriority),
            ("filter-prerouting-post-dnat", "filter", "prerouting", Self.postDNATFilterPriority),
            ("filter-output-post-dnat", "filter", "output", Self.postDNATFilterPriority),
            ("nat-prerouting", "nat", "prerouting", Self.dnatPriority),
            ("nat-output", "nat", "output", Self.dnatPriority),
            ("nat-postrouting", "nat", "postrouting", Self.snatPriority),
        ]
        for chain in baseChains {
            writer.declareChain(chain.name, "{ type \(chain.type) hook \(chain.hook) priority \(chain.priority); }")
        }
        for chain in ["services", "masquerading", "mark-for-masquerade", "endpoints-check", "cluster-ips-check", "reject-chain"] {
            writer.declareChain(chain)
        }
        let serviceKey = "ipv4_addr . inet_proto . inet_service : verdict"
        let portKey = "inet_proto . inet_service : verdict"
        for (map, type) in [
            ("service-ips", serviceKey), ("service-nodeports", portKey), ("service-hostports", portKey),
            ("no-endpoint-services", serviceKey), ("no-endpoint-nodeports", portKey), ("no-endpoint-hostports", portKey),
        ] {
            writer.text += "add map \(table) \(map) { type \(type); }\nflush map \(table) \(map)\n"
        }
        for (set, type) in [("cluster-ips", "ipv4_addr"), ("hairpin-endpoints", "ipv4_addr . ipv4_addr")] {
            writer.text += "add set \(table) \(set) { type \(type); }\nflush set \(table) \(set)\n"
        }

        let mark = Self.masqueradeMark
        let bridge = "\"\(config.bridgeName)\""
        writer.addRules("filter-prerouting", [
            "ct state new jump endpoints-check",
            // route_localnet (which 127.0.0.1 host ports need) would also let pods reach the node's loopback-only
            // services (CVE-2020-8558); only replies may arrive on the bridge for 127/8.
            "iifname \(bridge) ip daddr 127.0.0.0/8 ct state != { established, related } drop",
        ])
        writer.addRules("filter-output", ["ct state new jump endpoints-check"])
        writer.addRules("filter-prerouting-post-dnat", ["ct state new jump cluster-ips-check"])
        writer.addRules("filter-output-post-dnat", ["ct state new jump cluster-ips-check"])
        writer.addRules("endpoints-check", [
            "ip daddr . meta l4proto . th dport vmap @no-endpoint-services",
            "fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @no-endpoint-nodeports",
            "fib daddr type local meta l4proto . th dport vmap @no-endpoint-hostports",
        ])
        writer.addRules("cluster-ips-check", [
            "ip daddr @cluster-ips goto reject-chain",
            "ip daddr \(config.serviceCIDR) drop",
        ])
        // A reset, not an ICMP error, for TCP: a pod's connect() holds its socket while the SYN crosses the veth,
        // and Linux drops an ICMP error that arrives meanwhile, so the client would wait for a retransmission.
        writer.addRules("reject-chain", ["meta l4proto tcp reject with tcp reset", "reject"])
        writer.addRules("nat-prerouting", ["jump services"])
        writer.addRules("nat-output", ["jump services"])
        writer.addRules("nat-postrouting", ["jump masquerading"])
        writer.addRules("mark-for-masquerade", ["mark set mark or \(mark)"])
        writer.addRules("masquerading", [
            // Pods reaching beyond the cluster leave with the node's address, as the CNI bridge plugin's ipMasq
            // does: the outside knows no route back to pod addresses.
            "iifname \(bridge) oifname != \(bridge) ip daddr != \(config.clusterCIDR) masquerade",
            // A pod that reached itself through a Service: nft cannot compare two fields, so a set of
            // "ip . ip" pairs, one per endpoint address, stands for saddr == daddr. (kube-proxy has a rule in
            // every endpoint chain instead: a third of all rules, and a quarter of the time an apply takes.)
            "ct status dnat ip saddr . ip daddr @hairpin-endpoints mark set mark or \(mark)",
            "mark and \(mark) == 0 return",
            "mark set mark xor \(mark)",
            "masquerade fully-random",
        ])
        writer.addRules("services", [
            "ip daddr . meta l4proto . th dport vmap @service-ips",
            "fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @service-nodeports",
            "fib daddr type local meta l4proto . th dport vmap @service-hostports",
        ])
    }

    private func writeServicePort(_ port: ProxiedServicePort, of service: ProxiedService, clusterIP: String, claims: inout Claims, into writer: inout BodyWriter) {
        let proto = port.transport.rawValue
        let clusterKey = "\(clusterIP) . \(proto) . \(port.port)"
        let base = ObjectNames.servicePortBase(namespace: service.namespace, name: service.name, transport: port.transport, portName: port.name)
        guard Claims.isPort(port.port), !claims.serviceKeys.contains(clusterKey), claims.servicePorts.insert(base).inserted else { return }
        claims.serviceKeys.insert(clusterKey)
        claims.clusterIPs.insert(clusterIP)
        // One port number serves one Service: the first in the model keeps it.
        let nodePort = port.nodePort.flatMap { Claims.isPort($0) && claims.nodePorts.insert("\(proto) . \($0)").inserted ? $0 : nil }
        let hostPort = port.hostPort.flatMap { Claims.isPort($0) && claims.hostPorts.insert("\(proto) . \($0)").inserted ? $0 : nil }
        var seen = Set<ProxyEndpoint>()
        let endpoints = port.endpoints.compactMap { endpoint -> ProxyEndpoint? in
            guard let ip = IPv4.parse(endpoint.ip), Claims.isPort(endpoint.port) else { return nil }
            let canonical = ProxyEndpoint(ip: IPv4.format(ip), port: endpoint.port)
            return seen.insert(canonical).inserted ? canonical : nil
        }

        guard !endpoints.isEmpty else {
            writer.addElement("\(clusterKey) : goto reject-chain", to: "no-endpoint-services")
            if let nodePort { writer.addElement("\(proto) . \(nodePort) : goto reject-chain", to: "no-endpoint-nodeports") }
            if let hostPort { writer.addElement("\(proto) . \(hostPort) : goto reject-chain", to: "no-endpoint-hostports") }
            return
        }

        let serviceChain = ObjectNames.service(base)
        writer.declareServiceChain(serviceChain)
        writer.addElement("\(clusterKey) : goto \(serviceChain)", to: "service-ips")
        // Off-cluster sources reaching a ClusterIP (a host process bound elsewhere, a routed client) must see the
        // replies come back through this node.
        var serviceRules = ["ip daddr \(clusterIP) \(proto) dport \(port.port) ip saddr != \(config.clusterCIDR) jump mark-for-masquerade"]

        if nodePort != nil || hostPort != nil {
            let externalChain = ObjectNames.external(base)
            writer.declareServiceChain(externalChain)
            writer.addRules(externalChain, ["ip saddr != \(config.clusterCIDR) jump mark-for-masquerade", "goto \(serviceChain)"])
            if let nodePort { writer.addElement("\(proto) . \(nodePort) : goto \(externalChain)", to: "service-nodeports") }
            if let hostPort { writer.addElement("\(proto) . \(hostPort) : goto \(externalChain)", to: "service-hostports") }
        }

        let affinityTimeout = service.sessionAffinityTimeout.flatMap { $0 > 0 ? $0 : nil }
        var endpointChains: [String] = []
        for endpoint in endpoints {
            let endpointBase = ObjectNames.endpointBase(base, endpoint)
            let endpointChain = ObjectNames.endpoint(endpointBase)
            writer.declareServiceChain(endpointChain)
            endpointChains.append(endpointChain)
            claims.endpointIPs.insert(endpoint.ip)
            var endpointRules: [String] = []
            if let affinityTimeout {
                let affinitySet = ObjectNames.affinity(endpointBase, timeout: affinityTimeout)
                writer.declareAffinitySet(affinitySet, timeout: affinityTimeout)
                serviceRules.append("ip saddr @\(affinitySet) goto \(endpointChain)")
                endpointRules.append("update @\(affinitySet) { ip saddr }")
            }
            endpointRules.append("meta l4proto \(proto) dnat to \(endpoint.ip):\(endpoint.port)")
            writer.addRules(endpointChain, endpointRules)
        }
        if endpointChains.count == 1 {
            serviceRules.append("goto \(endpointChains[0])")
        } else {
            let choices = endpointChains.enumerated().map { "\($0.offset) : goto \($0.element)" }.joined(separator: ", ")
            serviceRules.append("numgen inc mod \(endpointChains.count) vmap { \(choices) }")
        }
        writer.addRules(serviceChain, serviceRules)
    }
}

/// Keys already taken while writing one model: nft refuses a transaction that adds one map key twice.
private struct Claims {
    var serviceKeys = Set<String>()
    /// namespace/name/protocol/port name: two ports of one Service with one name would share chains.
    var servicePorts = Set<String>()
    var nodePorts = Set<String>()
    var hostPorts = Set<String>()
    var clusterIPs = Set<String>()
    var endpointIPs = Set<String>()

    static func isPort(_ port: Int) -> Bool { (1...65535).contains(port) }
}

/// Accumulates one model's commands: the fixed part as text, Service chains and sets apart, map elements
/// gathered into one command per map.
private struct BodyWriter {
    let table: String
    var text = ""
    var chains: [(name: String, rules: [String])] = []
    var sets: [(name: String, declaration: String)] = []
    private var chainIndex: [String: Int] = [:]
    private var elements: [(map: String, entries: [String])] = []

    init(table: String) {
        self.table = table
    }

    mutating func declareChain(_ name: String, _ definition: String = "") {
        text += "add chain \(table) \(name)\(definition.isEmpty ? "" : " " + definition)\nflush chain \(table) \(name)\n"
    }

    mutating func declareServiceChain(_ name: String) {
        chainIndex[name] = chains.count
        chains.append((name, []))
    }

    mutating func declareAffinitySet(_ name: String, timeout: Int) {
        sets.append((name, "add set \(table) \(name) { type ipv4_addr; flags dynamic,timeout; timeout \(timeout)s; }"))
    }

    /// Rules of a Service chain are kept with it; those of a fixed chain go straight into the text.
    mutating func addRules(_ chain: String, _ rules: [String]) {
        if let index = chainIndex[chain] {
            chains[index].rules += rules
        } else {
            for rule in rules { text += "add rule \(table) \(chain) \(rule)\n" }
        }
    }

    mutating func addElement(_ element: String, to map: String) {
        if let index = elements.firstIndex(where: { $0.map == map }) {
            elements[index].entries.append(element)
        } else {
            elements.append((map, [element]))
        }
    }

    mutating func addElements(_ entries: [String], to set: String) {
        for entry in entries { addElement(entry, to: set) }
    }

    func elementCommands() -> String {
        elements.filter { !$0.entries.isEmpty }.map { "add element \(table) \($0.map) { \($0.entries.joined(separator: ", ")) }\n" }.joined()
    }
}
