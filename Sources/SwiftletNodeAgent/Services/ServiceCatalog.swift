import SwiftletMachinery

/// Services with their ready endpoints, read once from the Service and EndpointSlice caches:
/// the one interpretation of those objects that the proxy and the DNS server both build on.
struct ServiceCatalog: Equatable {
    struct Endpoint: Equatable {
        var ip: String
        var hostname: String?
    }

    struct Port: Equatable {
        var name: String
        /// "TCP", "UDP" or "SCTP", as the Service says.
        var transport: String
        var port: Int
        var nodePort: Int?
        /// Ready endpoints with the port each serves this Service port on (its resolved targetPort).
        var endpoints: [(ip: String, port: Int)]

        static func == (a: Port, b: Port) -> Bool {
            a.name == b.name && a.transport == b.transport && a.port == b.port && a.nodePort == b.nodePort
                && a.endpoints.elementsEqual(b.endpoints, by: { $0.ip == $1.ip && $0.port == $1.port })
        }
    }

    struct Service: Equatable {
        var namespace: String
        var name: String
        /// nil for headless and ExternalName Services, which get no virtual IP.
        var clusterIP: String?
        var externalName: String?
        /// Seconds a client sticks to one endpoint (`sessionAffinity: ClientIP`); nil for None.
        var affinityTimeout: Int?
        /// Served on the host at its ports (a LoadBalancer that no other implementation claims).
        var servedOnHost: Bool
        var ports: [Port]
        /// Ready endpoints' addresses, for headless DNS answers.
        var endpoints: [Endpoint]
        var creationTimestamp: String

        var key: String { namespace + "/" + name }
    }

    var services: [Service]
    /// Pods (by uid) that some slice still lists: the withdrawals still needed.
    var listedPods: Set<String> = []

    /// - Parameter localDNS: the node's own DNS server, which answers for the cluster DNS
    ///   Service (`kube-system/kube-dns`) in place of endpoints, as NodeLocal DNSCache does.
    /// - Parameter withdrawn: pods (by uid) this node is stopping, left out although their
    ///   slices may still list them as ready.
    static func build(services: [JSONValue], slices: [JSONValue], localDNS: String?, withdrawn: Set<String> = []) -> ServiceCatalog {
        var slicesByService: [String: [JSONValue]] = [:]
        var listedPods = Set<String>()
        for var slice in slices {
            guard let namespace = slice[path: "metadata", "namespace"]?.stringValue,
                  let service = slice[path: "metadata", "labels", "kubernetes.io/service-name"]?.stringValue,
                  slice["addressType"]?.stringValue == "IPv4" else { continue }
            let endpoints = slice["endpoints"]?.arrayValue ?? []
            for endpoint in endpoints { if let uid = endpoint[path: "targetRef", "uid"]?.stringValue { listedPods.insert(uid) } }
            if !withdrawn.isEmpty {
                slice["endpoints"] = .array(endpoints.filter { endpoint in
                    endpoint[path: "targetRef", "uid"]?.stringValue.map { !withdrawn.contains($0) } ?? true
                })
            }
            slicesByService[namespace + "/" + service, default: []].append(slice)
        }
        let entries = services.compactMap { service -> Service? in
            guard let namespace = service[path: "metadata", "namespace"]?.stringValue,
                  let name = service[path: "metadata", "name"]?.stringValue else { return nil }
            let key = namespace + "/" + name
            if key == "kube-system/kube-dns", let localDNS {
                return entry(service, namespace: namespace, name: name, slices: []) { _ in [(localDNS, 53)] }
            }
            return entry(service, namespace: namespace, name: name, slices: slicesByService[key] ?? []) { port in
                readyEndpoints(for: port, in: slicesByService[key] ?? [])
            }
        }
        // Oldest first: when two Services want one host port, the older keeps it.
        return ServiceCatalog(services: entries.sorted { ($0.creationTimestamp, $0.key) < ($1.creationTimestamp, $1.key) },
                              listedPods: listedPods)
    }

    private static func entry(_ service: JSONValue, namespace: String, name: String, slices: [JSONValue],
                              endpoints: (_ port: (name: String, transport: String)) -> [(ip: String, port: Int)]) -> Service {
        let spec = service["spec"] ?? .null
        let type = spec["type"]?.stringValue ?? "ClusterIP"
        let clusterIP = spec["clusterIP"]?.stringValue.flatMap { $0.isEmpty || $0 == "None" ? nil : $0 }
        let affinity = spec["sessionAffinity"]?.stringValue == "ClientIP"
            ? Int(spec[path: "sessionAffinityConfig", "clientIP", "timeoutSeconds"]?.intValue ?? 10800) : nil
        let ports = (spec["ports"]?.arrayValue ?? []).compactMap { port -> Port? in
            guard let number = port["port"]?.intValue else { return nil }
            let portName = port["name"]?.stringValue ?? ""
            let transport = port["protocol"]?.stringValue ?? "TCP"
            return Port(name: portName, transport: transport, port: Int(number), nodePort: port["nodePort"]?.intValue.map(Int.init),
                        endpoints: endpoints((portName, transport)))
        }
        var addresses: [Endpoint] = []
        var seen = Set<String>()
        for slice in slices {
            for endpoint in slice["endpoints"]?.arrayValue ?? [] where isReady(endpoint) {
                for ip in endpoint["addresses"]?.arrayValue?.compactMap(\.stringValue) ?? [] where seen.insert(ip).inserted {
                    addresses.append(Endpoint(ip: ip, hostname: endpoint["hostname"]?.stringValue))
                }
            }
        }
        return Service(namespace: namespace, name: name, clusterIP: type == "ExternalName" ? nil : clusterIP,
                       externalName: type == "ExternalName" ? spec["externalName"]?.stringValue : nil,
                       affinityTimeout: affinity,
                       servedOnHost: type == "LoadBalancer" && spec["loadBalancerClass"]?.stringValue == nil,
                       ports: ports, endpoints: addresses.sorted { $0.ip < $1.ip },
                       creationTimestamp: service[path: "metadata", "creationTimestamp"]?.stringValue ?? "")
    }

    /// The ready endpoints serving one Service port: the slices' port of the same name and
    /// protocol gives the target port, as kube-proxy matches them.
    private static func readyEndpoints(for port: (name: String, transport: String), in slices: [JSONValue]) -> [(ip: String, port: Int)] {
        var found: [(ip: String, port: Int)] = []
        var seen = Set<String>()
        for slice in slices {
            guard let target = (slice["ports"]?.arrayValue ?? []).first(where: {
                ($0["name"]?.stringValue ?? "") == port.name && ($0["protocol"]?.stringValue ?? "TCP") == port.transport
            })?["port"]?.intValue else { continue }
            for endpoint in slice["endpoints"]?.arrayValue ?? [] where isReady(endpoint) {
                for ip in endpoint["addresses"]?.arrayValue?.compactMap(\.stringValue) ?? [] where seen.insert("\(ip):\(target)").inserted {
                    found.append((ip, Int(target)))
                }
            }
        }
        return found.sorted { ($0.ip, $0.port) < ($1.ip, $1.port) }
    }

    /// An endpoint whose readiness is unknown counts as ready, as the API documents.
    private static func isReady(_ endpoint: JSONValue) -> Bool {
        endpoint[path: "conditions", "ready"]?.boolValue ?? true
    }
}
