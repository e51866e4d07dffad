import NIOCore
import NIOPosix
import Testing
@testable import SwiftletDNS

/// Packets in, packets out, without sockets (no upstreams, so nothing is ever sent).
struct DNSQueryProcessorTests {
    func makeProcessor(maxPending: Int = 1000) -> DNSQueryProcessor {
        let settings = ClusterDNSResolver.Settings(domain: DNSName("cluster.local"), ttl: 5, reverseCIDRs: [])
        let forwarder = UpstreamForwarder(upstreams: [], timeout: .seconds(1), group: MultiThreadedEventLoopGroup.singleton)
        let processor = DNSQueryProcessor(settings: settings, forwarder: forwarder, maxPending: maxPending)
        processor.update(sampleRecords)
        return processor
    }

    func reply(_ outcome: DNSQueryProcessor.Outcome, sourceLocation: SourceLocation = #_sourceLocation) throws -> DNSMessage {
        guard case .reply(let bytes) = outcome else {
            Issue.record("expected a reply, got \(outcome)", sourceLocation: sourceLocation)
            return DNSMessage()
        }
        return try DNSMessage(decoding: bytes)
    }

    @Test func unreadableAndStrayPacketsAreDroppedOrFORMERR() throws {
        let processor = makeProcessor()
        guard case .drop = processor.process([0, 1, 2], over: .udp) else { Issue.record("short packet answered"); return }
        var response = makeQuery("web.default.svc.cluster.local", .a)
        response.isResponse = true
        guard case .drop = processor.process(response.encoded(), over: .udp) else { Issue.record("response answered"); return }
        let formErr = try reply(processor.process([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 3, 0x61], over: .tcp))
        #expect(formErr.id == 0x1234 && formErr.responseCode == .formatError && formErr.recursionDesired && formErr.questions.isEmpty)
    }

    @Test func udpRepliesKeepToTheClientsLimitAndTCPRepliesDoNot() throws {
        let many = DNSService(namespace: "default", name: "many", endpoints: (1...200).map { DNSEndpoint(ip: "10.42.\($0 / 250).\($0 % 250)") })
        let processor = makeProcessor()
        processor.update(ClusterDNSRecords(services: [many]))
        let classic = makeQuery("many.default.svc.cluster.local", .a)
        guard case .reply(let bytes) = processor.process(classic.encoded(), over: .udp) else { Issue.record("no reply"); return }
        #expect(try bytes.count <= 512 && DNSMessage(decoding: bytes).isTruncated)
        let edns = makeQuery("many.default.svc.cluster.local", .a, udpPayloadSize: 65000)
        guard case .reply(let large) = processor.process(edns.encoded(), over: .udp) else { Issue.record("no reply"); return }
        // Capped at the 1232 bytes we advertise, whatever the client offers.
        #expect(try large.count <= 1232 && large.count > 1100 && DNSMessage(decoding: large).isTruncated)
        let whole = try reply(processor.process(classic.encoded(), over: .tcp))
        #expect(!whole.isTruncated && whole.answers.count == 200)
    }

    @Test func forwardingWithoutUpstreamsIsSERVFAILAndTooManyPendingAreREFUSED() async throws {
        let processor = makeProcessor(maxPending: 1)
        let query = makeQuery("example.com", .a, id: 5, udpPayloadSize: 1232)
        guard case .pending(let first) = processor.process(query.encoded(), over: .udp) else { Issue.record("not forwarded"); return }
        #expect(try reply(processor.process(query.encoded(), over: .udp)).responseCode == .refused)
        let failed = try DNSMessage(decoding: await processor.complete(first))
        #expect(failed.id == 5 && failed.responseCode == .serverFailure && failed.ednsExtension != nil)
        guard case .pending(let again) = processor.process(query.encoded(), over: .tcp) else { Issue.record("slot not given back"); return }
        _ = await processor.complete(again)
    }

    @Test func namesThatCannotBeWrittenAreLeftOut() throws {
        let long = String(repeating: "a", count: 64)
        let processor = makeProcessor()
        processor.update(ClusterDNSRecords(services: [
            DNSService(namespace: "default", name: long, clusterIP: "10.96.0.1"),
            DNSService(namespace: "default", name: "ext", externalName: long + ".example.com"),
            DNSService(namespace: "default", name: "headless", endpoints: [DNSEndpoint(ip: "10.42.0.1", hostname: long), DNSEndpoint(ip: "10.42.0.2")]),
        ]))
        for name in ["ext.default.svc.cluster.local", "\(String(repeating: "a", count: 63)).default.svc.cluster.local"] {
            #expect(try reply(processor.process(makeQuery(name, .a).encoded(), over: .udp)).responseCode == .nameError)
        }
        let headless = try reply(processor.process(makeQuery("headless.default.svc.cluster.local", .a).encoded(), over: .udp))
        #expect(headless.answers.map(\.data) == [.a(ipv4("10.42.0.2"))])
    }
}
