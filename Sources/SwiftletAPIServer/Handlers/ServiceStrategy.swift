import SwiftletAPI
import SwiftletMachinery

/// Services get a cluster IP and, for NodePort and LoadBalancer, node ports, from the
/// allocators; an update keeps what was allocated unless the client changed it.
struct ServiceStrategy: ResourceStrategy {
    func prepareForCreate(_ object: inout JSONValue, context: StrategyContext) throws(APIError) {
        let name = object[path: "metadata", "name"]?.stringValue ?? ""
        var allocated: [() -> Void] = []  // undo steps, if a later allocation fails
        do throws(APIError) {
            try allocateClusterIP(&object, name: name, context: context, undo: &allocated)
            try allocateNodePorts(&object, old: nil, name: name, context: context, undo: &allocated)
        } catch {
            allocated.forEach { $0() }
            throw error
        }
        if context.dryRun { allocated.forEach { $0() } }
        object["status"] = ["loadBalancer": .object(JSONObject())]
    }

    func prepareForUpdate(_ object: inout JSONValue, old: JSONValue, context: StrategyContext) throws(APIError) {
        let name = object[path: "metadata", "name"]?.stringValue ?? ""
        let hadClusterIP = Self.needsClusterIP(old), needsClusterIP = Self.needsClusterIP(object)
        // A client that leaves out what the server allocated keeps it (as `kubectl replace` does),
        // as upstream's PatchAllocatedValues, while the type still has one.
        if hadClusterIP && needsClusterIP {
            for field in ["clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"] where object[path: "spec", field] == nil {
                object[path: "spec", field] = old[path: "spec", field]
            }
        }
        var allocated: [() -> Void] = []
        do throws(APIError) {
            // An ExternalName Service becoming another type gets its cluster IP now.
            if needsClusterIP && !hadClusterIP { try allocateClusterIP(&object, name: name, context: context, undo: &allocated) }
            try allocateNodePorts(&object, old: old, name: name, context: context, undo: &allocated)
        } catch {
            allocated.forEach { $0() }
            throw error
        }
        if context.dryRun { allocated.forEach { $0() }; return }
        // A Service becoming ExternalName gives its cluster IP back.
        if hadClusterIP && !needsClusterIP, let ip = old[path: "spec", "clusterIP"]?.stringValue, !ip.isEmpty, ip != "None" {
            context.allocators.clusterIPs.release(ip)
        }
        // Ports that went away give their node ports back.
        let kept = Set(nodePorts(object))
        for port in nodePorts(old) where !kept.contains(port) { context.allocators.nodePorts.release(port) }
    }

    static func serviceType(_ service: JSONValue) -> String { service[path: "spec", "type"]?.stringValue ?? "ClusterIP" }

    /// Every type but ExternalName has a cluster IP (even "None" counts).
    static func needsClusterIP(_ service: JSONValue) -> Bool { serviceType(service) != "ExternalName" }

    static func needsNodePorts(_ service: JSONValue) -> Bool { ["NodePort", "LoadBalancer"].contains(serviceType(service)) }

    /// When the type changes, fields that only the old type allows go, unless the client set
    /// them itself in this update (then validation tells it why they are wrong), as upstream's
    /// dropTypeDependentFields: `kubectl apply` of a ClusterIP Service over a LoadBalancer one,
    /// or of an ExternalName Service over a ClusterIP one, would otherwise be refused for fields
    /// the server itself allocated or defaulted.
    func normalizeUpdate(_ object: inout JSONValue, old: JSONValue) {
        let type = Self.serviceType(object)
        guard type != Self.serviceType(old) else { return }
        let new = object
        let unchanged: (String) -> Bool = { new[path: "spec", $0] == old[path: "spec", $0] }
        if Self.needsClusterIP(old) && !Self.needsClusterIP(object) {
            // Released in prepareForUpdate, once the update is sure to be written.
            if unchanged("clusterIP") && unchanged("clusterIPs") {
                object[path: "spec", "clusterIP"] = nil
                object[path: "spec", "clusterIPs"] = nil
            }
            for field in ["ipFamilies", "ipFamilyPolicy"] where unchanged(field) { object[path: "spec", field] = nil }
        }
        if Self.needsNodePorts(old) && !Self.needsNodePorts(object),
           let ports = object[path: "spec", "ports"]?.arrayValue,
           ports.map({ $0["nodePort"] }) == (old[path: "spec", "ports"]?.arrayValue ?? []).map({ $0["nodePort"] }) {
            object[path: "spec", "ports"] = .array(ports.map { var p = $0; p["nodePort"] = nil; return p })
        }
        if type != "LoadBalancer" {
            object[path: "status", "loadBalancer"] = .object(JSONObject())
        }
        if type != "LoadBalancer" {
            for field in ["allocateLoadBalancerNodePorts", "loadBalancerClass"] where unchanged(field) {
                object[path: "spec", field] = nil
            }
        }
        if type != "LoadBalancer" && type != "NodePort" {
            for field in ["externalTrafficPolicy", "healthCheckNodePort"] where unchanged(field) {
                object[path: "spec", field] = nil
            }
        }
    }

    func afterDelete(_ object: JSONValue, context: StrategyContext) {
        if let ip = object[path: "spec", "clusterIP"]?.stringValue, ip != "None" { context.allocators.clusterIPs.release(ip) }
        for port in nodePorts(object) { context.allocators.nodePorts.release(port) }
    }

    private func nodePorts(_ object: JSONValue) -> [Int] {
        (object[path: "spec", "ports"]?.arrayValue ?? []).compactMap { $0["nodePort"]?.intValue.map(Int.init) }
    }

    private func allocateClusterIP(_ object: inout JSONValue, name: String, context: StrategyContext, undo: inout [() -> Void]) throws(APIError) {
        let type = object[path: "spec", "type"]?.stringValue ?? "ClusterIP"
        if type == "ExternalName" { return }
        let requested = object[path: "spec", "clusterIP"]?.stringValue
            ?? object[path: "spec", "clusterIPs"]?[0]?.stringValue ?? ""
        let ip: String
        if requested == "None" {
            ip = "None"
        } else if requested.isEmpty {
            do { ip = try context.allocators.clusterIPs.allocateNext() } catch {
                throw APIError.internalError("failed to allocate a serviceIP: range is full")
            }
            undo.append { context.allocators.clusterIPs.release(ip) }
        } else {
            do {
                try context.allocators.clusterIPs.allocate(requested)
            } catch .outOfRange {
                throw APIError.invalid(group: "", kind: "Service", name: name, errors: [
                    .invalid("spec.clusterIPs", .string(requested),
                             "failed to allocate IP \(requested): the provided IP (\(requested)) is not in the valid range. The range of valid IPs is \(context.allocators.clusterIPs.cidr)"),
                ])
            } catch {
                throw APIError.invalid(group: "", kind: "Service", name: name, errors: [
                    .invalid("spec.clusterIPs", .string(requested), "failed to allocate IP \(requested): provided IP is already allocated"),
                ])
            }
            ip = requested
            undo.append { context.allocators.clusterIPs.release(ip) }
        }
        ServiceDefaults.assignClusterIP(ip, to: &object)
    }

    private func allocateNodePorts(_ object: inout JSONValue, old: JSONValue?, name: String, context: StrategyContext, undo: inout [() -> Void]) throws(APIError) {
        let type = object[path: "spec", "type"]?.stringValue ?? "ClusterIP"
        guard var ports = object[path: "spec", "ports"]?.arrayValue else { return }
        let wantsNodePorts = type == "NodePort"
            || (type == "LoadBalancer" && object[path: "spec", "allocateLoadBalancerNodePorts"]?.boolValue != false)
        let oldPorts = old?[path: "spec", "ports"]?.arrayValue ?? []
        let oldNodePorts = Set(oldPorts.compactMap { $0["nodePort"]?.intValue.map(Int.init) })
        for i in ports.indices {
            if !wantsNodePorts {
                if type == "ClusterIP" || type == "ExternalName" { ports[i]["nodePort"] = nil }
                continue
            }
            if let requested = ports[i]["nodePort"]?.intValue.map(Int.init), requested != 0 {
                if oldNodePorts.contains(requested) { continue }
                do {
                    try context.allocators.nodePorts.allocate(requested)
                    undo.append { context.allocators.nodePorts.release(requested) }
                } catch .outOfRange {
                    throw APIError.invalid(group: "", kind: "Service", name: name, errors: [
                        .invalid("spec.ports[\(i)].nodePort", .int(Int64(requested)),
                                 "provided port is not in the valid range. The range of valid ports is \(context.allocators.nodePorts.range.lowerBound)-\(context.allocators.nodePorts.range.upperBound)"),
                    ])
                } catch {
                    throw APIError.invalid(group: "", kind: "Service", name: name, errors: [
                        .invalid("spec.ports[\(i)].nodePort", .int(Int64(requested)), "provided port is already allocated"),
                    ])
                }
            } else {
                // Keep the node port an unchanged port had before.
                let port = ports[i]["port"]?.intValue
                let proto = ports[i]["protocol"]?.stringValue ?? "TCP"
                if let previous = oldPorts.first(where: { $0["port"]?.intValue == port && ($0["protocol"]?.stringValue ?? "TCP") == proto })?["nodePort"]?.intValue {
                    ports[i]["nodePort"] = .int(previous)
                    continue
                }
                let allocated: Int
                do { allocated = try context.allocators.nodePorts.allocateNext() } catch {
                    throw APIError.internalError("failed to allocate a nodePort: range is full")
                }
                undo.append { context.allocators.nodePorts.release(allocated) }
                ports[i]["nodePort"] = .int(Int64(allocated))
            }
        }
        object[path: "spec", "ports"] = .array(ports)
    }
}
