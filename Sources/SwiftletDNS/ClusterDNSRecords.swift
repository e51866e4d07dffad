/// What the cluster DNS serves, rebuilt by the node agent from Services and EndpointSlices on every change.
public struct ClusterDNSRecords: Sendable, Equatable {
    public var services: [DNSService]

    public init(services: [DNSService] = []) {
        self.services = services
    }
}

public struct DNSService: Sendable, Equatable {
    public var namespace: String
    public var name: String
    /// The Service's cluster IP; nil for a headless Service (clusterIP None) and for an ExternalName one.
    public var clusterIP: String?
    /// Set for `type: ExternalName`: the name is then a CNAME to it.
    public var externalName: String?
    /// `spec.ports`: the SRV records of a Service with a cluster IP.
    public var ports: [DNSServicePort]
    /// The ready endpoints. A headless Service answers with their addresses; every endpoint is also reachable by
    /// name as `<hostname or dashed IP>.<service>.<namespace>.svc.<domain>`.
    public var endpoints: [DNSEndpoint]

    public init(
        namespace: String, name: String, clusterIP: String? = nil, externalName: String? = nil,
        ports: [DNSServicePort] = [], endpoints: [DNSEndpoint] = []
    ) {
        self.namespace = namespace
        self.name = name
        self.clusterIP = clusterIP
        self.externalName = externalName
        self.ports = ports
        self.endpoints = endpoints
    }
}

public struct DNSServicePort: Sendable, Equatable {
    public var name: String
    /// "TCP", "UDP" or "SCTP", as in the Service spec; matched case-insensitively against `_tcp`/`_udp`.
    public var `protocol`: String
    public var port: Int

    public init(name: String, protocol: String = "TCP", port: Int) {
        self.name = name
        self.protocol = `protocol`
        self.port = port
    }
}

public struct DNSEndpoint: Sendable, Equatable {
    public var ip: String
    /// `endpoints[].hostname` of the EndpointSlice (set from the pod's `hostname` when `subdomain` names the Service).
    public var hostname: String?
    /// The EndpointSlice's ports (target ports, as clients connect to the pod): the SRV records of a headless Service
    /// and of an endpoint's own name use these, as CoreDNS does.
    public var ports: [DNSServicePort]

    public init(ip: String, hostname: String? = nil, ports: [DNSServicePort] = []) {
        self.ip = ip
        self.hostname = hostname
        self.ports = ports
    }
}
