import Testing
@testable import SwiftletDNS

struct ClusterDNSResolverTests {
    let resolver = ClusterDNSResolver(
        settings: ClusterDNSResolver.Settings(
            domain: DNSName("cluster.local"), ttl: 5, reverseCIDRs: [IPv4CIDR("10.96.0.0/12")!, IPv4CIDR("10.42.0.0/16")!]),
        records: sampleRecords, serial: 42)

    func answer(_ name: String, _ type: DNSRecordType, sourceLocation: SourceLocation = #_sourceLocation) -> DNSMessage {
        let resolution = resolver.resolve(makeQuery(name, type))
        guard case .answer(let reply) = resolution else {
            Issue.record("expected an answer, got \(resolution)", sourceLocation: sourceLocation)
            return DNSMessage()
        }
        return reply
    }

    func addresses(_ name: String, _ type: DNSRecordType = .a) -> [[UInt8]] {
        answer(name, type).answers.compactMap {
            switch $0.data {
            case .a(let address), .aaaa(let address): address
            default: nil
            }
        }
    }

    func expectNegative(_ reply: DNSMessage, _ code: DNSResponseCode, zone: String = "cluster.local", sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(reply.responseCode == code, sourceLocation: sourceLocation)
        #expect(reply.answers.isEmpty, sourceLocation: sourceLocation)
        #expect(reply.isAuthoritative && reply.recursionAvailable, sourceLocation: sourceLocation)
        #expect(reply.authorities.map(\.name) == [DNSName(zone)], sourceLocation: sourceLocation)
        #expect(reply.authorities.first?.type == .soa, sourceLocation: sourceLocation)
    }

    @Test func aServiceNameAnswersItsClusterIPEchoingTheQuestion() {
        let query = makeQuery("WEB.Default.SVC.cluster.LOCAL", .a, id: 0xBEEF)
        guard case .answer(let reply) = resolver.resolve(query) else { Issue.record("not answered"); return }
        #expect(reply.id == 0xBEEF && reply.isResponse && reply.isAuthoritative && reply.recursionAvailable && reply.recursionDesired)
        #expect(reply.responseCode == .noError)
        #expect(reply.questions == query.questions)
        #expect(reply.questions[0].name.description == "WEB.Default.SVC.cluster.LOCAL.")
        #expect(reply.answers == [DNSResourceRecord(name: query.questions[0].name, ttl: 5, data: .a(ipv4("10.96.0.20")))])
        #expect(reply.ednsExtension == nil)
    }

    @Test func anExistingNameAskedForAnotherTypeIsNoDataWithTheSOA() {
        let reply = answer("web.default.svc.cluster.local", .aaaa)
        expectNegative(reply, .noError)
        guard case .soa(let soa) = reply.authorities.first?.data else { Issue.record("no SOA"); return }
        #expect(soa == DNSStartOfAuthority(
            primaryServer: DNSName("ns.dns.cluster.local"), mailbox: DNSName("hostmaster.cluster.local"),
            serial: 42, refresh: 7200, retry: 1800, expire: 86400, minimumTTL: 5))
        for type in [DNSRecordType.mx, .txt, .ptr, .ns, .any, .soa] {
            expectNegative(answer("web.default.svc.cluster.local", type), .noError)
        }
        // Names that exist without records of their own.
        for name in ["cluster.local", "svc.cluster.local", "default.svc.cluster.local", "pod.cluster.local", "default.pod.cluster.local"] {
            expectNegative(answer(name, .a), .noError)
        }
    }

    @Test func namesThatDoNotExistAreNXDomainWithTheSOA() {
        for name in [
            "nope.default.svc.cluster.local", "web.nope.svc.cluster.local", "nope.svc.cluster.local", "web.default.cluster.local",
            "google.com.default.svc.cluster.local", "a.b.c.web.default.svc.cluster.local", "x.cluster.local",
            "nope.web.default.svc.cluster.local", "_https._tcp.web.default.svc.cluster.local", "_http._udp.web.default.svc.cluster.local",
            "empty-headless.default.svc.cluster.local", "web.default.pod.cluster.local", "1-2-3.default.pod.cluster.local",
        ] {
            expectNegative(answer(name, .a), .nameError)
            expectNegative(answer(name, .aaaa), .nameError)
        }
    }

    @Test func aHeadlessServiceAnswersEveryReadyEndpoint() {
        #expect(addresses("db.data.svc.cluster.local") == [ipv4("10.42.0.10"), ipv4("10.42.0.11"), ipv4("10.42.0.12")])
        expectNegative(answer("db.data.svc.cluster.local", .aaaa), .noError)
    }

    @Test func endpointsAreNamedByHostnameOrDashedIP() {
        #expect(addresses("db-0.db.data.svc.cluster.local") == [ipv4("10.42.0.10")])
        #expect(addresses("DB-1.db.data.svc.cluster.local") == [ipv4("10.42.0.11")])
        #expect(addresses("10-42-0-12.db.data.svc.cluster.local") == [ipv4("10.42.0.12")])
        #expect(addresses("10-42-0-7.web.default.svc.cluster.local") == [ipv4("10.42.0.7")])
        // An endpoint with a hostname is not also known by its dashed IP.
        expectNegative(answer("10-42-0-10.db.data.svc.cluster.local", .a), .nameError)
    }

    @Test func srvOfAClusterIPServiceTargetsTheServiceName() {
        let reply = answer("_http._tcp.web.default.svc.cluster.local", .srv)
        let target = DNSName("web.default.svc.cluster.local")
        #expect(reply.answers.map(\.data) == [.srv(DNSServiceLocation(priority: 0, weight: 100, port: 80, target: target))])
        #expect(reply.additionals == [DNSResourceRecord(name: target, ttl: 5, data: .a(ipv4("10.96.0.20")))])
        #expect(answer("_dns._udp.web.default.svc.cluster.local", .srv).answers.map(\.data)
            == [.srv(DNSServiceLocation(priority: 0, weight: 100, port: 53, target: target))])
        // Without port and protocol: every port, the weight shared.
        let all = answer("web.default.svc.cluster.local", .srv)
        #expect(all.answers.map(\.data) == [
            .srv(DNSServiceLocation(priority: 0, weight: 50, port: 80, target: target)),
            .srv(DNSServiceLocation(priority: 0, weight: 50, port: 53, target: target)),
        ])
        #expect(all.additionals.count == 1)
        // The port's name answers A too, as in CoreDNS.
        #expect(addresses("_http._tcp.web.default.svc.cluster.local") == [ipv4("10.96.0.20")])
    }

    @Test func srvOfAHeadlessServiceTargetsEachEndpoint() {
        let reply = answer("_pg._tcp.db.data.svc.cluster.local", .srv)
        let targets = ["db-0", "db-1", "10-42-0-12"].map { DNSName("\($0).db.data.svc.cluster.local") }
        #expect(reply.answers.map(\.data) == targets.map { .srv(DNSServiceLocation(priority: 0, weight: 33, port: 5432, target: $0)) })
        #expect(reply.additionals == zip(targets, ["10.42.0.10", "10.42.0.11", "10.42.0.12"]).map {
            DNSResourceRecord(name: $0, ttl: 5, data: .a(ipv4($1)))
        })
        // An endpoint's own name has the SRV of its ports.
        #expect(answer("db-1.db.data.svc.cluster.local", .srv).answers.map(\.data)
            == [.srv(DNSServiceLocation(priority: 0, weight: 100, port: 5432, target: targets[1]))])
    }

    @Test func anExternalNameServiceIsACNAMEWhoseTargetIsLookedUpUpstream() {
        let query = makeQuery("search.default.svc.cluster.local", .a)
        guard case .answerWithUpstreamRecords(let reply, let target, let type) = resolver.resolve(query) else {
            Issue.record("no upstream lookup")
            return
        }
        #expect(target == DNSName("search.example.com") && type == .a)
        #expect(reply.answers == [DNSResourceRecord(name: query.questions[0].name, ttl: 5, data: .cname(DNSName("search.example.com")))])
        #expect(reply.isAuthoritative)
        // Asked for the CNAME itself, no lookup; SRV is NODATA as in CoreDNS.
        #expect(answer("search.default.svc.cluster.local", .cname).answers.map(\.data) == [.cname(DNSName("search.example.com"))])
        expectNegative(answer("search.default.svc.cluster.local", .srv), .noError)
        // A target inside the cluster is followed here.
        #expect(answer("alias.default.svc.cluster.local", .a).answers.map(\.data) == [
            .cname(DNSName("web.default.svc.cluster.local")), .a(ipv4("10.96.0.20")),
        ])
    }

    @Test func podNamesAreTheirDashedAddresses() {
        #expect(addresses("10-42-3-5.default.pod.cluster.local") == [ipv4("10.42.3.5")])
        #expect(addresses("10-42-3-5.any-namespace.pod.cluster.local") == [ipv4("10.42.3.5")])
        expectNegative(answer("10-42-3-5.default.pod.cluster.local", .aaaa), .noError)
        #expect(addresses("fd00--5.default.pod.cluster.local", .aaaa) == [[0xFD] + [UInt8](repeating: 0, count: 14) + [5]])
        expectNegative(answer("10-42-3-256.default.pod.cluster.local", .a), .nameError)
    }

    @Test func pointerRecordsNameServicesAndHeadlessEndpointsWithHostnames() {
        #expect(answer("20.0.96.10.in-addr.arpa", .ptr).answers.map(\.data) == [.ptr(DNSName("web.default.svc.cluster.local"))])
        let endpoint = answer("10.0.42.10.IN-ADDR.ARPA", .ptr)
        #expect(endpoint.answers.map(\.data) == [.ptr(DNSName("db-0.db.data.svc.cluster.local"))])
        #expect(endpoint.isAuthoritative && endpoint.questions[0].name.description == "10.0.42.10.IN-ADDR.ARPA.")
        // Unknown inside the cluster ranges: NXDOMAIN, with the SOA of the range's reverse zone.
        expectNegative(answer("12.0.42.10.in-addr.arpa", .ptr), .nameError, zone: "42.10.in-addr.arpa")
        expectNegative(answer("99.0.96.10.in-addr.arpa", .ptr), .nameError, zone: "10.in-addr.arpa")
        // Known, another type: NODATA.
        expectNegative(answer("20.0.96.10.in-addr.arpa", .a), .noError, zone: "10.in-addr.arpa")
        // Outside the cluster ranges, and partial reverse names, go upstream.
        #expect(resolver.resolve(makeQuery("8.8.8.8.in-addr.arpa", .ptr)) == .forward)
        #expect(resolver.resolve(makeQuery("42.10.in-addr.arpa", .ptr)) == .forward)
    }

    @Test func theZoneApexHasItsSOAAndTheSchemaVersion() {
        let soa = answer("Cluster.Local", .soa)
        #expect(soa.answers.count == 1 && soa.answers[0].type == .soa && soa.answers[0].name.description == "Cluster.Local.")
        #expect(answer("dns-version.cluster.local", .txt).answers.map(\.data) == [.txt([Array("1.1.0".utf8)])])
        expectNegative(answer("dns-version.cluster.local", .a), .noError)
    }

    @Test func namesOutsideTheDomainAreForwarded() {
        #expect(resolver.resolve(makeQuery("example.com", .a)) == .forward)
        #expect(resolver.resolve(makeQuery("cluster.local.example.com", .a)) == .forward)
        #expect(resolver.resolve(makeQuery("local", .soa)) == .forward)
    }

    @Test func onlyStandardQueriesOfOneQuestionAreServed() {
        var status = makeQuery("web.default.svc.cluster.local", .a)
        status.opcode = 2
        #expect(resolver.resolve(status) == .answer(status.reply(code: .notImplemented)))
        var two = makeQuery("web.default.svc.cluster.local", .a)
        two.questions.append(two.questions[0])
        #expect(resolver.resolve(two) == .answer(two.reply(code: .formatError)))
        var none = makeQuery("web.default.svc.cluster.local", .a)
        none.questions = []
        #expect(resolver.resolve(none) == .answer(none.reply(code: .formatError)))
        var chaos = makeQuery("web.default.svc.cluster.local", .txt)
        chaos.questions[0].recordClass = 3
        #expect(resolver.resolve(chaos) == .answer(chaos.reply(code: .refused)))
    }

    @Test func ednsQueriesGetAnOPTAndUnknownVersionsBADVERS() throws {
        guard case .answer(let reply) = resolver.resolve(makeQuery("web.default.svc.cluster.local", .a, udpPayloadSize: 4096)) else {
            Issue.record("not answered")
            return
        }
        #expect(reply.ednsExtension == DNSExtension(udpPayloadSize: 1232))
        var future = makeQuery("web.default.svc.cluster.local", .a, udpPayloadSize: 1232)
        future.ednsExtension?.version = 1
        guard case .answer(let badVersion) = resolver.resolve(future) else { Issue.record("not answered"); return }
        // BADVERS (16) is 1 in the OPT's extended code and 0 in the header.
        let bytes = badVersion.encoded()
        #expect(bytes[3] & 0xF == 0)
        #expect(try DNSMessage(decoding: bytes).responseCode == .badVersion)
    }
}
