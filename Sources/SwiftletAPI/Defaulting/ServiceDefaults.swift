import SwiftletMachinery

/// SetDefaults_Service, and the IP family fields kube-apiserver's allocator fills in.
public enum ServiceDefaults {
    typealias Edit = DefaultingEdit

    static func apply(_ service: inout JSONValue) {
        Edit.editObject(&service, "spec", create: true) { spec in
            Edit.setIfEmpty(&spec, "sessionAffinity", "None")
            if spec["sessionAffinity"] == "None" { spec["sessionAffinityConfig"] = nil }
            if spec["sessionAffinity"] == "ClientIP", Edit.isUnset(spec[path: "sessionAffinityConfig", "clientIP", "timeoutSeconds"]) {
                spec["sessionAffinityConfig"] = ["clientIP": ["timeoutSeconds": 10800]]
            }
            Edit.setIfEmpty(&spec, "type", "ClusterIP")
            Edit.editEach(&spec, "ports") { port in
                Edit.setIfEmpty(&port, "protocol", "TCP")
                let target = port["targetPort"]
                if Edit.isUnset(target) || target == .int(0) || target == .string(""), let number = port["port"] {
                    port["targetPort"] = number
                }
            }
            let type = spec["type"]?.stringValue ?? ""
            let externallyAccessible = type == "LoadBalancer" || type == "NodePort"
                || (type == "ClusterIP" && !(spec["externalIPs"]?.arrayValue ?? []).isEmpty)
            if externallyAccessible { Edit.setIfEmpty(&spec, "externalTrafficPolicy", "Cluster") }
            if ["NodePort", "LoadBalancer", "ClusterIP"].contains(type) { Edit.setIfUnset(&spec, "internalTrafficPolicy", "Cluster") }
            if type == "LoadBalancer" { Edit.setIfUnset(&spec, "allocateLoadBalancerNodePorts", true) }
        }
        if service[path: "spec", "type"] == "LoadBalancer" {
            Edit.editObject(&service, "status") { status in
                Edit.editObject(&status, "loadBalancer") { loadBalancer in
                    Edit.editEach(&loadBalancer, "ingress") { ingress in
                        if !(ingress["ip"]?.stringValue ?? "").isEmpty { Edit.setIfUnset(&ingress, "ipMode", "VIP") }
                    }
                }
            }
        }
    }
}

extension ServiceDefaults {
    /// What the service IP allocator records with an address: `clusterIP`, `clusterIPs`, and a
    /// single-stack family (`None` for headless services, which still get a family).
    /// ExternalName services have none of these.
    public static func assignClusterIP(_ ip: String, to service: inout JSONValue) {
        guard service[path: "spec", "type"] != "ExternalName" else { return }
        service[path: "spec", "clusterIP"] = .string(ip)
        service[path: "spec", "clusterIPs"] = [.string(ip)]
        if DefaultingEdit.isUnset(service[path: "spec", "ipFamilies"]) {
            service[path: "spec", "ipFamilies"] = [.string(ip.contains(":") ? "IPv6" : "IPv4")]
        }
        if DefaultingEdit.isUnset(service[path: "spec", "ipFamilyPolicy"]) { service[path: "spec", "ipFamilyPolicy"] = "SingleStack" }
    }
}
