import SwiftletMachinery

/// Cluster IPs and IP families of a Service, on create and on update.
enum ServiceAddressValidation {
    static let spec = ValidationPath("spec")

    /// ValidateServiceClusterIPsRelatedFields.
    static func clusterIPs(_ spec: JSONValue, _ ips: [String]) -> [FieldError] {
        var errors: [FieldError] = []
        let ipsPath = Self.spec.child("clusterIPs")
        let listValue = JSONValue.array(ips.map { .string($0) })
        let single = FieldRead.string(spec["clusterIP"])
        if !single.isEmpty, let first = ips.first, first != single {
            errors.append(.invalid(ipsPath.description, listValue, "first value must match `clusterIP`"))
        }
        let families = FieldRead.strings(spec["ipFamilies"])
        var seenFamilies: Set<String> = []
        for (i, family) in families.enumerated() {
            if family != "IPv4" && family != "IPv6" {
                errors.append(.notSupported(Self.spec.child("ipFamilies").index(i).description, .string(family), ["IPv4", "IPv6"]))
            }
            if !seenFamilies.insert(family).inserted { errors.append(.duplicate(Self.spec.child("ipFamilies").index(i).description, .string(family))) }
        }
        if let policy = spec["ipFamilyPolicy"], !policy.isNull, !["PreferDualStack", "RequireDualStack", "SingleStack"].contains(FieldRead.string(policy)) {
            errors.append(.notSupported(Self.spec.child("ipFamilyPolicy").description, policy, ["PreferDualStack", "RequireDualStack", "SingleStack"]))
        }
        var invalid = false
        for (i, ip) in ips.enumerated() {
            if i == 0 && ip == "None" {
                if ips.count > 1 {
                    invalid = true
                    errors.append(.invalid(ipsPath.description, listValue, "'None' must be the first and only value"))
                }
                continue
            }
            if !IPAddressFormat.isIP(ip) {
                invalid = true
                errors.append(.invalid(ipsPath.index(i).description, .string(ip), IPAddressFormat.ipMessage))
            }
        }
        if ips.count > 2 { errors.append(.invalid(ipsPath.description, listValue, "may only hold up to 2 values")) }
        if invalid { return errors }
        if ips.count > 1 && ips.filter({ $0.contains(":") }).count != 1 {
            errors.append(.invalid(ipsPath.description, listValue, "may specify no more than one IP for each IP family"))
        }
        if ips != ["None"] {
            for (i, ip) in ips.enumerated() where i < families.count {
                let isV6 = ip.contains(":")
                if families[i] == "IPv4" && isV6 {
                    errors.append(.invalid(ipsPath.index(i).description, .string(ip), "expected an IPv4 value as indicated by `ipFamilies[\(i)]`"))
                } else if families[i] == "IPv6" && !isV6 {
                    errors.append(.invalid(ipsPath.index(i).description, .string(ip), "expected an IPv6 value as indicated by `ipFamilies[\(i)]`"))
                }
            }
        }
        return errors
    }

    /// validateUpgradeDowngradeClusterIPs and the other update rules. A client that leaves out
    /// what was allocated keeps it, so missing fields read as the old values.
    static func update(_ service: JSONValue, old: JSONValue) -> [FieldError] {
        let spec = service["spec"] ?? .object(JSONObject()), oldSpec = old["spec"] ?? .object(JSONObject())
        let type = FieldRead.string(spec["type"]), oldType = FieldRead.string(oldSpec["type"])
        var errors: [FieldError] = []
        if type != "ExternalName" && oldType != "ExternalName" {
            var newIPs = ServiceValidation.clusterIPs(spec)
            let oldIPs = ServiceValidation.clusterIPs(oldSpec)
            if newIPs.isEmpty { newIPs = oldIPs }
            errors += changedList(new: newIPs, old: oldIPs, path: Self.spec.child("clusterIPs"), spec: spec, noun: "clusterIP")
            if (newIPs == ["None"]) == (oldIPs == ["None"]) && newIPs != ["None"] {
                var newFamilies = FieldRead.strings(spec["ipFamilies"])
                let oldFamilies = FieldRead.strings(oldSpec["ipFamilies"])
                if newFamilies.isEmpty { newFamilies = oldFamilies }
                errors += changedList(new: newFamilies, old: oldFamilies, path: Self.spec.child("ipFamilies"), spec: spec, noun: "ipFamily")
            }
        }
        if type == "LoadBalancer" && oldType == "LoadBalancer" && spec["loadBalancerClass"] != oldSpec["loadBalancerClass"] {
            errors.append(.invalid(Self.spec.child("loadBalancerClass").description, spec["loadBalancerClass"] ?? .null, "may not change once set"))
        }
        let needsHealthCheck = { (s: JSONValue) in FieldRead.string(s["type"]) == "LoadBalancer" && FieldRead.string(s["externalTrafficPolicy"]) == "Local" }
        let newHealth = spec["healthCheckNodePort"]?.intValue ?? 0, oldHealth = oldSpec["healthCheckNodePort"]?.intValue ?? 0
        if needsHealthCheck(spec) && needsHealthCheck(oldSpec) && newHealth != 0 && newHealth != oldHealth {
            errors.append(.forbidden(Self.spec.child("healthCheckNodePort").description, CommonRules.immutableMessage))
        }
        return errors
    }

    /// The primary entry may never change; a secondary one may be added, or released with
    /// `ipFamilyPolicy: SingleStack`.
    static func changedList(new: [String], old: [String], path: ValidationPath, spec: JSONValue, noun: String) -> [FieldError] {
        let value = JSONValue.array(new.map { .string($0) })
        let primary = path.index(0).description
        if new.count == old.count {
            // Upstream names each changed cluster IP by its index, but every changed family as [0].
            return zip(old, new).enumerated().filter { $0.element.0 != $0.element.1 }.map { i, _ in
                .invalid(noun == "clusterIP" ? path.index(i).description : primary, value, "may not change once set")
            }
        }
        var errors: [FieldError] = []
        if new.count < old.count {
            if new.isEmpty { errors.append(.invalid(primary, value, "primary \(noun) can not be unset")) }
            if let first = new.first, first != old[0] { errors.append(.invalid(primary, value, "may not change once set")) }
            if new.count == 1 && spec["ipFamilyPolicy"] != "SingleStack" {
                errors.append(.invalid(Self.spec.child("ipFamilyPolicy").description, spec["ipFamilyPolicy"] ?? .null,
                                       "must be set to 'SingleStack' when releasing the secondary \(noun)"))
            }
        } else if let first = old.first, new[0] != first {
            errors.append(.invalid(primary, value, "may not change once set"))
        }
        return errors
    }
}
