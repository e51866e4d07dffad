import SwiftletDNS
import SwiftletProxy

/// The catalog as the proxy and the DNS server take it.
extension ServiceCatalog {
    /// Ports that LoadBalancer Services ask to be served on the host, oldest Service first.
    var hostPortClaims: [HostPortClaim] {
        services.filter { $0.servedOnHost && $0.clusterIP != nil }.flatMap { service in
            service.ports.map { HostPortClaim(service: service.key, hostPort: HostPort(port: $0.port, transport: $0.transport)) }
        }
    }

    func proxyModel(excludingHostPorts refused: Set<HostPortClaim>) -> ServiceProxyModel {
        ServiceProxyModel(services: services.compactMap { service in
            guard let clusterIP = service.clusterIP else { return nil }
            let ports = service.ports.compactMap { port -> ProxiedServicePort? in
                guard let transport = ProxyTransport(rawValue: port.transport.lowercased()) else { return nil }  // SCTP is not proxied
                let claim = HostPortClaim(service: service.key, hostPort: HostPort(port: port.port, transport: port.transport))
                return ProxiedServicePort(
                    name: port.name, transport: transport, port: port.port, nodePort: port.nodePort,
                    hostPort: service.servedOnHost && !refused.contains(claim) ? port.port : nil,
                    endpoints: port.endpoints.map { ProxyEndpoint(ip: $0.ip, port: $0.port) })
            }
            return ProxiedService(namespace: service.namespace, name: service.name, clusterIP: clusterIP,
                                  sessionAffinityTimeout: service.affinityTimeout, ports: ports)
        })
    }

    var dnsRecords: ClusterDNSRecords {
        ClusterDNSRecords(services: services.map { service in
            DNSService(namespace: service.namespace, name: service.name, clusterIP: service.clusterIP,
                       externalName: service.externalName,
                       ports: service.ports.map { DNSServicePort(name: $0.name, protocol: $0.transport, port: $0.port) },
                       endpoints: service.endpoints.map { endpoint in
                           // A headless Service's SRV records name the port each endpoint really serves.
                           let ports = service.ports.compactMap { port in
                               port.endpoints.first { $0.ip == endpoint.ip }.map {
                                   DNSServicePort(name: port.name, protocol: port.transport, port: $0.port)
                               }
                           }
                           return DNSEndpoint(ip: endpoint.ip, hostname: endpoint.hostname, ports: ports)
                       })
        })
    }
}
