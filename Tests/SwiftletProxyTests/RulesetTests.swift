import Foundation
import SwiftletSpawn
import Testing
@testable import SwiftletProxy

let unitConfig = ServiceProxyConfig(
    tableName: "swl_unit", bridgeName: "swl0", bridgeAddress: "10.42.0.1", clusterCIDR: "10.42.0.0/16", serviceCIDR: "10.43.0.0/16")

func web(endpoints: [ProxyEndpoint], affinity: Int? = nil, nodePort: Int? = 30080, hostPort: Int? = 8080) -> ProxiedService {
    ProxiedService(namespace: "default", name: "web", clusterIP: "10.43.0.10", sessionAffinityTimeout: affinity, ports: [
        ProxiedServicePort(name: "http", transport: .tcp, port: 80, nodePort: nodePort, hostPort: hostPort, endpoints: endpoints),
    ])
}

let twoEndpoints = [ProxyEndpoint(ip: "10.42.0.5", port: 8080), ProxyEndpoint(ip: "10.42.0.6", port: 8080)]

func lines(_ text: String) -> [String] { text.split(separator: "\n").map(String.init) }

/// `nft -c -f -` inside a namespace made for it: nft asks the kernel to check the whole transaction, so the
/// check cannot happen in the host's namespace without being a change there in principle.
func nftAccepts(_ ruleset: String) throws -> (Bool, String) {
    let namespace = "swlpx-\(getpid())-check-\(UInt32.random(in: 0...UInt32.max))"
    try run(["/sbin/ip", "netns", "add", namespace])
    defer { _ = try? run(["/sbin/ip", "netns", "del", namespace]) }
    let output = try Command.run(["/sbin/ip", "netns", "exec", namespace, "/usr/sbin/nft", "-c", "-f", "-"], input: ruleset)
    return (output.status == 0, output.stderr)
}

struct RulesetTests {
    @Test func aServicePortIsDispatchedByClusterIPNodePortAndHostPortToRoundRobinEndpointChains() throws {
        let text = try ServiceProxy.ruleset(ServiceProxyModel(services: [web(endpoints: twoEndpoints)]), config: unitConfig)
        let all = lines(text)
        // The whole table is replaced in one transaction.
        #expect(Array(all.prefix(3)) == ["add table ip swl_unit", "delete table ip swl_unit", "add table ip swl_unit"])
        #expect(all.contains("add chain ip swl_unit nat-prerouting { type nat hook prerouting priority -100; }"))
        #expect(all.contains("add chain ip swl_unit nat-output { type nat hook output priority -100; }"))
        #expect(all.contains("add rule ip swl_unit nat-prerouting jump services"))
        #expect(all.contains("add rule ip swl_unit nat-output jump services"))

        let service = ObjectNames.service("default/web/tcp/http")
        let external = ObjectNames.external("default/web/tcp/http")
        let endpointA = ObjectNames.endpoint("default/web/tcp/http__10.42.0.5/8080")
        let endpointB = ObjectNames.endpoint("default/web/tcp/http__10.42.0.6/8080")
        #expect(service.hasPrefix("service-") && service.hasSuffix("-default/web/tcp/http"))
        #expect(all.contains("add element ip swl_unit service-ips { 10.43.0.10 . tcp . 80 : goto \(service) }"))
        #expect(all.contains("add element ip swl_unit service-nodeports { tcp . 30080 : goto \(external) }"))
        #expect(all.contains("add element ip swl_unit service-hostports { tcp . 8080 : goto \(external) }"))
        #expect(all.contains("add element ip swl_unit cluster-ips { 10.43.0.10 }"))
        #expect(all.contains("add rule ip swl_unit \(service) numgen inc mod 2 vmap { 0 : goto \(endpointA), 1 : goto \(endpointB) }"))
        #expect(all.contains("add rule ip swl_unit \(service) ip daddr 10.43.0.10 tcp dport 80 ip saddr != 10.42.0.0/16 jump mark-for-masquerade"))
        #expect(all.contains("add rule ip swl_unit \(external) ip saddr != 10.42.0.0/16 jump mark-for-masquerade"))
        #expect(all.contains("add rule ip swl_unit \(external) goto \(service)"))
        #expect(all.contains("add element ip swl_unit hairpin-endpoints { 10.42.0.5 . 10.42.0.5, 10.42.0.6 . 10.42.0.6 }"))
        #expect(all.contains("add rule ip swl_unit masquerading ct status dnat ip saddr . ip daddr @hairpin-endpoints mark set mark or 0x4000"))
        #expect(all.contains("add rule ip swl_unit \(endpointA) meta l4proto tcp dnat to 10.42.0.5:8080"))
        #expect(all.contains("add rule ip swl_unit masquerading masquerade fully-random"))
        // NodePorts skip loopback as kube-proxy's do; host ports take it.
        #expect(all.contains("add rule ip swl_unit services fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @service-nodeports"))
        #expect(all.contains("add rule ip swl_unit services fib daddr type local meta l4proto . th dport vmap @service-hostports"))
        #expect(!text.contains("affinity"))
        if isRoot {
            let (accepted, stderr) = try nftAccepts(text)
            #expect(accepted, "\(stderr)")
        }
    }

    @Test func aSingleEndpointIsAPlainGotoAndAPortWithoutEndpointsGoesToTheRejectMaps() throws {
        let model = ServiceProxyModel(services: [
            web(endpoints: [twoEndpoints[0]]),
            ProxiedService(namespace: "default", name: "empty", clusterIP: "10.43.0.11", ports: [
                ProxiedServicePort(name: "http", port: 80, nodePort: 30081, hostPort: 8081, endpoints: []),
                ProxiedServicePort(name: "dns", transport: .udp, port: 53, endpoints: []),
            ]),
        ])
        let all = lines(try ServiceProxy.ruleset(model, config: unitConfig))
        let service = ObjectNames.service("default/web/tcp/http")
        #expect(all.contains("add rule ip swl_unit \(service) goto \(ObjectNames.endpoint("default/web/tcp/http__10.42.0.5/8080"))"))
        #expect(all.contains("add element ip swl_unit no-endpoint-services { 10.43.0.11 . tcp . 80 : goto reject-chain, 10.43.0.11 . udp . 53 : goto reject-chain }"))
        #expect(all.contains("add element ip swl_unit no-endpoint-nodeports { tcp . 30081 : goto reject-chain }"))
        #expect(all.contains("add element ip swl_unit no-endpoint-hostports { tcp . 8081 : goto reject-chain }"))
        #expect(all.contains("add element ip swl_unit cluster-ips { 10.43.0.10, 10.43.0.11 }"))
        #expect(!all.contains { $0.contains("default/empty/") })
        #expect(all.contains("add rule ip swl_unit reject-chain meta l4proto tcp reject with tcp reset"))
        for hook in ["filter-prerouting", "filter-output"] {
            #expect(all.contains("add rule ip swl_unit \(hook) ct state new jump endpoints-check"))
        }
    }

    @Test func clientIPAffinityGetsATimedSetPerEndpointCheckedBeforeTheRoundRobin() throws {
        let all = lines(try ServiceProxy.ruleset(ServiceProxyModel(services: [web(endpoints: twoEndpoints, affinity: 10800)]), config: unitConfig))
        let service = ObjectNames.service("default/web/tcp/http")
        let endpointA = ObjectNames.endpoint("default/web/tcp/http__10.42.0.5/8080")
        let affinityA = ObjectNames.affinity("default/web/tcp/http__10.42.0.5/8080", timeout: 10800)
        #expect(affinityA.hasPrefix("affinity-") && affinityA != ObjectNames.affinity("default/web/tcp/http__10.42.0.5/8080", timeout: 60))
        #expect(all.contains("add set ip swl_unit \(affinityA) { type ipv4_addr; flags dynamic,timeout; timeout 10800s; }"))
        #expect(all.contains("add rule ip swl_unit \(endpointA) update @\(affinityA) { ip saddr }"))
        let serviceRules = all.filter { $0.hasPrefix("add rule ip swl_unit \(service) ") }
        #expect(serviceRules.count == 4)
        #expect(serviceRules[2] == "add rule ip swl_unit \(service) ip saddr @\(ObjectNames.affinity("default/web/tcp/http__10.42.0.6/8080", timeout: 10800)) goto \(ObjectNames.endpoint("default/web/tcp/http__10.42.0.6/8080"))")
        #expect(serviceRules[1] == "add rule ip swl_unit \(service) ip saddr @\(affinityA) goto \(endpointA)")
        #expect(serviceRules[3].contains("numgen inc mod 2"))
    }

    @Test func headlessInvalidAndDuplicateEntriesAreLeftOutSoThatTheRestStillApplies() throws {
        let model = ServiceProxyModel(services: [
            web(endpoints: twoEndpoints + [twoEndpoints[0], ProxyEndpoint(ip: "fd00::5", port: 8080), ProxyEndpoint(ip: "10.42.0.7", port: 0)]),
            // The same ClusterIP port, NodePort and host port again: the first Service keeps them.
            ProxiedService(namespace: "default", name: "copy", clusterIP: "10.43.0.10", ports: [
                ProxiedServicePort(name: "http", port: 80, endpoints: twoEndpoints),
            ]),
            ProxiedService(namespace: "default", name: "late", clusterIP: "10.43.0.12", ports: [
                ProxiedServicePort(name: "http", port: 80, nodePort: 30080, hostPort: 8080, endpoints: twoEndpoints),
            ]),
            ProxiedService(namespace: "default", name: "headless", clusterIP: nil, ports: [ProxiedServicePort(port: 80, endpoints: twoEndpoints)]),
            ProxiedService(namespace: "default", name: "v6", clusterIP: "fd00:43::10", ports: [ProxiedServicePort(port: 80, endpoints: twoEndpoints)]),
        ])
        let text = try ServiceProxy.ruleset(model, config: unitConfig)
        #expect(text.contains("numgen inc mod 2 vmap"))
        #expect(!text.contains("fd00") && !text.contains("10.42.0.7") && !text.contains("default/copy/") && !text.contains("default/headless/"))
        #expect(lines(text).contains("add element ip swl_unit service-ips { 10.43.0.10 . tcp . 80 : goto \(ObjectNames.service("default/web/tcp/http")), 10.43.0.12 . tcp . 80 : goto \(ObjectNames.service("default/late/tcp/http")) }"))
        #expect(!text.contains("external-\(ObjectNames.hash("default/late/tcp/http"))"))
        if isRoot {
            let (accepted, stderr) = try nftAccepts(text)
            #expect(accepted, "\(stderr)")
        }
    }

    @Test func longAndOddNamesStayValidNftNames() throws {
        let long = String(repeating: "a", count: 63)
        let model = ServiceProxyModel(services: [
            ProxiedService(namespace: long, name: long, clusterIP: "10.43.0.20", sessionAffinityTimeout: 86400, ports: [
                ProxiedServicePort(name: String(repeating: "p", count: 15), transport: .udp, port: 53, nodePort: 30053, endpoints: twoEndpoints),
                ProxiedServicePort(name: "", port: 80, endpoints: twoEndpoints),
                ProxiedServicePort(name: "we ird\"name;", port: 81, endpoints: twoEndpoints),
            ]),
        ])
        let text = try ServiceProxy.ruleset(model, config: unitConfig)
        #expect(!text.contains("\"name;"))
        #expect(ObjectNames.endpoint(String(repeating: "x", count: 400)).utf8.count == 255)
        if isRoot {
            let (accepted, stderr) = try nftAccepts(text)
            #expect(accepted, "\(stderr)")
        }
    }

    @Test func anIncrementalApplyRewritesOnlyChangedChainsAndDeletesWhatIsGone() throws {
        let writer = RulesetWriter(config: try unitConfig.validated())
        let other = ProxiedService(namespace: "default", name: "other", clusterIP: "10.43.0.11", ports: [
            ProxiedServicePort(name: "http", port: 80, endpoints: twoEndpoints),
        ])
        let before = writer.write(ServiceProxyModel(services: [web(endpoints: twoEndpoints, affinity: 60), other]))
        let after = writer.write(ServiceProxyModel(services: [web(endpoints: [twoEndpoints[1]], affinity: 60), other]))
        let text = writer.incremental(after, replacing: before.contents)
        let all = lines(text)
        let gone = "default/web/tcp/http__10.42.0.5/8080"
        let staying = "default/web/tcp/http__10.42.0.6/8080"
        #expect(!text.contains("delete table"))
        // The fixed part is rewritten in full: its chains flushed, its maps flushed and filled again.
        #expect(all.contains("flush chain ip swl_unit services") && all.contains("flush map ip swl_unit service-ips"))
        #expect(all.contains("add element ip swl_unit service-ips { 10.43.0.10 . tcp . 80 : goto \(ObjectNames.service("default/web/tcp/http")), 10.43.0.11 . tcp . 80 : goto \(ObjectNames.service("default/other/tcp/http")) }"))
        // The changed Service chain is flushed and rewritten; unchanged chains and the remaining affinity set are
        // not touched.
        #expect(all.contains("flush chain ip swl_unit \(ObjectNames.service("default/web/tcp/http"))"))
        #expect(all.contains("add rule ip swl_unit \(ObjectNames.service("default/web/tcp/http")) goto \(ObjectNames.endpoint(staying))"))
        #expect(!text.contains("chain ip swl_unit \(ObjectNames.service("default/other/tcp/http"))"))
        #expect(!all.contains { $0.hasPrefix("add rule ip swl_unit \(ObjectNames.service("default/other/tcp/http"))") })
        #expect(!text.contains("chain ip swl_unit \(ObjectNames.endpoint(staying))"))
        #expect(!all.contains { $0.hasPrefix("add rule ip swl_unit \(ObjectNames.endpoint(staying))") })
        #expect(!text.contains("set ip swl_unit \(ObjectNames.affinity(staying, timeout: 60))"))
        // What is gone is emptied, then deleted.
        let flush = try #require(all.firstIndex(of: "flush chain ip swl_unit \(ObjectNames.endpoint(gone))"))
        let delete = try #require(all.firstIndex(of: "delete chain ip swl_unit \(ObjectNames.endpoint(gone))"))
        #expect(flush < delete)
        #expect(all.contains("delete set ip swl_unit \(ObjectNames.affinity(gone, timeout: 60))"))
        #expect(writer.incremental(before, replacing: before.contents) == before.fixed + before.elements)
    }

    @Test func configurationsThatCannotWorkAreRefused() throws {
        var config = unitConfig
        config.clusterCIDR = "10.42.3.4/16"
        #expect(try config.validated().clusterCIDR == "10.42.0.0/16")
        for bad in ["1table", "swl table", "", "swl;flush"] {
            config = unitConfig
            config.tableName = bad
            #expect(throws: ServiceProxyError.self) { try config.validated() }
        }
        config = unitConfig
        config.serviceCIDR = "10.43.0.0"
        #expect(throws: ServiceProxyError.self) { try config.validated() }
        config = unitConfig
        config.bridgeAddress = "10.42.0.256"
        #expect(throws: ServiceProxyError.self) { try config.validated() }
        config = unitConfig
        config.bridgeName = "a-bridge-name-too-long"
        #expect(throws: ServiceProxyError.self) { try ServiceProxy.ruleset(ServiceProxyModel(), config: config) }
    }
}

struct ConntrackCleanupTests {
    func dns(_ endpoints: [ProxyEndpoint], nodePort: Int? = nil) -> ServiceProxyModel {
        ServiceProxyModel(services: [ProxiedService(namespace: "kube-system", name: "dns", clusterIP: "10.43.0.53", ports: [
            ProxiedServicePort(name: "dns", transport: .udp, port: 53, nodePort: nodePort, endpoints: endpoints),
            ProxiedServicePort(name: "dns-tcp", transport: .tcp, port: 53, endpoints: endpoints),
        ])])
    }

    @Test func flowsToAnEndpointThatAUDPPortLostAreDeletedByClusterIPAndNodePort() {
        let deletions = ConntrackCleanup.deletions(from: dns(twoEndpoints, nodePort: 30053), to: dns([twoEndpoints[1]], nodePort: 30053))
        #expect(deletions == [
            ["-D", "-p", "udp", "--orig-dst", "10.43.0.53", "--orig-port-dst", "53", "--reply-src", "10.42.0.5", "--reply-port-src", "8080"],
            ["-D", "-p", "udp", "--orig-port-dst", "30053", "--reply-src", "10.42.0.5", "--reply-port-src", "8080"],
        ])
        #expect(ConntrackCleanup.deletions(from: dns(twoEndpoints), to: dns(twoEndpoints)).isEmpty)
    }

    @Test func aUDPPortThatGetsItsFirstEndpointLosesItsBlackHoledFlows() {
        let expected = [["-D", "-p", "udp", "--orig-dst", "10.43.0.53", "--orig-port-dst", "53"]]
        #expect(ConntrackCleanup.deletions(from: dns([]), to: dns(twoEndpoints)) == expected)
        #expect(ConntrackCleanup.deletions(from: nil, to: dns(twoEndpoints)) == expected)
        #expect(ConntrackCleanup.deletions(from: ServiceProxyModel(), to: dns([])).isEmpty)
    }

    @Test func aRemovedUDPServiceLosesAllItsFlows() {
        #expect(ConntrackCleanup.deletions(from: dns(twoEndpoints), to: ServiceProxyModel()).count == 2)
    }
}

struct HostPortCheckTests {
    /// Listeners on loopback in the test's own namespace: a port they hold counts as taken on 0.0.0.0.
    @Test(arguments: [ProxyTransport.tcp, .udp])
    func aPortHeldOnLoopbackIsInUseAndFreeOnceClosed(transport: ProxyTransport) throws {
        // Close-on-exec: a process another test starts meanwhile would otherwise inherit the socket and hold the
        // port for its whole life.
        let type = transport == .tcp ? Int32(SOCK_STREAM.rawValue) : Int32(SOCK_DGRAM.rawValue)
        let fd = socket(AF_INET, type | Int32(SOCK_CLOEXEC.rawValue), 0)
        try #require(fd >= 0)
        // Below the ephemeral range (32768 and up), so that no connection of another test running meanwhile takes
        // the port between our close and the check that it is free.
        var port = 0
        for candidate in (20000..<30000).shuffled().prefix(100) {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(candidate).bigEndian)
            address.sin_addr = in_addr(s_addr: UInt32(0x7f00_0001).bigEndian)
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
            }
            if bound { port = candidate; break }
        }
        try #require(port != 0)
        if transport == .tcp { try #require(listen(fd, 1) == 0) }
        #expect(HostPortCheck.inUse(port: port, transport: transport))
        close(fd)
        // A process another test is starting holds a copy of every descriptor, close-on-exec ones too, until its
        // exec: the port is free once that copy is gone.
        var free = false
        for _ in 0..<500 where !free {
            free = !HostPortCheck.inUse(port: port, transport: transport)
            if !free { usleep(10_000) }
        }
        #expect(free)
    }
}
