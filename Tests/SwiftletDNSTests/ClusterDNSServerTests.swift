import Foundation
import NIOCore
import NIOPosix
import Synchronization
import Testing
@testable import SwiftletDNS

/// The server on real sockets, queried by bind9's dig and nslookup, busybox's nslookup, and raw packets.
struct ClusterDNSServerTests {
    @Test func digGetsClusterAnswersOverUDPAndTCP() async throws {
        try await withServer { _, port in
            let a = try await dig(port, "web.default.svc.cluster.local", "A")
            #expect(a.output.contains("status: NOERROR"))
            #expect(a.output.contains("flags: qr aa rd ra; QUERY: 1, ANSWER: 1, AUTHORITY: 0, ADDITIONAL: 1"))
            #expect(a.words.contains("web.default.svc.cluster.local. 5 IN A 10.96.0.20"))
            #expect(a.output.contains("EDNS: version: 0, flags:; udp: 1232"))
            #expect(!a.output.contains("recursion requested but not available"))

            let srv = try await dig(port, "+tcp", "+short", "_pg._tcp.db.data.svc.cluster.local", "SRV")
            #expect(srv.output.split(separator: "\n").sorted() == [
                "0 33 5432 10-42-0-12.db.data.svc.cluster.local.", "0 33 5432 db-0.db.data.svc.cluster.local.",
                "0 33 5432 db-1.db.data.svc.cluster.local.",
            ])
            let srvAdditional = try await dig(port, "+tcp", "_pg._tcp.db.data.svc.cluster.local", "SRV")
            #expect(srvAdditional.words.contains("db-0.db.data.svc.cluster.local. 5 IN A 10.42.0.10"))

            let noData = try await dig(port, "web.default.svc.cluster.local", "AAAA")
            #expect(noData.output.contains("status: NOERROR"))
            #expect(noData.output.contains("ANSWER: 0, AUTHORITY: 1"))
            #expect(noData.words.contains("cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local."))

            let nxDomain = try await dig(port, "+tcp", "nope.default.svc.cluster.local")
            #expect(nxDomain.output.contains("status: NXDOMAIN"))
            #expect(nxDomain.output.contains("flags: qr aa rd ra"))

            #expect(try await dig(port, "+short", "-x", "10.96.0.20").output == "web.default.svc.cluster.local.\n")
            #expect(try await dig(port, "+short", "10-42-9-9.default.pod.cluster.local").output == "10.42.9.9\n")
            #expect(try await dig(port, "+short", "dns-version.cluster.local", "TXT").output == "\"1.1.0\"\n")
        }
    }

    @Test func oneTCPConnectionCarriesSeveralQueries() async throws {
        try await withServer { _, port in
            let kept = try await dig(
                port, "+tcp", "+keepopen", "+short", "web.default.svc.cluster.local", "db-0.db.data.svc.cluster.local",
                "10-1-2-3.default.pod.cluster.local")
            #expect(kept.output == "10.96.0.20\n10.42.0.10\n10.1.2.3\n")

            // Two framed queries in one write, the second split from its length by nothing at all.
            let first = makeQuery("web.default.svc.cluster.local", .a, id: 1).encoded()
            let second = makeQuery("db.data.svc.cluster.local", .a, id: 2).encoded()
            let bytes = Array(DNSStreamFrameDecoder.frame(first).readableBytesView) + Array(DNSStreamFrameDecoder.frame(second).readableBytesView)
            let replies = try await exchangeStream(bytes, replies: 2, port: port).map { try DNSMessage(decoding: $0) }
            #expect(replies.map(\.id) == [1, 2])
            #expect(replies.map(\.answers.count) == [1, 3])
        }
    }

    @Test func largeUDPAnswersAreTruncatedAndWholeOverTCP() async throws {
        let many = DNSService(
            namespace: "default", name: "many", endpoints: (1...60).map { DNSEndpoint(ip: "10.42.1.\($0)") })
        try await withServer(records: ClusterDNSRecords(services: [many])) { _, port in
            let ignored = try await dig(port, "+noedns", "+ignore", "many.default.svc.cluster.local")
            #expect(ignored.output.contains("flags: qr aa tc rd ra; QUERY: 1, ANSWER: 29,"))
            let retried = try await dig(port, "+noedns", "many.default.svc.cluster.local")
            #expect(retried.output.contains("Truncated, retrying in TCP mode"))
            #expect(retried.output.contains("ANSWER: 60,"))
            // 60 answers fit the 1232 bytes EDNS allows.
            let edns = try await dig(port, "many.default.svc.cluster.local")
            #expect(!edns.output.contains("Truncated") && edns.output.contains("ANSWER: 60,"))
        }
    }

    @Test func bindNslookupResolvesWithoutWarnings() async throws {
        try await withServer { _, port in
            let found = try await run("/usr/bin/nslookup", ["-port=\(port)", "-timeout=3", "web.default.svc.cluster.local", "127.0.0.1"])
            #expect(found.status == 0)
            #expect(found.output.contains("Name:\tweb.default.svc.cluster.local\nAddress: 10.96.0.20"))
            #expect(!found.output.contains("recursion not available"))
            let headless = try await run("/usr/bin/nslookup", ["-port=\(port)", "-timeout=3", "db.data.svc.cluster.local", "127.0.0.1"])
            #expect(headless.output.contains("Address: 10.42.0.11"))
            let missing = try await run("/usr/bin/nslookup", ["-port=\(port)", "-timeout=3", "nope.default.svc.cluster.local", "127.0.0.1"])
            #expect(missing.status != 0)
            #expect(missing.output.contains("server can't find nope.default.svc.cluster.local: NXDOMAIN"))
            let reverse = try await run("/usr/bin/nslookup", ["-port=\(port)", "-timeout=3", "10.42.0.10", "127.0.0.1"])
            #expect(reverse.output.contains("10.0.42.10.in-addr.arpa\tname = db-0.db.data.svc.cluster.local."))
        }
    }

    @Test func busyboxNslookupResolves() async throws {
        try await withServer { _, port in
            // busybox asks A and AAAA; the AAAA must be NODATA, not NXDOMAIN, for it to succeed.
            let found = try await run("/usr/bin/busybox", ["nslookup", "web.default.svc.cluster.local", "127.0.0.1:\(port)"])
            #expect(found.status == 0, "\(found.output)")
            #expect(found.output.contains("Name:\tweb.default.svc.cluster.local\nAddress: 10.96.0.20"))
            let srv = try await run("/usr/bin/busybox", ["nslookup", "-type=srv", "_http._tcp.web.default.svc.cluster.local", "127.0.0.1:\(port)"])
            #expect(srv.output.contains("service = 0 100 80 web.default.svc.cluster.local"), "\(srv.output)")
            let missing = try await run("/usr/bin/busybox", ["nslookup", "nope.default.svc.cluster.local", "127.0.0.1:\(port)"])
            #expect(missing.status != 0)
            #expect(missing.output.contains("NXDOMAIN"))
        }
    }

    @Test func namesOutsideTheClusterAreForwardedToTheUpstream() async throws {
        let upstreamRecords = ClusterDNSRecords(services: [
            DNSService(namespace: "prod", name: "api", clusterIP: "10.1.2.3", ports: [DNSServicePort(name: "http", port: 80)]),
            DNSService(namespace: "prod", name: "many", endpoints: (1...100).map { DNSEndpoint(ip: "10.2.0.\($0)") }),
        ])
        var records = sampleRecords
        records.services.append(DNSService(namespace: "default", name: "ext", externalName: "api.prod.svc.upstream.test"))
        try await withServer(domain: "upstream.test", records: upstreamRecords) { _, upstreamPort in
            try await withServer(records: records, upstreams: ["127.0.0.1:\(upstreamPort)"]) { _, port in
                let forwarded = try await dig(port, "api.prod.svc.upstream.test")
                #expect(forwarded.words.contains("api.prod.svc.upstream.test. 5 IN A 10.1.2.3"))
                #expect(forwarded.output.contains("flags: qr aa rd ra"))
                let overTCP = try await dig(port, "+tcp", "+short", "_http._tcp.api.prod.svc.upstream.test", "SRV")
                #expect(overTCP.output == "0 100 80 api.prod.svc.upstream.test.\n")
                let missing = try await dig(port, "nope.prod.svc.upstream.test")
                #expect(missing.output.contains("status: NXDOMAIN"))
                // The upstream has no upstream of its own: its SERVFAIL comes back.
                #expect(try await dig(port, "example.com").output.contains("status: SERVFAIL"))

                // Too big for the upstream's UDP reply: asked again over TCP, then passed whole to a client that
                // takes 4096 bytes.
                let big = try await dig(port, "+bufsize=4096", "many.prod.svc.upstream.test")
                #expect(!big.output.contains("Truncated") && big.output.contains("ANSWER: 100,"))
                let classic = try await dig(port, "+noedns", "+ignore", "many.prod.svc.upstream.test")
                #expect(classic.output.contains("flags: qr aa tc rd ra"))

                // ExternalName: the CNAME, then the target's address from upstream.
                let external = try await dig(port, "ext.default.svc.cluster.local")
                #expect(external.words.contains("ext.default.svc.cluster.local. 5 IN CNAME api.prod.svc.upstream.test."))
                #expect(external.words.contains("api.prod.svc.upstream.test. 5 IN A 10.1.2.3"))
            }
        }
    }

    /// Counts the queries an upstream that never answers receives.
    final class DatagramCounter: ChannelInboundHandler, Sendable {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        let received = Atomic<Int>(0)
        func channelRead(context: ChannelHandlerContext, data: NIOAny) { received.add(1, ordering: .relaxed) }
    }

    @Test func aDeadUpstreamTimesOutAndTheNextAnswers() async throws {
        let counter = DatagramCounter()
        let blackHole = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in channel.pipeline.addHandler(counter) }
            .bind(host: "127.0.0.1", port: 0).get()
        defer { blackHole.close(promise: nil) }
        let deadPort = blackHole.localAddress!.port!
        let upstreamRecords = ClusterDNSRecords(services: [DNSService(namespace: "prod", name: "api", clusterIP: "10.1.2.3")])
        try await withServer(domain: "upstream.test", records: upstreamRecords) { _, upstreamPort in
            try await withServer(upstreams: ["127.0.0.1:\(deadPort)", "127.0.0.1:\(upstreamPort)"], upstreamTimeout: .seconds(1)) { _, port in
                let query = makeQuery("api.prod.svc.upstream.test", .a, id: 77).encoded()
                let answered = try DNSMessage(decoding: try #require(await exchangeDatagram(query, port: port)))
                #expect(answered.id == 77 && answered.answers.map(\.data) == [.a(ipv4("10.1.2.3"))])
                // The dead upstream was asked first, then the next one answered.
                #expect(counter.received.load(ordering: .relaxed) == 1)
                // The upstream that answered is asked first from now on: the dead one hears nothing more.
                let again = try DNSMessage(decoding: try #require(await exchangeDatagram(query, port: port)))
                #expect(again.answers.map(\.data) == [.a(ipv4("10.1.2.3"))])
                #expect(counter.received.load(ordering: .relaxed) == 1)
            }
            try await withServer(upstreams: ["127.0.0.1:\(deadPort)"], upstreamTimeout: .milliseconds(300)) { _, port in
                let failed = try await dig(port, "api.prod.svc.upstream.test")
                #expect(failed.output.contains("status: SERVFAIL"))
                #expect(failed.output.contains("flags: qr rd ra"))
            }
        }
    }

    @Test func aRefusingUpstreamIsSkippedWithoutWaiting() async throws {
        let closed = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let closedPort = closed.localAddress!.port!
        try await closed.close()
        let upstreamRecords = ClusterDNSRecords(services: [DNSService(namespace: "prod", name: "api", clusterIP: "10.1.2.3")])
        try await withServer(domain: "upstream.test", records: upstreamRecords) { _, upstreamPort in
            // Waiting out the closed upstream's timeout would leave the client without an answer.
            try await withServer(upstreams: ["127.0.0.1:\(closedPort)", "127.0.0.1:\(upstreamPort)"], upstreamTimeout: .seconds(60)) { _, port in
                let reply = try await exchangeDatagram(makeQuery("api.prod.svc.upstream.test", .a).encoded(), port: port, timeout: .seconds(10))
                #expect(try DNSMessage(decoding: try #require(reply)).answers.count == 1)
            }
        }
    }

    @Test func withoutUpstreamsForeignNamesAreSERVFAIL() async throws {
        try await withServer { _, port in
            let reply = try await exchangeDatagram(makeQuery("example.com", .a, id: 9).encoded(), port: port)
            let message = try DNSMessage(decoding: try #require(reply))
            #expect(message.id == 9 && message.responseCode == .serverFailure && message.recursionAvailable)
            #expect(message.questions == makeQuery("example.com", .a).questions)
        }
    }

    @Test func malformedPacketsAreAnsweredOrDroppedAndTheServerCarriesOn() async throws {
        try await withServer { _, port in
            // Too short for a header: dropped.
            #expect(try await exchangeDatagram([1, 2, 3, 4, 5], port: port, timeout: .milliseconds(300)) == nil)
            // A header promising a question that is not there: FORMERR with the ID.
            let formErr = try await exchangeDatagram([0xAB, 0xCD, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0], port: port)
            let header = try #require(DNSHeader(formErr ?? []))
            #expect(header.id == 0xABCD && header.isResponse && header.flags & 0xF == 1)
            // A self-referencing compression pointer: FORMERR too.
            let loop = try await exchangeDatagram([0, 7, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1], port: port)
            #expect(DNSHeader(loop ?? []).map { $0.flags & 0xF } == 1)
            // A response sent to us is not answered (no loops between servers).
            var response = makeQuery("web.default.svc.cluster.local", .a)
            response.isResponse = true
            #expect(try await exchangeDatagram(response.encoded(), port: port, timeout: .milliseconds(300)) == nil)
            // Another opcode: NOTIMP.
            var notify = makeQuery("web.default.svc.cluster.local", .soa)
            notify.opcode = 4
            let notImplementedReply = try await exchangeDatagram(notify.encoded(), port: port)
            let notImplemented = try DNSMessage(decoding: try #require(notImplementedReply))
            #expect(notImplemented.responseCode == .notImplemented)
            // Random garbage of every length, then a normal query still works.
            var generator = SystemRandomNumberGenerator()
            for length in 12..<80 {
                // Byte 2 keeps QR clear, so that each packet reads as a query.
                let garbage = (0..<length).map { index in UInt8.random(in: 0...255, using: &generator) & (index == 2 ? 0x7F : 0xFF) }
                _ = try await exchangeDatagram(garbage, port: port, timeout: .milliseconds(50))
            }
            let framed = Array(DNSStreamFrameDecoder.frame([0, 9, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x41]).readableBytesView)
            let tcpFormErr = try await exchangeStream(framed, replies: 1, port: port)
            #expect(DNSHeader(tcpFormErr[0]).map { $0.flags & 0xF } == 1)
            #expect(try await dig(port, "+short", "web.default.svc.cluster.local").output == "10.96.0.20\n")
        }
    }

    @Test func updatesReplaceTheRecordsServed() async throws {
        try await withServer(records: ClusterDNSRecords()) { server, port in
            let before = try await dig(port, "web.default.svc.cluster.local")
            #expect(before.output.contains("status: NXDOMAIN"))
            server.update(sampleRecords)
            let added = try await dig(port, "+short", "web.default.svc.cluster.local")
            #expect(added.output == "10.96.0.20\n")
            var moved = sampleRecords
            moved.services[0].clusterIP = "10.96.0.99"
            server.update(moved)
            let changed = try await dig(port, "+short", "web.default.svc.cluster.local")
            #expect(changed.output == "10.96.0.99\n")
        }
    }

    @Test func aTakenPortIsReportedWithItsAddress() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let (udp, port) = try await udpPortAlsoFreeForTCP(group: group)
        let server = ClusterDNSServer(configuration: ClusterDNSConfiguration(listenAddress: "127.0.0.1", port: port))
        await #expect(throws: DNSServerError.listenFailed(network: "udp", address: "127.0.0.1:\(port)", reason: "bind: address already in use")) {
            try await server.start()
        }
        #expect(DNSServerError.listenFailed(network: "udp", address: "127.0.0.1:\(port)", reason: "bind: address already in use").description
            == "listen udp 127.0.0.1:\(port): bind: address already in use")
        try await udp.close()

        // TCP taken, UDP free: the UDP socket is let go again.
        let tcp = try await ServerBootstrap(group: group).bind(host: "127.0.0.1", port: port).get()
        await #expect(throws: DNSServerError.listenFailed(network: "tcp", address: "127.0.0.1:\(port)", reason: "bind: address already in use")) {
            try await server.start()
        }
        #expect(server.boundPort == nil)
        try await tcp.close()
        let free = try await DatagramBootstrap(group: group).bind(host: "127.0.0.1", port: port).get()
        try await free.close()
    }

    /// A UDP socket on a port that TCP can use too: the test needs the same number free in both. The port is
    /// below the kernel's ephemeral range (32768 and up), where another test's connection could take it
    /// between the test's binds.
    private func udpPortAlsoFreeForTCP(group: MultiThreadedEventLoopGroup) async throws -> (any Channel, Int) {
        for port in (20000..<30000).shuffled().prefix(50) {
            guard let udp = try? await DatagramBootstrap(group: group).bind(host: "127.0.0.1", port: port).get() else { continue }
            if let tcp = try? await ServerBootstrap(group: group).bind(host: "127.0.0.1", port: port).get() {
                try await tcp.close()
                return (udp, port)
            }
            try await udp.close()
        }
        throw DNSServerError.listenFailed(network: "tcp", address: "127.0.0.1", reason: "no port free for both UDP and TCP")
    }

    @Test func aServerStartsOnceAndRestartsAfterStop() async throws {
        try await withServer { server, port in
            await #expect(throws: DNSServerError.alreadyStarted) { try await server.start() }
            await server.stop()
            #expect(server.boundPort == nil)
            try await server.start()
            let again = try #require(server.boundPort)
            #expect(try await dig(again, "+short", "web.default.svc.cluster.local").output == "10.96.0.20\n")
            _ = port
        }
    }

    @Test func badConfigurationsAreRejectedAtStart() async {
        let server = ClusterDNSServer(configuration: ClusterDNSConfiguration(
            listenAddress: "127.0.0.1", port: 0, upstreams: ["8.8.8.8:99999", "dns.google"], reverseCIDRs: ["10.96.0.0"]))
        do {
            try await server.start()
            Issue.record("started")
        } catch {
            guard case .invalidConfiguration(let message) = error else { Issue.record("\(error)"); return }
            #expect(message.contains("upstream \"8.8.8.8:99999\" is not \"ip\" or \"ip:port\""))
            #expect(message.contains("upstream \"dns.google\""))
            #expect(message.contains("reverse CIDR \"10.96.0.0\" is not an IPv4 CIDR"))
        }
        #expect(server.boundPort == nil)
        let badAddress = ClusterDNSServer(configuration: ClusterDNSConfiguration(listenAddress: "no-such-host.invalid", port: 0))
        await #expect(throws: DNSServerError.listenFailed(
            network: "udp", address: "no-such-host.invalid:0", reason: "lookup no-such-host.invalid: no such host")
        ) { try await badAddress.start() }
    }

    @Test func upstreamAddressesParse() {
        #expect(ClusterDNSServer.socketAddress("192.0.2.1") == (try? SocketAddress(ipAddress: "192.0.2.1", port: 53)))
        #expect(ClusterDNSServer.socketAddress("192.0.2.1:5353") == (try? SocketAddress(ipAddress: "192.0.2.1", port: 5353)))
        #expect(ClusterDNSServer.socketAddress("2001:db8::1") == (try? SocketAddress(ipAddress: "2001:db8::1", port: 53)))
        #expect(ClusterDNSServer.socketAddress("[2001:db8::1]:5353") == (try? SocketAddress(ipAddress: "2001:db8::1", port: 5353)))
        #expect(ClusterDNSServer.socketAddress("192.0.2.1:0") == nil)
        #expect(ClusterDNSServer.socketAddress("resolver.example") == nil)
    }

    @Test func hostUpstreamsComeFromResolvConf() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlet-dns-resolv-\(UUID().uuidString).conf").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try """
            # generated
            search example.internal
            nameserver 192.0.2.53
            nameserver\t10.96.0.10
            nameserver fe80::1%eth0
            nameserver 2001:db8::53
            nameserver 192.0.2.53
            options ndots:2
            """.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(ClusterDNSConfiguration.hostUpstreams(resolvConf: path, excluding: ["10.96.0.10"]) == ["192.0.2.53", "2001:db8::53"])
        #expect(ClusterDNSConfiguration.hostUpstreams(resolvConf: path + ".missing", excluding: []) == [])
    }
}
