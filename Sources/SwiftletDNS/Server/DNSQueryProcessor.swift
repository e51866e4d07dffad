#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Turns query packets into reply packets, for either transport: decoding, the cluster zone, forwarding, and each
/// transport's size limit.
final class DNSQueryProcessor: Sendable {
    enum Transport: Sendable {
        case udp, tcp
    }

    enum Outcome: Sendable {
        case reply([UInt8])
        /// Not answerable: shorter than a header, or itself a response.
        case drop
        /// Needs the upstreams; finish it with `complete(_:)` off the event loop.
        case pending(PendingQuery)
    }

    struct PendingQuery: Sendable {
        fileprivate enum Work: Sendable {
            case forward(packet: [UInt8])
            case appendUpstreamRecords(reply: DNSMessage, target: DNSName, type: DNSRecordType)
        }

        fileprivate let query: DNSMessage
        fileprivate let transport: Transport
        fileprivate let work: Work
    }

    private let settings: ClusterDNSResolver.Settings
    private let resolver: Mutex<ClusterDNSResolver>
    private let forwarder: UpstreamForwarder
    /// Each query waiting for an upstream holds a socket until the upstream answers or times out; past this many,
    /// new ones are REFUSED, as with CoreDNS's `max_concurrent`.
    private let maxPending: Int
    private let pendingCount = Mutex(0)

    init(settings: ClusterDNSResolver.Settings, forwarder: UpstreamForwarder, maxPending: Int = 1000) {
        self.settings = settings
        self.resolver = Mutex(ClusterDNSResolver(settings: settings, records: ClusterDNSRecords(), serial: Self.serialNow()))
        self.forwarder = forwarder
        self.maxPending = maxPending
    }

    /// Builds the indexes of the new records, then swaps them in: queries see the old zone or the new, never a mix.
    func update(_ records: ClusterDNSRecords) {
        let resolver = ClusterDNSResolver(settings: settings, records: records, serial: Self.serialNow())
        self.resolver.withLock { $0 = resolver }
    }

    /// Everything that can be answered without waiting is answered here, on the event loop.
    func process(_ packet: [UInt8], over transport: Transport) -> Outcome {
        guard let header = DNSHeader(packet), !header.isResponse else { return .drop }
        let query: DNSMessage
        do {
            query = try DNSMessage(decoding: packet)
        } catch {
            return .reply(header.message.reply(code: .formatError).encoded())
        }
        let resolver = self.resolver.withLock { $0 }
        let work: PendingQuery.Work
        switch resolver.resolve(query) {
        case .answer(let reply):
            return .reply(encode(reply, for: query, over: transport))
        case .forward:
            work = .forward(packet: packet)
        case .answerWithUpstreamRecords(let reply, let target, let type):
            work = .appendUpstreamRecords(reply: reply, target: target, type: type)
        }
        let admitted = pendingCount.withLock { count in
            guard count < maxPending else { return false }
            count += 1
            return true
        }
        guard admitted else { return .reply(encode(query.reply(code: .refused), for: query, over: transport)) }
        return .pending(PendingQuery(query: query, transport: transport, work: work))
    }

    /// Must be called exactly once for every `.pending` outcome.
    func complete(_ pending: PendingQuery) async -> [UInt8] {
        defer { pendingCount.withLock { $0 -= 1 } }
        let query = pending.query
        let overTCP = pending.transport == .tcp
        switch pending.work {
        case .forward(let packet):
            guard let reply = await forwarder.exchange(packet, overTCP: overTCP) else {
                return encode(query.reply(code: .serverFailure), for: query, over: pending.transport)
            }
            // Only a reply fetched again over TCP can exceed what the client offered; cut it to size as our own.
            guard !overTCP, reply.count > query.clientUDPLimit else { return reply }
            guard let message = try? DNSMessage(decoding: reply) else {
                var truncated = query.reply()
                truncated.isTruncated = true
                return truncated.encoded()
            }
            return message.encoded(limit: query.clientUDPLimit)
        case .appendUpstreamRecords(var reply, let target, let type):
            var lookup = DNSMessage()
            lookup.id = UInt16.random(in: .min ... .max)
            lookup.recursionDesired = true
            lookup.questions = [DNSQuestion(name: target, type: type)]
            lookup.ednsExtension = DNSExtension(udpPayloadSize: DNSExtension.serverPayloadSize)
            if let bytes = await forwarder.exchange(lookup.encoded(), overTCP: overTCP),
                let answer = try? DNSMessage(decoding: bytes)
            {
                reply.answers += answer.answers
            }
            return encode(reply, for: query, over: pending.transport)
        }
    }

    private func encode(_ reply: DNSMessage, for query: DNSMessage, over transport: Transport) -> [UInt8] {
        switch transport {
        case .udp: reply.encoded(limit: query.udpReplyLimit)
        case .tcp: reply.encoded(limit: Int(UInt16.max))
        }
    }

    private static func serialNow() -> UInt32 {
        UInt32(truncatingIfNeeded: time(nil))
    }
}
