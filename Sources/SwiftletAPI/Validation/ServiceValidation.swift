import SwiftletMachinery

/// ValidateService and ValidateServiceUpdate. Cluster IPs and node ports are validated as far as
/// the client sent them: Swiftlet allocates after validation, where upstream allocates before.
enum ServiceValidation {
    static let spec = ValidationPath("spec")
    static let types = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]

    static func validate(_ service: JSONValue) -> [FieldError] {
        let spec = service["spec"] ?? .object(JSONObject())
        let type = FieldRead.string(spec["type"])
        let clusterIPs = Self.clusterIPs(spec)
        let headless = clusterIPs == ["None"]
        let ports = FieldRead.objects(spec["ports"])
        var errors = ObjectMetaValidation.validate(service, rule: .rfc1035Label)
        if ports.isEmpty && !headless && type != "ExternalName" { errors.append(.required(Self.spec.child("ports").description)) }
        switch type {
        case "LoadBalancer", "NodePort":
            if headless {
                errors.append(.invalid(Self.spec.child("clusterIPs").index(0).description, "None", "may not be set to 'None' for \(type) services"))
            }
        case "ExternalName":
            if !clusterIPs.isEmpty { errors.append(.forbidden(Self.spec.child("clusterIPs").description, "may not be set for ExternalName services")) }
            if !FieldRead.strings(spec["ipFamilies"]).isEmpty { errors.append(.forbidden(Self.spec.child("ipFamilies").description, "may not be set for ExternalName services")) }
            if FieldRead.isSet(spec["ipFamilyPolicy"]) { errors.append(.forbidden(Self.spec.child("ipFamilyPolicy").description, "may not be set for ExternalName services")) }
            var name = FieldRead.string(spec["externalName"])
            if name.hasSuffix(".") { name.removeLast() }
            errors += name.isEmpty ? [.required(Self.spec.child("externalName").description)] : CommonRules.dns1123Subdomain(name, Self.spec.child("externalName"))
        default:
            break
        }
        var portNames: Set<String> = []
        for (i, port) in ports.enumerated() {
            errors += servicePort(port, requireName: ports.count > 1, names: &portNames, Self.spec.child("ports").index(i))
        }
        errors += LabelSelector.validateLabels(spec["selector"]?.objectValue, path: Self.spec.child("selector").description)
        errors += sessionAffinity(spec)
        if type != "ExternalName" { errors += ServiceAddressValidation.clusterIPs(spec, clusterIPs) }
        for (i, ip) in FieldRead.strings(spec["externalIPs"]).enumerated() where !IPAddressFormat.isIP(ip) {
            errors.append(.invalid(Self.spec.child("externalIPs").index(i).description, .string(ip), IPAddressFormat.ipMessage))
        }
        errors += CommonRules.oneOf(spec["type"], types, Self.spec.child("type"))
        errors += nodePortRules(ports, type: type)
        errors += loadBalancerFields(service, spec, type: type)
        errors += trafficPolicies(spec, type: type)
        return errors
    }

    /// What the strategy normalizes before validation: `clusterIPs` mirrors `clusterIP`.
    static func clusterIPs(_ spec: JSONValue) -> [String] {
        let list = FieldRead.strings(spec["clusterIPs"])
        if !list.isEmpty { return list }
        let single = FieldRead.string(spec["clusterIP"])
        return single.isEmpty ? [] : [single]
    }

    static func servicePort(_ port: JSONValue, requireName: Bool, names: inout Set<String>, _ path: ValidationPath) -> [FieldError] {
        var errors: [FieldError] = []
        let name = FieldRead.string(port["name"])
        if requireName && name.isEmpty {
            errors.append(.required(path.child("name").description))
        } else if !name.isEmpty {
            errors += CommonRules.dns1123Label(name, path.child("name"))
            if !names.insert(name).inserted { errors.append(.duplicate(path.child("name").description, .string(name))) }
        }
        errors += CommonRules.portNumber(port["port"]?.intValue ?? 0, path.child("port"))
        errors += CommonRules.oneOf(port["protocol"], ContainerValidation.protocols, path.child("protocol"))
        errors += CommonRules.portNumberOrName(port["targetPort"], path.child("targetPort"))
        if let appProtocol = port["appProtocol"]?.stringValue { errors += CommonRules.qualifiedName(appProtocol, path.child("appProtocol")) }
        return errors
    }

    static func sessionAffinity(_ spec: JSONValue) -> [FieldError] {
        let path = Self.spec.child("sessionAffinityConfig")
        switch FieldRead.string(spec["sessionAffinity"]) {
        case "":
            return [.required(Self.spec.child("sessionAffinity").description)]
        case "None":
            return FieldRead.isSet(spec["sessionAffinityConfig"]) ? [.forbidden(path.description, "must not be set when session affinity is None")] : []
        case "ClientIP":
            let detail = "when session affinity type is ClientIP"
            guard FieldRead.isSet(spec["sessionAffinityConfig"]) else { return [.required(path.description, detail)] }
            guard FieldRead.isSet(spec[path: "sessionAffinityConfig", "clientIP"]) else { return [.required(path.child("clientIP").description, detail)] }
            guard let timeout = spec[path: "sessionAffinityConfig", "clientIP", "timeoutSeconds"]?.intValue else {
                return [.required(path.child("clientIP", "timeoutSeconds").description, detail)]
            }
            return timeout <= 0 || timeout > 86400
                ? [.invalid(path.child("clientIP", "timeoutSeconds").description, .int(timeout), "must be greater than 0 and less than 86400")] : []
        case let other:
            return [.notSupported(Self.spec.child("sessionAffinity").description, .string(other), ["ClientIP", "None"])]
        }
    }

    /// No node ports on ClusterIP services, and no (protocol, port) or node port twice.
    static func nodePortRules(_ ports: [JSONValue], type: String) -> [FieldError] {
        var errors: [FieldError] = []
        let path = Self.spec.child("ports")
        if type == "ClusterIP" {
            for (i, port) in ports.enumerated() where (port["nodePort"]?.intValue ?? 0) != 0 {
                errors.append(.forbidden(path.index(i).child("nodePort").description, "may not be used when `type` is 'ClusterIP'"))
            }
        }
        var nodePorts: Set<String> = []
        for (i, port) in ports.enumerated() {
            guard let nodePort = port["nodePort"]?.intValue, nodePort != 0 else { continue }
            if !nodePorts.insert("\(FieldRead.string(port["protocol"]))/\(nodePort)").inserted {
                errors.append(.duplicate(path.index(i).child("nodePort").description, .int(nodePort)))
            }
        }
        var seen: Set<String> = []
        for (i, port) in ports.enumerated() {
            let proto = FieldRead.string(port["protocol"]), number = port["port"]?.intValue ?? 0
            if !seen.insert("\(proto)/\(number)").inserted {
                // The internal ServicePort struct, as Go prints it.
                let value = GoValue.goStruct([("Name", ""), ("Protocol", .string(proto)), ("AppProtocol", .null), ("Port", .int(number)),
                                              ("TargetPort", 0), ("NodePort", 0)])
                errors.append(.duplicate(path.index(i).description, value))
            }
        }
        return errors
    }

    static func loadBalancerFields(_ service: JSONValue, _ spec: JSONValue, type: String) -> [FieldError] {
        var errors: [FieldError] = []
        let onlyLoadBalancer = "may only be used when `type` is 'LoadBalancer'"
        let ranges = FieldRead.strings(spec["loadBalancerSourceRanges"])
        if !ranges.isEmpty {
            let path = Self.spec.child("LoadBalancerSourceRanges")
            if type != "LoadBalancer" { errors.append(.forbidden(path.description, onlyLoadBalancer)) }
            for (i, range) in ranges.enumerated() {
                let trimmed = String(range.drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
                if !IPAddressFormat.isCIDR(trimmed) { errors.append(.invalid(path.index(i).description, .string(trimmed), IPAddressFormat.cidrMessage)) }
            }
        }
        if FieldRead.isSet(spec["allocateLoadBalancerNodePorts"]) && type != "LoadBalancer" {
            errors.append(.forbidden(Self.spec.child("allocateLoadBalancerNodePorts").description, onlyLoadBalancer))
        }
        if type == "LoadBalancer" && !FieldRead.isSet(spec["allocateLoadBalancerNodePorts"]) {
            errors.append(.required("allocateLoadBalancerNodePorts"))
        }
        if let loadBalancerClass = spec["loadBalancerClass"]?.stringValue {
            errors += type == "LoadBalancer"
                ? CommonRules.qualifiedName(loadBalancerClass, Self.spec.child("loadBalancerClass"))
                : [.forbidden(Self.spec.child("loadBalancerClass").description, onlyLoadBalancer)]
        }
        return errors
    }

    static func trafficPolicies(_ spec: JSONValue, type: String) -> [FieldError] {
        var errors: [FieldError] = []
        let external = FieldRead.string(spec["externalTrafficPolicy"])
        let accessible = type == "LoadBalancer" || type == "NodePort" || (type == "ClusterIP" && !FieldRead.strings(spec["externalIPs"]).isEmpty)
        if !accessible {
            if !external.isEmpty {
                errors.append(.invalid(Self.spec.child("externalTrafficPolicy").description, .string(external), "may only be set for externally-accessible services"))
            }
        } else {
            errors += CommonRules.oneOf(spec["externalTrafficPolicy"], ["Cluster", "Local"], Self.spec.child("externalTrafficPolicy"))
        }
        // A health check port is allocated for LoadBalancer+Local services; before that it may be absent.
        let healthCheck = spec["healthCheckNodePort"]?.intValue ?? 0
        if healthCheck != 0 {
            if type == "LoadBalancer" && external == "Local" {
                errors += CommonRules.portNumber(healthCheck, Self.spec.child("healthCheckNodePort"))
            } else {
                errors.append(.invalid(Self.spec.child("healthCheckNodePort").description, .int(healthCheck),
                                       "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"))
            }
        }
        if let policy = spec["internalTrafficPolicy"], !policy.isNull {
            let text = FieldRead.string(policy)
            if text != "Cluster" && text != "Local" {
                errors.append(.notSupported(Self.spec.child("internalTrafficPolicy").description, .string(text), ["Cluster", "Local"]))
            }
        } else if ["NodePort", "LoadBalancer", "ClusterIP"].contains(type) {
            errors.append(.required(Self.spec.child("internalTrafficPolicy").description))
        }
        return errors
    }
}
