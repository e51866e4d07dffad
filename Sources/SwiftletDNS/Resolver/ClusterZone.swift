/// What one name of the cluster zone holds.
struct ZoneEntry: Sendable, Equatable {
    /// A and AAAA data (4 or 16 bytes), without repeats.
    var addresses: [[UInt8]] = []
    /// The SRV records, each with the address of its target for the additional section.
    var ports: [ZonePort] = []
    /// An ExternalName Service's target: the name is a CNAME.
    var canonicalName: DNSName?
}

struct ZonePort: Sendable, Equatable {
    /// Lowercased, as `_<name>._<protocol>` labels are compared.
    var name: String
    var `protocol`: String
    var port: UInt16
    var target: DNSName
    var address: [UInt8]
}

/// The lookup indexes of the cluster zone, built once per `ClusterDNSRecords` so a query costs a dictionary lookup.
struct ClusterZone: Sendable {
    /// By "<service>.<namespace>", lowercased.
    private(set) var services: [String: ZoneEntry] = [:]
    /// By "<hostname or dashed IP>.<service>.<namespace>", lowercased.
    private(set) var endpoints: [String: ZoneEntry] = [:]
    private(set) var namespaces: Set<String> = []
    /// PTR targets by IPv4 address: Services' cluster IPs, and headless endpoints that have a hostname.
    private(set) var pointers: [UInt32: [DNSName]] = [:]

    init(records: ClusterDNSRecords, domain: DNSName) {
        for service in records.services {
            add(service, domain: domain)
        }
    }

    private mutating func add(_ service: DNSService, domain: DNSName) {
        let namespace = service.namespace.lowercased()
        let serviceKey = service.name.lowercased() + "." + namespace
        let serviceName = domain.prepending(serviceKey + ".svc")
        // The API server validates these names; a record that could not be written is left out rather than served.
        guard serviceName.isWritable, service.externalName.map({ DNSName($0).isWritable }) ?? true else { return }
        namespaces.insert(namespace)
        var entry = services[serviceKey] ?? ZoneEntry()
        defer { services[serviceKey] = entry }

        if let externalName = service.externalName {
            entry.canonicalName = DNSName(externalName)
            return
        }
        let clusterIP = service.clusterIP.flatMap { $0 == "None" ? nil : IPAddressText.bytes($0) }
        if let clusterIP {
            entry.addresses.appendIfMissing(clusterIP)
            entry.ports += Self.zonePorts(service.ports, target: serviceName, address: clusterIP)
            if let address = IPAddressText.ipv4(service.clusterIP ?? "") {
                pointers[address, default: []].appendIfMissing(serviceName)
            }
        }
        for endpoint in service.endpoints {
            guard let address = IPAddressText.bytes(endpoint.ip) else { continue }
            let label = endpoint.hostname ?? Self.dashed(endpoint.ip)
            let endpointName = serviceName.prepending(label.lowercased())
            guard endpointName.isWritable else { continue }
            let ports = Self.zonePorts(endpoint.ports, target: endpointName, address: address)
            endpoints[label.lowercased() + "." + serviceKey, default: ZoneEntry()].add(address: address, ports: ports)
            guard clusterIP == nil else { continue }
            entry.add(address: address, ports: ports)
            if endpoint.hostname != nil, let address = IPAddressText.ipv4(endpoint.ip) {
                pointers[address, default: []].appendIfMissing(endpointName)
            }
        }
    }

    private static func zonePorts(_ ports: [DNSServicePort], target: DNSName, address: [UInt8]) -> [ZonePort] {
        ports.compactMap { port in
            guard let number = UInt16(exactly: port.port), number > 0 else { return nil }
            return ZonePort(name: port.name.lowercased(), protocol: port.protocol.lowercased(), port: number, target: target, address: address)
        }
    }

    /// CoreDNS's name for an endpoint without a hostname: its IP with dots (or colons) as dashes.
    private static func dashed(_ ip: String) -> String {
        String(ip.map { $0 == "." || $0 == ":" ? "-" : $0 })
    }
}

extension ZoneEntry {
    fileprivate mutating func add(address: [UInt8], ports: [ZonePort]) {
        addresses.appendIfMissing(address)
        for port in ports { self.ports.appendIfMissing(port) }
    }
}

extension Array where Element: Equatable {
    fileprivate mutating func appendIfMissing(_ element: Element) {
        if !contains(element) { append(element) }
    }
}
