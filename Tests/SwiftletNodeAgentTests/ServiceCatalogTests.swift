import Testing
import SwiftletMachinery
@testable import SwiftletNodeAgent

@Suite struct ServiceCatalogTests {
    static func service(_ name: String, namespace: String = "default", type: String = "ClusterIP", clusterIP: String = "10.43.0.20",
                        created: String = "2026-01-01T00:00:00Z", ports: JSONValue = [["name": "http", "port": 80, "protocol": "TCP"]],
                        extra: (inout JSONValue) -> Void = { _ in }) -> JSONValue {
        var s: JSONValue = [
            "metadata": ["name": .string(name), "namespace": .string(namespace), "creationTimestamp": .string(created)],
            "spec": ["type": .string(type), "clusterIP": .string(clusterIP), "ports": ports],
        ]
        extra(&s)
        return s
    }

    static func slice(_ service: String, name: String? = nil, ports: JSONValue = [["name": "http", "port": 8080, "protocol": "TCP"]],
                      endpoints: [(String, Bool?, String?)]) -> JSONValue {
        [
            "metadata": ["name": .string(name ?? service + "-abc"), "namespace": "default",
                         "labels": ["kubernetes.io/service-name": .string(service)]],
            "addressType": "IPv4", "ports": ports,
            "endpoints": .array(endpoints.map { ip, ready, hostname in
                var e: JSONValue = ["addresses": [.string(ip)]]
                if let ready { e["conditions"] = ["ready": .bool(ready)] }
                if let hostname { e["hostname"] = .string(hostname) }
                e["targetRef"] = ["kind": "Pod", "name": .string("pod-" + ip), "uid": .string("uid-" + ip)]
                return e
            }),
        ]
    }

    @Test func readyEndpointsFromEverySliceServeTheirNamedPort() {
        let catalog = ServiceCatalog.build(
            services: [Self.service("web", ports: [["name": "http", "port": 80, "protocol": "TCP"], ["name": "dns", "port": 53, "protocol": "UDP"]])],
            slices: [
                Self.slice("web", endpoints: [("10.42.0.5", true, nil), ("10.42.0.6", false, nil)]),
                Self.slice("web", name: "web-def", endpoints: [("10.42.1.7", nil, nil)]),
                Self.slice("other", endpoints: [("10.42.0.9", true, nil)]),
            ],
            localDNS: nil)
        let web = catalog.services[0]
        #expect(web.ports[0].endpoints.map { "\($0.ip):\($0.port)" } == ["10.42.0.5:8080", "10.42.1.7:8080"])
        // No slice port named "dns" with UDP: the port has no endpoints (connections are rejected).
        #expect(web.ports[1].endpoints.isEmpty)
        #expect(web.endpoints.map(\.ip) == ["10.42.0.5", "10.42.1.7"])
    }

    @Test func podsTheNodeIsStoppingAreLeftOutWhileSlicesStillListThem() {
        let services = [Self.service("web")]
        let slices = [Self.slice("web", endpoints: [("10.42.0.5", true, nil), ("10.42.0.6", true, nil)])]
        let catalog = ServiceCatalog.build(services: services, slices: slices, localDNS: nil, withdrawn: ["uid-10.42.0.5", "uid-gone"])
        #expect(catalog.services[0].ports[0].endpoints.map(\.ip) == ["10.42.0.6"])
        #expect(catalog.services[0].endpoints.map(\.ip) == ["10.42.0.6"])
        // What the slices still list tells which withdrawals are still needed.
        #expect(catalog.listedPods == ["uid-10.42.0.5", "uid-10.42.0.6"])
    }

    @Test func theClusterDNSServiceIsAnsweredByTheNodeItself() {
        let dns = Self.service("kube-dns", namespace: "kube-system", clusterIP: "10.43.0.10",
                               ports: [["name": "dns", "port": 53, "protocol": "UDP"], ["name": "dns-tcp", "port": 53, "protocol": "TCP"]])
        let catalog = ServiceCatalog.build(services: [dns], slices: [], localDNS: "10.42.3.1")
        #expect(catalog.services[0].ports.map { $0.endpoints.map { "\($0.ip):\($0.port)" } } == [["10.42.3.1:53"], ["10.42.3.1:53"]])
    }

    @Test func typesAffinityAndHostPorts() {
        let catalog = ServiceCatalog.build(services: [
            Self.service("lb-new", type: "LoadBalancer", created: "2026-01-02T00:00:00Z"),
            Self.service("lb-old", type: "LoadBalancer", created: "2026-01-01T00:00:00Z") {
                $0[path: "spec", "sessionAffinity"] = "ClientIP"
            },
            Self.service("headless", clusterIP: "None"),
            Self.service("classed", type: "LoadBalancer") { $0[path: "spec", "loadBalancerClass"] = "example.com/lb" },
            Self.service("external", type: "ExternalName", clusterIP: "") { $0[path: "spec", "externalName"] = "example.com" },
        ], slices: [], localDNS: nil)
        let byName = Dictionary(uniqueKeysWithValues: catalog.services.map { ($0.name, $0) })
        #expect(byName["lb-old"]?.affinityTimeout == 10800)
        #expect(byName["lb-new"]?.affinityTimeout == nil)
        #expect(byName["headless"]?.clusterIP == nil)
        #expect(byName["external"]?.externalName == "example.com")
        #expect(byName["classed"]?.servedOnHost == false)
        // Oldest first, so the older LoadBalancer keeps a contested port.
        #expect(catalog.hostPortClaims.map(\.service) == ["default/lb-old", "default/lb-new"])
    }

    @Test func contestedAndTakenHostPortsAreRefusedWithReasons() {
        let http = HostPort(port: 8088, transport: "TCP")
        let busy = HostPort(port: 9000, transport: "TCP")
        let claims = [HostPortClaim(service: "default/a", hostPort: http), HostPortClaim(service: "default/b", hostPort: http),
                      HostPortClaim(service: "default/a", hostPort: busy)]
        let refused = HostPortReporter.portsInUse(claims, served: [], inUse: { $0 == busy })
        #expect(refused[claims[0]] == nil)
        #expect(refused[claims[1]] == "port 8088/TCP is already served for Service default/a")
        #expect(refused[claims[2]] == "port 9000/TCP is already in use on the host by a process outside the cluster")
        // A port the node already serves is not probed: only its own rules stand behind it.
        #expect(HostPortReporter.portsInUse([claims[2]], served: [busy], inUse: { _ in true }).isEmpty)
    }
}
