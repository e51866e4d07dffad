/// What one node proxies: the Services of the cluster with their ready endpoints, already resolved from Service
/// and EndpointSlice objects by the node agent (target ports turned into numbers, only ready endpoints kept).
public struct ServiceProxyModel: Sendable, Equatable {
    public var services: [ProxiedService]

    public init(services: [ProxiedService] = []) {
        self.services = services
    }
}

public struct ProxiedService: Sendable, Equatable {
    public var namespace: String
    public var name: String
    /// nil for a headless Service, which gets no rules at all.
    public var clusterIP: String?
    /// `sessionAffinity: ClientIP` with this timeout in seconds; nil for `None`.
    public var sessionAffinityTimeout: Int?
    public var ports: [ProxiedServicePort]

    public init(namespace: String, name: String, clusterIP: String?, sessionAffinityTimeout: Int? = nil, ports: [ProxiedServicePort]) {
        self.namespace = namespace
        self.name = name
        self.clusterIP = clusterIP
        self.sessionAffinityTimeout = sessionAffinityTimeout
        self.ports = ports
    }
}

public struct ProxiedServicePort: Sendable, Equatable {
    /// The Service port's name ("" for the single unnamed port).
    public var name: String
    public var transport: ProxyTransport
    public var port: Int
    /// Served on every local address of the node except loopback, as kube-proxy does.
    public var nodePort: Int?
    /// A LoadBalancer port served on the node itself, on loopback and every local address (as k3s ServiceLB and
    /// Docker Desktop do). When two Services claim one host port, the first in the model keeps it.
    public var hostPort: Int?
    /// Ready endpoints; the target port is already resolved.
    public var endpoints: [ProxyEndpoint]

    public init(name: String = "", transport: ProxyTransport = .tcp, port: Int, nodePort: Int? = nil, hostPort: Int? = nil, endpoints: [ProxyEndpoint]) {
        self.name = name
        self.transport = transport
        self.port = port
        self.nodePort = nodePort
        self.hostPort = hostPort
        self.endpoints = endpoints
    }
}

public struct ProxyEndpoint: Sendable, Hashable {
    public var ip: String
    public var port: Int

    public init(ip: String, port: Int) {
        self.ip = ip
        self.port = port
    }
}

/// The Service port protocols the proxy serves (SCTP is not).
public enum ProxyTransport: String, Sendable, Hashable {
    case tcp, udp
}
