import Foundation
import SwiftletAPI
import SwiftletMachinery
import Testing

/// Services, endpoints and endpoint slices, against printers.go in Kubernetes 1.34.
@Suite struct TableNetworkTests {
    typealias F = TableFixtures

    func service(_ name: String, age: TimeInterval = 600, spec: JSONValue, status: JSONValue = [:]) -> JSONValue {
        ["apiVersion": "v1", "kind": "Service", "metadata": F.metadata(name, age: age), "spec": spec, "status": status]
    }

    @Test func clusterIP() {
        let svc = service(
            "kubernetes", age: 3 * 86_400,
            spec: [
                "type": "ClusterIP", "clusterIP": "10.43.0.1", "clusterIPs": ["10.43.0.1"],
                "ports": [["name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443]],
            ])
        #expect(F.cells("", "services", svc) == ["kubernetes", "ClusterIP", "10.43.0.1", "<none>", "443/TCP", "3d", "<none>"])
    }

    @Test func loadBalancerWithHostnameIngress() {
        let svc = service(
            "numbers-web",
            spec: [
                "type": "LoadBalancer", "clusterIP": "10.43.17.201", "clusterIPs": ["10.43.17.201"],
                "selector": ["app": "numbers-web"],
                "ports": [["port": 8088, "protocol": "TCP", "targetPort": 80, "nodePort": 30123]],
            ],
            status: ["loadBalancer": ["ingress": [["hostname": "localhost"]]]])
        #expect(
            F.cells("", "services", svc)
                == ["numbers-web", "LoadBalancer", "10.43.17.201", "localhost", "8088:30123/TCP", "10m", "app=numbers-web"])
    }

    @Test func loadBalancerAddresses() {
        let pending = service(
            "lb", spec: ["type": "LoadBalancer", "clusterIP": "10.43.0.9", "ports": [["port": 80, "protocol": "TCP"]]])
        #expect(F.cells("", "services", pending)[3] == "<pending>")

        // Ingress points are de-duplicated and sorted; spec.externalIPs follow them. Nothing is
        // clipped: the server prints wide.
        let busy = service(
            "lb", spec: ["type": "LoadBalancer", "externalIPs": ["203.0.113.9"]],
            status: [
                "loadBalancer": [
                    "ingress": [
                        ["ip": "192.168.5.20"], ["ip": "192.168.5.10", "hostname": "ignored"], ["hostname": "lb.example.com"],
                        ["ip": "192.168.5.20"],
                    ]
                ]
            ])
        #expect(F.cells("", "services", busy)[3] == "192.168.5.10,192.168.5.20,lb.example.com,203.0.113.9")
    }

    @Test func nodePortExternalNameAndHeadless() {
        let nodePort = service(
            "np",
            spec: [
                "type": "NodePort", "clusterIP": "10.43.5.5", "externalIPs": ["198.51.100.1", "198.51.100.2"],
                "ports": [
                    ["port": 80, "nodePort": 30080, "protocol": "TCP"], ["port": 53, "nodePort": 30053, "protocol": "UDP"],
                ],
            ])
        #expect(
            Array(F.cells("", "services", nodePort)[1...4]) == [
                "NodePort", "10.43.5.5", "198.51.100.1,198.51.100.2", "80:30080/TCP,53:30053/UDP",
            ])

        let external = service("db", spec: ["type": "ExternalName", "externalName": "db.example.com"])
        #expect(Array(F.cells("", "services", external)[1...4]) == ["ExternalName", "<none>", "db.example.com", "<none>"])

        let headless = service(
            "todo-db",
            spec: [
                "type": "ClusterIP", "clusterIP": "None", "clusterIPs": ["None"], "ports": [["port": 5432, "protocol": "TCP"]],
            ])
        #expect(Array(F.cells("", "services", headless)[1...4]) == ["ClusterIP", "None", "<none>", "5432/TCP"])

        let untyped = service("odd", spec: ["clusterIPs": ["10.43.9.9"]])
        #expect(Array(F.cells("", "services", untyped)[1...3]) == ["", "10.43.9.9", "<unknown>"])
    }

    @Test func serviceColumns() {
        let columns = TableConverter.columns(group: "", resource: "services")
        #expect(columns.map(\.name) == ["Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age", "Selector"])
        #expect(columns.map(\.priority) == [0, 0, 0, 0, 0, 0, 1])
    }

    func endpoints(_ subsets: JSONValue) -> JSONValue {
        ["apiVersion": "v1", "kind": "Endpoints", "metadata": F.metadata("web", age: 90), "subsets": subsets]
    }

    @Test func endpointsList() {
        let two = endpoints([
            ["addresses": [["ip": "10.42.0.5"], ["ip": "10.42.0.6"]], "ports": [["port": 80, "protocol": "TCP"]]]
        ])
        #expect(F.cells("", "endpoints", two) == ["web", "10.42.0.5:80,10.42.0.6:80", "90s"])

        let many = endpoints([
            ["addresses": [["ip": "10.42.0.5"], ["ip": "10.42.0.6"]], "ports": [["port": 80], ["port": 443]]]
        ])
        #expect(F.cells("", "endpoints", many)[1] == "10.42.0.5:80,10.42.0.6:80,10.42.0.5:443 + 1 more...")

        #expect(F.cells("", "endpoints", endpoints([]))[1] == "<none>")
        #expect(F.cells("", "endpoints", ["metadata": F.metadata("web", age: 1)])[1] == "<none>")
    }

    @Test func endpointsEdgeCases() {
        let headless = endpoints([["addresses": [["ip": "10.42.0.7"], ["ip": "10.42.0.8"]]]])
        #expect(F.cells("", "endpoints", headless)[1] == "10.42.0.7,10.42.0.8")

        let ipv6 = endpoints([["addresses": [["ip": "fd00:10:42::5"]], "ports": [["port": 8080]]]])
        #expect(F.cells("", "endpoints", ipv6)[1] == "[fd00:10:42::5]:8080")

        // Only ready addresses are listed; a subset with none leaves the cell empty.
        let notReady = endpoints([["notReadyAddresses": [["ip": "10.42.0.9"]], "ports": [["port": 80]]]])
        #expect(F.cells("", "endpoints", notReady)[1] == "")
    }

    @Test func endpointSlice() {
        let slice: JSONValue = [
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "metadata": F.metadata("web-abc12", age: 90),
            "addressType": "IPv4",
            "ports": [["name": "http", "port": 80, "protocol": "TCP"], ["name": "metrics", "protocol": "TCP"], [:]],
            "endpoints": [
                ["addresses": ["10.42.0.5"]], ["addresses": ["10.42.0.6"]], ["addresses": ["10.42.0.7", "10.42.0.8"]],
            ],
        ]
        #expect(
            F.cells("discovery.k8s.io", "endpointslices", slice)
                == ["web-abc12", "IPv4", "80,metrics,*", "10.42.0.5,10.42.0.6,10.42.0.7 + 1 more...", "90s"])

        let empty: JSONValue = ["metadata": F.metadata("empty", age: 5), "addressType": "IPv6", "endpoints": []]
        #expect(F.cells("discovery.k8s.io", "endpointslices", empty) == ["empty", "IPv6", "<unset>", "<unset>", "5s"])
    }
}
