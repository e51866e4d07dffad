import Foundation
import Testing
@testable import SwiftletNodeAgent
import SwiftletMachinery

@Suite struct PodFilesTests {
    let pod: JSONValue = ["metadata": ["name": "web-1", "namespace": "shop"], "spec": [:]]

    @Test func clusterFirstSearchesTheNamespaceThenTheCluster() {
        let text = PodFiles.resolvConf(pod: pod, clusterDNS: "10.43.0.10", clusterDomain: "cluster.local")
        #expect(text == "search shop.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.43.0.10\noptions ndots:5\n")
    }

    @Test func dnsPolicyNoneUsesOnlyDNSConfigAndOptionsOverride() {
        var custom = pod
        custom[path: "spec", "dnsPolicy"] = "None"
        custom[path: "spec", "dnsConfig"] = ["nameservers": ["1.1.1.1"], "searches": ["example.org"],
                                            "options": [["name": "ndots", "value": "2"], ["name": "edns0"]]]
        #expect(PodFiles.resolvConf(pod: custom, clusterDNS: "10.43.0.10", clusterDomain: "cluster.local")
            == "search example.org\nnameserver 1.1.1.1\noptions ndots:2 edns0\n")
        var merged = pod
        merged[path: "spec", "dnsConfig"] = ["options": [["name": "ndots", "value": "1"]]]
        #expect(PodFiles.resolvConf(pod: merged, clusterDNS: "10.43.0.10", clusterDomain: "cluster.local")
            .hasSuffix("options ndots:1\n"))
    }

    @Test func hostsNamesThePodAndItsAliases() {
        var withAliases = pod
        withAliases[path: "spec", "hostAliases"] = [["ip": "10.1.2.3", "hostnames": ["foo", "bar"]]]
        let text = PodFiles.hosts(pod: withAliases, podIP: "10.42.0.7")
        #expect(text.hasPrefix("# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n"))
        #expect(text.contains("10.42.0.7\tweb-1\n"))
        #expect(text.contains("10.1.2.3\tfoo\tbar\n"))
    }

    @Test func aPodOnTheHostNetworkGetsTheNodesHostsFileAndHostName() throws {
        var onHost = pod
        onHost[path: "spec", "hostNetwork"] = true
        onHost[path: "spec", "hostAliases"] = [["ip": "10.1.2.3", "hostnames": ["foo"]]]
        let nodeHosts = NSTemporaryDirectory() + "swiftlet-hosts-\(UUID().uuidString)"
        try "127.0.0.1 localhost\n192.0.2.2 node-a".write(toFile: nodeHosts, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: nodeHosts) }
        #expect(PodFiles.hosts(pod: onHost, podIP: "192.0.2.2", nodeHostsFile: nodeHosts)
            == "127.0.0.1 localhost\n192.0.2.2 node-a\n\n# Entries added by HostAliases.\n10.1.2.3\tfoo\n")
        #expect(PodFiles.hostName(onHost) == PodFiles.machineHostName)
        #expect(!PodFiles.machineHostName.isEmpty)
    }

    @Test func subdomainGivesTheFullyQualifiedName() {
        var named = pod
        named[path: "spec", "hostname"] = "db-0"
        named[path: "spec", "subdomain"] = "db"
        #expect(PodFiles.hosts(pod: named, podIP: "10.42.0.9").contains("10.42.0.9\tdb-0.db.shop.svc.cluster.local\tdb-0\n"))
        #expect(PodFiles.hostName(named) == "db-0")
    }
}
