import Foundation
import SwiftletMachinery

/// Services and where they route: endpoints and endpoint slices.
enum NetworkTables {
    static let service = TablePrinter(
        columns: [
            TableFormat.name,
            TableFormat.column(
                "Type", "string",
                "type determines how the Service is exposed. Defaults to ClusterIP. Valid options are ExternalName, ClusterIP, NodePort, and LoadBalancer. \"ClusterIP\" allocates a cluster-internal IP address for load-balancing to endpoints. Endpoints are determined by the selector or if that is not specified, by manual construction of an Endpoints object or EndpointSlice objects. If clusterIP is \"None\", no virtual IP is allocated and the endpoints are published as a set of endpoints rather than a virtual IP. \"NodePort\" builds on ClusterIP and allocates a port on every node which routes to the same endpoints as the clusterIP. \"LoadBalancer\" builds on NodePort and creates an external load-balancer (if supported in the current cloud) which routes to the same endpoints as the clusterIP. \"ExternalName\" aliases this service to the specified externalName. Several other fields do not apply to ExternalName services. More info: https://kubernetes.io/docs/concepts/services-networking/service/#publishing-services-service-types"
            ),
            TableFormat.column(
                "Cluster-IP", "string",
                "clusterIP is the IP address of the service and is usually assigned randomly. If an address is specified manually, is in-range (as per system configuration), and is not in use, it will be allocated to the service; otherwise creation of the service will fail. This field may not be changed through updates unless the type field is also being changed to ExternalName (which requires this field to be blank) or the type field is being changed from ExternalName (in which case this field may optionally be specified, as describe above).  Valid values are \"None\", empty string (\"\"), or a valid IP address. Setting this to \"None\" makes a \"headless service\" (no virtual IP), which is useful when direct endpoint connections are preferred and proxying is not required.  Only applies to types ClusterIP, NodePort, and LoadBalancer. If this field is specified when creating a Service of type ExternalName, creation will fail. This field will be wiped when updating a Service to type ExternalName. More info: https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies"
            ),
            TableFormat.column(
                "External-IP", "string",
                "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.  These IPs are not managed by Kubernetes.  The user is responsible for ensuring that traffic arrives at a node with this IP.  A common example is external load-balancers that are not part of the Kubernetes system."
            ),
            TableFormat.column(
                "Port(s)", "string",
                "The list of ports that are exposed by this service. More info: https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies"
            ),
            TableFormat.age,
            TableFormat.column(
                "Selector", "string",
                "Route service traffic to pods with label keys and values matching this selector. If empty or not present, the service is assumed to have an external process managing its endpoints, which Kubernetes will not modify. Only applies to types ClusterIP, NodePort, and LoadBalancer. Ignored if type is ExternalName. More info: https://kubernetes.io/docs/concepts/services-networking/service/",
                priority: 1),
        ],
        cells: { service, now in
            let spec = service["spec"]
            // The conversion from v1 makes clusterIP authoritative over clusterIPs.
            let clusterIP =
                TableFormat.text(spec?["clusterIP"]).isEmpty
                ? TableFormat.array(spec?["clusterIPs"]).first?.stringValue ?? "<none>"
                : TableFormat.text(spec?["clusterIP"])
            let ports = TableFormat.array(spec?["ports"]).map { port -> String in
                let number = TableFormat.int(port["port"])
                let nodePort = TableFormat.int(port["nodePort"])
                let proto = TableFormat.text(port["protocol"])
                return nodePort > 0 ? "\(number):\(nodePort)/\(proto)" : "\(number)/\(proto)"
            }.joined(separator: ",")
            return [
                TableFormat.objectName(service), .string(TableFormat.text(spec?["type"])), .string(clusterIP),
                .string(externalIP(service)), .string(ports.isEmpty ? "<none>" : ports),
                TableFormat.creationAge(service, now: now), .string(TableFormat.labels(spec?["selector"])),
            ]
        })

    static let endpoints = TablePrinter(
        columns: [
            TableFormat.name,
            TableFormat.column(
                "Endpoints", "string",
                "The set of all endpoints is the union of all subsets. Addresses are placed into subsets according to the IPs they share. A single address with multiple ports, some of which are ready and some of which are not (because they come from different containers) will result in the address being displayed in different subsets for the different ports. No address will appear in both Addresses and NotReadyAddresses in the same subset. Sets of addresses and ports that comprise a service."
            ),
            TableFormat.age,
        ],
        cells: { endpoints, now in
            [
                TableFormat.objectName(endpoints), .string(formatEndpoints(endpoints)),
                TableFormat.creationAge(endpoints, now: now),
            ]
        })

    static let endpointSlice = TablePrinter(
        columns: [
            TableFormat.name,
            TableFormat.column(
                "AddressType", "string",
                "addressType specifies the type of address carried by this EndpointSlice. All addresses in this slice must be the same type. This field is immutable after creation. The following address types are currently supported: * IPv4: Represents an IPv4 Address. * IPv6: Represents an IPv6 Address. * FQDN: Represents a Fully Qualified Domain Name."
            ),
            TableFormat.column(
                "Ports", "string",
                "ports specifies the list of network ports exposed by each endpoint in this slice. Each port must have a unique name. When ports is empty, it indicates that there are no defined ports. When a port is defined with a nil port value, it indicates \"all ports\". Each slice may include a maximum of 100 ports."
            ),
            TableFormat.column(
                "Endpoints", "string",
                "endpoints is a list of unique endpoints in this slice. Each slice may include a maximum of 1000 endpoints."),
            TableFormat.age,
        ],
        cells: { slice, now in
            let ports = TableFormat.array(slice["ports"]).map { port -> String in
                if let number = TableFormat.present(port["port"]) { return "\(TableFormat.int(number))" }
                if let name = TableFormat.present(port["name"]) { return TableFormat.text(name) }
                return "*"
            }
            let addresses = TableFormat.array(slice["endpoints"]).flatMap {
                TableFormat.array($0["addresses"]).map { TableFormat.text($0) }
            }
            return [
                TableFormat.objectName(slice), .string(TableFormat.text(slice["addressType"])),
                .string(TableFormat.listWithMore(ports, max: 3)), .string(TableFormat.listWithMore(addresses, max: 3)),
                TableFormat.creationAge(slice, now: now),
            ]
        })

    /// getServiceExternalIP. The API server prints wide, so load-balancer addresses are never
    /// clipped to 16 characters here.
    private static func externalIP(_ service: JSONValue) -> String {
        let externalIPs = TableFormat.array(service[path: "spec", "externalIPs"]).map { TableFormat.text($0) }
        switch TableFormat.text(service[path: "spec", "type"]) {
        case "ClusterIP", "NodePort":
            return externalIPs.isEmpty ? "<none>" : externalIPs.joined(separator: ",")
        case "LoadBalancer":
            var ingress = Set<String>()
            for point in TableFormat.array(service[path: "status", "loadBalancer", "ingress"]) {
                let ip = TableFormat.text(point["ip"])
                let hostname = TableFormat.text(point["hostname"])
                if !ip.isEmpty { ingress.insert(ip) } else if !hostname.isEmpty { ingress.insert(hostname) }
            }
            let addresses = ingress.sorted(by: TableFormat.goLess) + externalIPs
            return addresses.isEmpty ? "<pending>" : addresses.joined(separator: ",")
        case "ExternalName":
            return TableFormat.text(service[path: "spec", "externalName"])
        default:
            return "<unknown>"
        }
    }

    /// formatEndpoints: `ip:port` for every ready address and port, at most three, then
    /// "+ N more...". Headless services without ports list bare addresses.
    private static func formatEndpoints(_ endpoints: JSONValue) -> String {
        let subsets = TableFormat.array(endpoints["subsets"])
        guard !subsets.isEmpty else { return "<none>" }
        let max = 3
        var list: [String] = []
        var count = 0
        for subset in subsets {
            let addresses = TableFormat.array(subset["addresses"]).map { TableFormat.text($0["ip"]) }
            let ports = TableFormat.array(subset["ports"])
            if ports.isEmpty {
                count += addresses.count
                list += addresses.prefix(max - list.count)
                continue
            }
            for port in ports {
                count += addresses.count
                let number = TableFormat.int(port["port"])
                list += addresses.prefix(max - list.count).map { TableFormat.hostPort($0, number) }
            }
        }
        let joined = list.joined(separator: ",")
        return count > max ? "\(joined) + \(count - max) more..." : joined
    }
}
