import SwiftletAPI
import SwiftletMachinery

/// The variables the kubelet gives every container for Services (`pkg/kubelet/envvars`): the
/// `kubernetes` Service of `default` always (what in-cluster clients read to find the API),
/// and, unless the pod turns `enableServiceLinks` off, each Service of its own namespace that
/// has a cluster IP, as `NAME_SERVICE_HOST`, `NAME_SERVICE_PORT[_PORTNAME]` and Docker's link
/// variables (`NAME_PORT`, `NAME_PORT_80_TCP`, `..._PROTO`, `..._PORT`, `..._ADDR`).
enum ServiceEnvironment {
    static let masterNamespace = "default"
    static let masterService = "kubernetes"

    /// - Parameters:
    ///   - namespaceServices: the Services of the pod's namespace.
    ///   - masterService: the `kubernetes` Service of `default`, if there is one.
    static func variables(for pod: JSONValue, namespaceServices: [JSONValue], masterService: JSONValue?) -> [(name: String, value: String)] {
        var byName: [String: JSONValue] = [:]
        if let masterService, hasClusterIP(masterService) { byName[Self.masterService] = masterService }
        if pod[path: "spec", "enableServiceLinks"]?.boolValue != false {
            for service in namespaceServices where hasClusterIP(service) {
                byName[FieldRead.string(service[path: "metadata", "name"])] = service
            }
        }
        return byName.sorted { $0.key < $1.key }.flatMap { variables(of: $0.value) }
    }

    private static func hasClusterIP(_ service: JSONValue) -> Bool {
        let ip = FieldRead.string(service[path: "spec", "clusterIP"])
        return !ip.isEmpty && ip != "None"
    }

    private static func variables(of service: JSONValue) -> [(name: String, value: String)] {
        let prefix = variableName(FieldRead.string(service[path: "metadata", "name"]))
        let ip = FieldRead.string(service[path: "spec", "clusterIP"])
        let ports = service[path: "spec", "ports"]?.arrayValue ?? []
        guard let first = ports.first else { return [(prefix + "_SERVICE_HOST", ip)] }
        var result = [(prefix + "_SERVICE_HOST", ip), (prefix + "_SERVICE_PORT", String(first["port"]?.intValue ?? 0))]
        for port in ports {
            let name = FieldRead.string(port["name"])
            if !name.isEmpty { result.append((prefix + "_SERVICE_PORT_" + variableName(name), String(port["port"]?.intValue ?? 0))) }
        }
        for (index, port) in ports.enumerated() {
            let number = port["port"]?.intValue ?? 0
            let proto = FieldRead.string(port["protocol"]).isEmpty ? "TCP" : FieldRead.string(port["protocol"])
            let address = "\(proto.lowercased())://\(ip.contains(":") ? "[\(ip)]" : ip):\(number)"
            if index == 0 { result.append((prefix + "_PORT", address)) }
            let portPrefix = "\(prefix)_PORT_\(number)_\(proto.uppercased())"
            result += [(portPrefix, address), (portPrefix + "_PROTO", proto.lowercased()), (portPrefix + "_PORT", String(number)),
                       (portPrefix + "_ADDR", ip)]
        }
        return result
    }

    private static func variableName(_ name: String) -> String {
        name.replacingOccurrences(of: "-", with: "_").uppercased()
    }
}
