import Foundation
import SwiftletPodNetwork
import Testing
@testable import SwiftletProxy
import SwiftletTestSupport

/// One node in a test-made host namespace: a bridge, pods a and b running the echo server on 8080, pod c as a
/// client, an outside machine on a veth, and the node's proxy.
struct ProxiedNode {
    let node: TestNode
    let network: PodNetwork
    let proxy: ServiceProxy
    let a: PodSandboxNetwork
    let b: PodSandboxNetwork
    let c: PodSandboxNetwork
    var gateway: String { a.gateway }
    var endpoints: [ProxyEndpoint] { [ProxyEndpoint(ip: a.ip, port: 8080), ProxyEndpoint(ip: b.ip, port: 8080)] }

    init(_ node: TestNode, subnet: Int, table: String = "swlpx_test") throws {
        self.node = node
        network = node.podNetwork(bridge: "swlpx0", cidr: "10.199.\(subnet).0/24", tag: "p")
        a = try network.setUp(podID: "pod-a")
        b = try network.setUp(podID: "pod-b")
        c = try network.setUp(podID: "pod-c")
        proxy = ServiceProxy(config: node.proxyConfig(table: table, bridge: "swlpx0", bridgeAddress: a.gateway))
        try node.addOutsideMachine()
        try node.startServer(in: a.netnsName, name: "pod-a")
        try node.startServer(in: b.netnsName, name: "pod-b")
        try node.waitForServer(at: a.ip, from: node.host)
        try node.waitForServer(at: b.ip, from: node.host)
    }
}

func service(_ name: String, clusterIP: String, port: Int = 80, transport: ProxyTransport = .tcp, nodePort: Int? = nil, hostPort: Int? = nil,
             affinity: Int? = nil, endpoints: [ProxyEndpoint]) -> ProxiedService {
    ProxiedService(namespace: "default", name: name, clusterIP: clusterIP, sessionAffinityTimeout: affinity, ports: [
        ProxiedServicePort(name: "p", transport: transport, port: port, nodePort: nodePort, hostPort: hostPort, endpoints: endpoints),
    ])
}

func sysctl(_ key: String, in namespace: String) throws -> String {
    try run(in: namespace, ["/bin/cat", "/proc/sys/" + key]).trimmingCharacters(in: .whitespacesAndNewlines)
}

/// Both pods answered, equally often, as round robin makes it for successive connections.
func isRoundRobin(_ answers: [String]) -> Bool {
    answers.filter { $0 == "pod-a" }.count == answers.count / 2 && answers.filter { $0 == "pod-b" }.count == answers.count / 2
        && zip(answers, answers.dropFirst()).allSatisfy { $0 != $1 }
}

@Suite(.serialized, .blockingWork, .enabled(if: isRoot, "nft, namespaces and bridges need root"))
struct ServiceProxyTests {
    @Test func clusterIPNodePortAndHostPortsReachThePodsInTurn() throws {
        try TestNode.with("rr") { node in
            let pods = try ProxiedNode(node, subnet: 40)
            try pods.proxy.apply(ServiceProxyModel(services: [
                service("web", clusterIP: "10.43.0.10", nodePort: 30080, hostPort: 8081, endpoints: pods.endpoints),
            ]))
            let uplink = TestNode.uplinkAddress

            // ClusterIP from the host (source: the bridge address, by the service CIDR route) and from a pod.
            #expect(isRoundRobin(try servers(from: node.host, "http://10.43.0.10/")))
            #expect(try fetch(from: node.host, "http://10.43.0.10/").clientSeen == pods.gateway)
            #expect(isRoundRobin(try servers(from: pods.c.netnsName, "http://10.43.0.10/")))
            #expect(try fetch(from: pods.c.netnsName, "http://10.43.0.10/").clientSeen == pods.c.ip)

            // NodePort on the node's addresses, from a pod and from the host; not on loopback, as in kube-proxy.
            #expect(isRoundRobin(try servers(from: pods.c.netnsName, "http://\(pods.gateway):30080/")))
            #expect(isRoundRobin(try servers(from: node.host, "http://\(uplink):30080/")))
            #expect(try fetch(from: node.host, "http://\(uplink):30080/").clientSeen == pods.gateway)
            #expect(try fetch(from: node.host, "http://127.0.0.1:30080/").status == 7)

            // The LoadBalancer's host port on 127.0.0.1 and on every local address.
            #expect(isRoundRobin(try servers(from: node.host, "http://127.0.0.1:8081/")))
            #expect(try fetch(from: node.host, "http://127.0.0.1:8081/").clientSeen == pods.gateway)
            #expect(isRoundRobin(try servers(from: node.host, "http://\(uplink):8081/")))
            #expect(isRoundRobin(try servers(from: node.host, "http://\(pods.gateway):8081/")))
            #expect(isRoundRobin(try servers(from: pods.c.netnsName, "http://\(pods.gateway):8081/")))
            #expect(try sysctl("net/ipv4/conf/swlpx0/route_localnet", in: node.host) == "1")

            // From another machine the DNATed packets are forwarded, which the kernel allows only when the
            // interface they arrive on forwards: the proxy turns forwarding on, as a Kubernetes node has it.
            #expect(try sysctl("net/ipv4/ip_forward", in: node.host) == "1")
            #expect(isRoundRobin(try servers(from: node.outside, "http://\(uplink):30080/")))
            #expect(isRoundRobin(try servers(from: node.outside, "http://\(uplink):8081/")))
            #expect(try fetch(from: node.outside, "http://\(uplink):8081/").clientSeen == pods.gateway)
        }
    }

    @Test func podsReachBeyondTheClusterWithTheNodesAddress() throws {
        try TestNode.with("egress") { node in
            let pods = try ProxiedNode(node, subnet: 47)
            try node.startServer(in: node.outside, name: "outside", bind: TestNode.outsideAddress)
            try node.waitForServer(at: TestNode.outsideAddress, from: node.outside)
            // Without the rules the outside cannot answer: it has no route back to pod addresses.
            #expect(try fetch(from: pods.c.netnsName, "http://\(TestNode.outsideAddress):8080/", timeout: 1).status == 28)
            try pods.proxy.apply(ServiceProxyModel(services: []))
            let reply = try fetch(from: pods.c.netnsName, "http://\(TestNode.outsideAddress):8080/")
            #expect(reply.status == 0 && reply.server == "outside")
            #expect(reply.clientSeen == TestNode.uplinkAddress)
            // Pod to pod stays unmasqueraded.
            #expect(try fetch(from: pods.c.netnsName, "http://\(pods.a.ip):8080/").clientSeen == pods.c.ip)
        }
    }

    @Test func aPodReachesItselfThroughItsService() throws {
        try TestNode.with("hairpin") { node in
            let pods = try ProxiedNode(node, subnet: 41)
            try pods.proxy.apply(ServiceProxyModel(services: [service("web", clusterIP: "10.43.0.10", endpoints: pods.endpoints)]))
            let replies = try (0..<4).map { _ in try fetch(from: pods.a.netnsName, "http://10.43.0.10/") }
            #expect(isRoundRobin(replies.map(\.server)))
            for reply in replies {
                // Back to itself the connection is masqueraded, or the reply would skip the un-DNAT.
                #expect(reply.clientSeen == (reply.server == "pod-a" ? pods.gateway : pods.a.ip))
            }
        }
    }

    @Test func clientIPAffinityKeepsAClientOnOneEndpointUntilItsTimeoutAndAcrossApplies() throws {
        try TestNode.with("affinity") { node in
            let pods = try ProxiedNode(node, subnet: 42)
            let sticky = service("web", clusterIP: "10.43.0.10", affinity: 3, endpoints: pods.endpoints)
            try pods.proxy.apply(ServiceProxyModel(services: [sticky]))
            let fromPod = try servers(from: pods.c.netnsName, "http://10.43.0.10/")
            #expect(Set(fromPod).count == 1 && fromPod[0].hasPrefix("pod-"))
            let fromHost = try servers(from: node.host, "http://10.43.0.10/")
            #expect(Set(fromHost).count == 1 && fromHost[0].hasPrefix("pod-"))

            // Another Service changes: the table is rewritten, the affinity stays.
            try pods.proxy.apply(ServiceProxyModel(services: [sticky, service("other", clusterIP: "10.43.0.11", endpoints: pods.endpoints)]))
            #expect(try servers(from: pods.c.netnsName, "http://10.43.0.10/") == fromPod)

            let affinitySets = try run(in: node.host, ["/usr/sbin/nft", "list", "sets", "table", "ip", "swlpx_test"])
            #expect(affinitySets.contains(pods.c.ip) && affinitySets.contains(pods.gateway))
            sleep(4)
            let expired = try run(in: node.host, ["/usr/sbin/nft", "list", "sets", "table", "ip", "swlpx_test"])
            #expect(!expired.contains(pods.c.ip) && !expired.contains(pods.gateway))
        }
    }

    @Test func servicePortsWithoutEndpointsRefuseConnectionsAtOnce() throws {
        try TestNode.with("reject") { node in
            let pods = try ProxiedNode(node, subnet: 43)
            try pods.proxy.apply(ServiceProxyModel(services: [
                service("empty", clusterIP: "10.43.0.20", nodePort: 30090, hostPort: 8090, endpoints: []),
                service("dns", clusterIP: "10.43.0.21", port: 53, transport: .udp, endpoints: []),
                service("web", clusterIP: "10.43.0.22", endpoints: pods.endpoints),
            ]))
            let refused: [(String, String)] = [
                (node.host, "http://10.43.0.20/"), (pods.c.netnsName, "http://10.43.0.20/"),
                (node.host, "http://\(pods.gateway):30090/"), (pods.c.netnsName, "http://\(pods.gateway):30090/"),
                (node.host, "http://127.0.0.1:8090/"), (pods.c.netnsName, "http://\(pods.gateway):8090/"),
                // A port of a ClusterIP that no Service defines.
                (node.host, "http://10.43.0.22:81/"), (pods.c.netnsName, "http://10.43.0.22:81/"),
            ]
            for (namespace, url) in refused {
                let reply = try fetch(from: namespace, url)
                // curl's 7 is "connection refused"; a dropped packet would end in its timeout (28).
                #expect(reply.status == 7, "\(url) from \(namespace): curl exit \(reply.status) after \(reply.seconds) s")
            }
            #expect(try node.udpRequest(from: pods.c.netnsName, to: "10.43.0.21", port: 53, sourcePort: 40000) == "ERR ConnectionRefusedError")
        }
    }

    @Test func udpFlowsLeaveAnEndpointAsSoonAsItIsRemoved() throws {
        try TestNode.with("udp") { node in
            let pods = try ProxiedNode(node, subnet: 44)
            try pods.proxy.apply(ServiceProxyModel(services: [
                service("dns", clusterIP: "10.43.0.53", port: 53, transport: .udp, nodePort: 30053, endpoints: pods.endpoints),
            ]))
            // One source port is one conntrack flow: it keeps its endpoint.
            let first = try node.udpRequest(from: pods.c.netnsName, to: "10.43.0.53", port: 53, sourcePort: 40000)
            #expect(first == "pod-a \(pods.c.ip)" || first == "pod-b \(pods.c.ip)")
            #expect(try node.udpRequest(from: pods.c.netnsName, to: "10.43.0.53", port: 53, sourcePort: 40000) == first)
            let viaNodePort = try node.udpRequest(from: pods.c.netnsName, to: pods.gateway, port: 30053, sourcePort: 40001)
            #expect(viaNodePort.hasPrefix("pod-"))

            // The endpoint leaves the Service while its server keeps answering: only the conntrack deletion moves
            // the flows.
            let remaining = pods.endpoints.filter { !first.hasPrefix($0.ip == pods.a.ip ? "pod-a" : "pod-b") }
            let remainingName = remaining[0].ip == pods.a.ip ? "pod-a" : "pod-b"
            try pods.proxy.apply(ServiceProxyModel(services: [
                service("dns", clusterIP: "10.43.0.53", port: 53, transport: .udp, nodePort: 30053, endpoints: remaining),
            ]))
            #expect(try node.udpRequest(from: pods.c.netnsName, to: "10.43.0.53", port: 53, sourcePort: 40000) == "\(remainingName) \(pods.c.ip)")
            #expect(try node.udpRequest(from: pods.c.netnsName, to: pods.gateway, port: 30053, sourcePort: 40001).hasPrefix(remainingName))
        }
    }

    /// The node agent's own DNS server is such an endpoint: node-local, on the bridge's address.
    @Test func aServiceWhoseEndpointIsTheNodeItselfAnswersPodsAndTheHost() throws {
        try TestNode.with("local") { node in
            let pods = try ProxiedNode(node, subnet: 51, table: "swiftlet-swlpx0.a")
            try node.startServer(in: node.host, name: "node", port: 5353, bind: pods.gateway)
            try node.waitForServer(at: pods.gateway, port: 5353, from: node.host)
            let onTheNode = [ProxyEndpoint(ip: pods.gateway, port: 5353)]
            try pods.proxy.apply(ServiceProxyModel(services: [ProxiedService(namespace: "kube-system", name: "kube-dns", clusterIP: "10.43.0.10", ports: [
                ProxiedServicePort(name: "dns", transport: .udp, port: 53, endpoints: onTheNode),
                ProxiedServicePort(name: "dns-tcp", transport: .tcp, port: 53, endpoints: onTheNode),
            ])]))
            #expect(try node.udpRequest(from: pods.c.netnsName, to: "10.43.0.10", port: 53, sourcePort: 40000) == "node \(pods.c.ip)")
            #expect(try fetch(from: pods.c.netnsName, "http://10.43.0.10:53/").body == "node \(pods.c.ip)")
            #expect(try node.udpRequest(from: node.host, to: "10.43.0.10", port: 53, sourcePort: 40000).hasPrefix("node "))
            #expect(try fetch(from: node.host, "http://10.43.0.10:53/").server == "node")
        }
    }

    @Test func aConntrackFailureLeavesTheRulesAppliedAndSaysSo() throws {
        try TestNode.with("ctfail") { node in
            let network = node.podNetwork(bridge: "swlpx0", cidr: "10.199.52.0/24", tag: "p")
            try network.ensureBridge()
            var config = node.proxyConfig(table: "swlpx_test", bridge: "swlpx0", bridgeAddress: "10.199.52.1")
            config.conntrackPath = "/nonexistent/conntrack"
            let model = ServiceProxyModel(services: [
                service("dns", clusterIP: "10.43.0.53", port: 53, transport: .udp, endpoints: [ProxyEndpoint(ip: "10.199.52.2", port: 53)]),
            ])
            #expect(throws: ServiceProxyError.conntrackCleanupFailed(.system(operation: "start /nonexistent/conntrack -D -p udp --orig-dst 10.43.0.53 --orig-port-dst 53", errno: ENOENT))) {
                try ServiceProxy(config: config).apply(model)
            }
            #expect(try run(in: node.host, ["/usr/sbin/nft", "list", "map", "ip", "swlpx_test", "service-ips"]).contains("10.43.0.53 . udp . 53"))
        }
    }

    @Test func podsCannotReachTheNodesLoopbackThoughTheBridgeRoutesLocalnet() throws {
        try TestNode.with("localnet") { node in
            let pods = try ProxiedNode(node, subnet: 45)
            try pods.proxy.apply(ServiceProxyModel(services: [service("web", clusterIP: "10.43.0.10", hostPort: 8081, endpoints: pods.endpoints)]))
            try node.startServer(in: node.host, name: "node-loopback", port: 9999, bind: "127.0.0.1")
            try node.waitForServer(at: "127.0.0.1", port: 9999, from: node.host)
            // Pod c sends to 127.0.0.1 through its gateway, as a hostile pod could (CVE-2020-8558).
            for command in [["rule", "add", "pref", "100", "lookup", "local"], ["rule", "del", "pref", "0"],
                            ["route", "add", "127.0.0.1/32", "via", pods.gateway, "dev", "eth0", "table", "100"],
                            ["rule", "add", "to", "127.0.0.1", "lookup", "100", "pref", "10"]] {
                try run(["/sbin/ip", "-n", pods.c.netnsName] + command)
            }
            try run(in: pods.c.netnsName, ["/usr/sbin/sysctl", "-qw", "net.ipv4.conf.eth0.route_localnet=1"])
            #expect(try sysctl("net/ipv4/conf/swlpx0/route_localnet", in: node.host) == "1")
            #expect(try fetch(from: pods.c.netnsName, "http://127.0.0.1:9999/", timeout: 1, extra: ["--interface", pods.c.ip]).status == 28)
            #expect(try fetch(from: node.host, "http://127.0.0.1:9999/").server == "node-loopback")
        }
    }

    @Test func removeLeavesNoTableAndNoRouteButKeepsARouteThatIsNotOurs() throws {
        try TestNode.with("remove") { node in
            let pods = try ProxiedNode(node, subnet: 46)
            let model = ServiceProxyModel(services: [service("web", clusterIP: "10.43.0.10", nodePort: 30080, endpoints: pods.endpoints)])
            try pods.proxy.apply(model)
            #expect(try run(in: node.host, ["/usr/sbin/nft", "list", "tables"]) == "table ip swlpx_test\n")
            let ours = "10.43.0.0/16 dev swlpx0 scope link src \(pods.gateway)"
            #expect(try run(["/sbin/ip", "-n", node.host, "route", "show", "exact", "10.43.0.0/16"]).contains(ours))

            try pods.proxy.remove()
            #expect(try run(in: node.host, ["/usr/sbin/nft", "list", "ruleset"]) == "")
            #expect(try run(["/sbin/ip", "-n", node.host, "route", "show", "exact", "10.43.0.0/16"]) == "")
            #expect(try fetch(from: pods.c.netnsName, "http://10.43.0.10/", timeout: 1).status != 0)
            try pods.proxy.remove()

            // A route someone else made for the service CIDR is neither replaced nor deleted.
            try run(["/sbin/ip", "-n", node.host, "route", "add", "10.43.0.0/16", "dev", TestNode.uplink])
            try pods.proxy.apply(model)
            #expect(isRoundRobin(try servers(from: pods.c.netnsName, "http://10.43.0.10/")))
            try pods.proxy.remove()
            #expect(try run(["/sbin/ip", "-n", node.host, "route", "show", "exact", "10.43.0.0/16"]).contains("dev \(TestNode.uplink)"))
            #expect(try run(in: node.host, ["/usr/sbin/nft", "list", "ruleset"]) == "")
        }
    }

    @Test func twoAgentsOnOneMachineServeSideBySide() throws {
        try TestNode.with("two") { node in
            let first = node.podNetwork(bridge: "swlpx1", cidr: "10.199.47.0/24", tag: "n1")
            let second = node.podNetwork(bridge: "swlpx2", cidr: "10.199.48.0/24", tag: "n2")
            let a = try first.setUp(podID: "pod-a")
            let client1 = try first.setUp(podID: "client")
            let b = try second.setUp(podID: "pod-b")
            let client2 = try second.setUp(podID: "client")
            try node.startServer(in: a.netnsName, name: "pod-a")
            try node.startServer(in: b.netnsName, name: "pod-b")
            try node.waitForServer(at: a.ip, from: node.host)
            try node.waitForServer(at: b.ip, from: node.host)
            let proxy1 = ServiceProxy(config: node.proxyConfig(table: "swlpx_n1", bridge: "swlpx1", bridgeAddress: a.gateway))
            let proxy2 = ServiceProxy(config: node.proxyConfig(table: "swlpx_n2", bridge: "swlpx2", bridgeAddress: b.gateway))
            // Both nodes of one cluster see the same Service and all its endpoints.
            let model = ServiceProxyModel(services: [service("web", clusterIP: "10.43.0.10", nodePort: 30080, endpoints: [
                ProxyEndpoint(ip: a.ip, port: 8080), ProxyEndpoint(ip: b.ip, port: 8080),
            ])])
            try proxy1.apply(model)
            try proxy2.apply(model)
            #expect(try run(in: node.host, ["/usr/sbin/nft", "list", "tables"]) == "table ip swlpx_n1\ntable ip swlpx_n2\n")
            #expect(try run(["/sbin/ip", "-n", node.host, "route", "show", "exact", "10.43.0.0/16"]).contains("dev swlpx1"))
            for client in [client1.netnsName, client2.netnsName, node.host] {
                #expect(isRoundRobin(try servers(from: client, "http://10.43.0.10/")), "from \(client)")
            }
            #expect(isRoundRobin(try servers(from: client2.netnsName, "http://\(b.gateway):30080/")))

            // The first agent leaves: the second keeps serving, and takes over the route on its next apply.
            try proxy1.remove()
            #expect(try run(in: node.host, ["/usr/sbin/nft", "list", "tables"]) == "table ip swlpx_n2\n")
            #expect(isRoundRobin(try servers(from: client2.netnsName, "http://10.43.0.10/")))
            try proxy2.apply(model)
            #expect(try run(["/sbin/ip", "-n", node.host, "route", "show", "exact", "10.43.0.0/16"]).contains("dev swlpx2"))
            #expect(isRoundRobin(try servers(from: node.host, "http://10.43.0.10/")))
            try proxy2.remove()
        }
    }

    @Test func anIncrementalApplyLeavesTheSameTableAsAFreshOne() throws {
        try TestNode.with("incr") { node in
            let network = node.podNetwork(bridge: "swlpx0", cidr: "10.199.49.0/24", tag: "p")
            try network.ensureBridge()
            let config = node.proxyConfig(table: "swlpx_test", bridge: "swlpx0", bridgeAddress: "10.199.49.1")
            let big = manyServices(60, endpointsEach: 3, affinityEvery: 4)
            var small = big
            small.services = big.services.enumerated().filter { $0.offset % 3 != 0 }.map { service in
                var changed = service.element
                changed.ports[0].endpoints.removeLast()
                return changed
            }
            let incremental = ServiceProxy(config: config)
            try incremental.apply(big)
            try incremental.apply(small)
            let afterIncremental = try run(in: node.host, ["/usr/sbin/nft", "list", "table", "ip", "swlpx_test"])
            try ServiceProxy(config: config).apply(small)
            let fresh = try run(in: node.host, ["/usr/sbin/nft", "list", "table", "ip", "swlpx_test"])
            #expect(afterIncremental == fresh)
            #expect(afterIncremental.contains("affinity-") && !afterIncremental.contains("svc0/"))
        }
    }

    /// Also prints how long the applies took (docs/performance.md); the time is not asserted.
    @Test func aHundredServicesApplyWholeAndInPlace() throws {
        try TestNode.with("speed") { node in
            let network = node.podNetwork(bridge: "swlpx0", cidr: "10.199.50.0/24", tag: "p")
            try network.ensureBridge()
            let config = node.proxyConfig(table: "swlpx_test", bridge: "swlpx0", bridgeAddress: "10.199.50.1")
            let model = manyServices(100, endpointsEach: 3, affinityEvery: 10)
            var changed = model
            changed.services[7].ports[0].endpoints.removeLast()
            func milliseconds(_ body: () throws -> Void) rethrows -> Double {
                let start = ContinuousClock.now
                try body()
                let elapsed = ContinuousClock.now - start
                return Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
            }
            // A new proxy's first apply replaces the whole table; later ones rewrite what changed in place.
            let whole = try (0..<5).map { _ in try milliseconds { try ServiceProxy(config: config).apply(model) } }.sorted()
            let proxy = ServiceProxy(config: config)
            try proxy.apply(model)
            let inPlace = try (0..<6).map { index in try milliseconds { try proxy.apply(index % 2 == 0 ? changed : model) } }.sorted()
            print("SwiftletProxy: 100 Services × 3 endpoints, whole table: median \(Int(whole[2])) ms, best \(Int(whole[0])) ms; "
                + "one Service changed: median \(Int(inPlace[3])) ms, best \(Int(inPlace[0])) ms")
            let table = try run(in: node.host, ["/usr/sbin/nft", "list", "table", "ip", "swlpx_test"])
            #expect(table.components(separatedBy: "chain endpoint-").count - 1 == 300)
        }
    }
}

/// `count` Services with one TCP port each, a NodePort, endpoints 10.199.<1xx>.<n> and ClientIP affinity on some.
func manyServices(_ count: Int, endpointsEach: Int, affinityEvery: Int) -> ServiceProxyModel {
    ServiceProxyModel(services: (0..<count).map { index in
        let endpoints = (0..<endpointsEach).map { ProxyEndpoint(ip: "10.199.\(100 + index / 80).\(2 + (index * endpointsEach + $0) % 250)", port: 8080) }
        return ProxiedService(namespace: "bench", name: "svc\(index)", clusterIP: "10.43.\(1 + index / 250).\(index % 250 + 1)",
                              sessionAffinityTimeout: index % affinityEvery == 0 ? 10800 : nil, ports: [
            ProxiedServicePort(name: "http", port: 80, nodePort: 30000 + index, endpoints: endpoints),
        ])
    })
}
