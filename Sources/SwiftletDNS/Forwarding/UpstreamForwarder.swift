import NIOCore
import Synchronization

/// Sends queries for names outside the cluster to the upstream resolvers, one after the other.
final class UpstreamForwarder: Sendable {
    private let upstreams: [SocketAddress]
    private let timeout: TimeAmount
    private let group: any EventLoopGroup
    /// The upstream that answered last is asked first, so a dead first upstream costs one timeout, not one per query.
    private let preferred = Mutex(0)

    init(upstreams: [SocketAddress], timeout: TimeAmount, group: any EventLoopGroup) {
        self.upstreams = upstreams
        self.timeout = timeout
        self.group = group
    }

    /// The reply to `query` (a whole message) with the query's own ID and RA set, or nil when no upstream answered.
    /// Over UDP a truncated reply is asked again over TCP; a TCP query goes upstream over TCP.
    func exchange(_ query: [UInt8], overTCP: Bool) async -> [UInt8]? {
        guard query.count >= DNSMessage.headerLength, !upstreams.isEmpty else { return nil }
        let first = preferred.withLock { $0 }
        for step in upstreams.indices {
            let index = (first + step) % upstreams.count
            if let reply = await exchange(query, with: upstreams[index], overTCP: overTCP) {
                preferred.withLock { $0 = index }
                return reply
            }
        }
        return nil
    }

    private func exchange(_ query: [UInt8], with upstream: SocketAddress, overTCP: Bool) async -> [UInt8]? {
        let id = UInt16.random(in: .min ... .max)
        var outgoing = query
        outgoing[0] = UInt8(id >> 8)
        outgoing[1] = UInt8(id & 0xFF)
        let loop = group.next()
        var reply: [UInt8]
        do {
            if overTCP {
                reply = try await UpstreamExchange.overTCP(outgoing, id: id, to: upstream, timeout: timeout, on: loop)
            } else {
                reply = try await UpstreamExchange.overUDP(outgoing, id: id, to: upstream, timeout: timeout, on: loop)
                if DNSHeader(reply)?.isTruncated == true,
                    let whole = try? await UpstreamExchange.overTCP(outgoing, id: id, to: upstream, timeout: timeout, on: loop)
                {
                    reply = whole
                }
            }
        } catch {
            return nil
        }
        reply[0] = query[0]
        reply[1] = query[1]
        // Recursion is available from us whatever the upstream says (bind9's nslookup warns when RA is clear).
        reply[3] |= 0x80
        return reply
    }
}
