import Foundation
import SwiftletMachinery

/// The files the kubelet writes for every pod and binds into each of its containers:
/// /etc/hosts, /etc/hostname and /etc/resolv.conf.
enum PodFiles {
    /// A pod on the host network gets the node's own /etc/hosts, as the kubelet does, plus its HostAliases.
    static func hosts(pod: JSONValue, podIP: String, nodeHostsFile: String = "/etc/hosts") -> String {
        if pod[path: "spec", "hostNetwork"]?.boolValue == true {
            var text = (try? String(contentsOfFile: nodeHostsFile, encoding: .utf8)) ?? ""
            if !text.isEmpty && !text.hasSuffix("\n") { text += "\n" }
            return text + hostAliases(pod)
        }
        var text = """
            # Kubernetes-managed hosts file.
            127.0.0.1\tlocalhost
            ::1\tlocalhost ip6-localhost ip6-loopback
            fe00::0\tip6-localnet
            fe00::0\tip6-mcastprefix
            fe00::1\tip6-allnodes
            fe00::2\tip6-allrouters

            """
        let hostname = hostName(pod)
        if let subdomain = pod[path: "spec", "subdomain"]?.stringValue, !subdomain.isEmpty {
            let namespace = pod[path: "metadata", "namespace"]?.stringValue ?? "default"
            text += "\(podIP)\t\(hostname).\(subdomain).\(namespace).svc.cluster.local\t\(hostname)\n"
        } else {
            text += "\(podIP)\t\(hostname)\n"
        }
        return text + hostAliases(pod)
    }

    private static func hostAliases(_ pod: JSONValue) -> String {
        var text = ""
        for alias in pod[path: "spec", "hostAliases"]?.arrayValue ?? [] {
            guard let ip = alias["ip"]?.stringValue else { continue }
            let names = (alias["hostnames"]?.arrayValue ?? []).compactMap(\.stringValue)
            text += "\n# Entries added by HostAliases.\n\(ip)\t\(names.joined(separator: "\t"))\n"
        }
        return text
    }

    /// The node's host name for a pod on the host network (it shares the node's UTS namespace); else
    /// `spec.hostname`, else the pod's name cut to the 63 characters a host name may have.
    static func hostName(_ pod: JSONValue) -> String {
        if pod[path: "spec", "hostNetwork"]?.boolValue == true { return machineHostName }
        if let hostname = pod[path: "spec", "hostname"]?.stringValue, !hostname.isEmpty { return hostname }
        return String((pod[path: "metadata", "name"]?.stringValue ?? "pod").prefix(63))
    }

    static var machineHostName: String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// resolv.conf by dnsPolicy: ClusterFirst (the default) asks the cluster DNS with the
    /// namespace's search path; Default uses the node's own; None only what dnsConfig says.
    static func resolvConf(pod: JSONValue, clusterDNS: String, clusterDomain: String) -> String {
        let namespace = pod[path: "metadata", "namespace"]?.stringValue ?? "default"
        let hostNetwork = pod[path: "spec", "hostNetwork"]?.boolValue ?? false
        var policy = pod[path: "spec", "dnsPolicy"]?.stringValue ?? "ClusterFirst"
        if policy == "ClusterFirst" && hostNetwork { policy = "Default" }
        var nameservers: [String] = []
        var searches: [String] = []
        var options: [String] = []
        switch policy {
        case "Default":
            let host = (try? String(contentsOfFile: "/etc/resolv.conf", encoding: .utf8)) ?? ""
            for line in host.split(separator: "\n") {
                let fields = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
                guard let key = fields.first else { continue }
                switch key {
                case "nameserver": nameservers += fields.dropFirst()
                case "search", "domain": searches += fields.dropFirst()
                case "options": options += fields.dropFirst()
                default: break
                }
            }
        case "None":
            break
        default:  // ClusterFirst, ClusterFirstWithHostNet
            nameservers = [clusterDNS]
            searches = ["\(namespace).svc.\(clusterDomain)", "svc.\(clusterDomain)", clusterDomain]
            options = ["ndots:5"]
        }
        if let dnsConfig = pod[path: "spec", "dnsConfig"] {
            nameservers += (dnsConfig["nameservers"]?.arrayValue ?? []).compactMap(\.stringValue)
            searches += (dnsConfig["searches"]?.arrayValue ?? []).compactMap(\.stringValue)
            for option in dnsConfig["options"]?.arrayValue ?? [] {
                guard let name = option["name"]?.stringValue else { continue }
                options.removeAll { $0 == name || $0.hasPrefix(name + ":") }
                options.append(option["value"]?.stringValue.map { "\(name):\($0)" } ?? name)
            }
        }
        var text = ""
        if !searches.isEmpty { text += "search \(searches.joined(separator: " "))\n" }
        for server in nameservers.prefix(3) { text += "nameserver \(server)\n" }
        if !options.isEmpty { text += "options \(options.joined(separator: " "))\n" }
        return text
    }
}
