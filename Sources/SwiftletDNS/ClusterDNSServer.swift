import NIOCore
import NIOPosix
import Synchronization

/// The cluster DNS: Service and pod names under the cluster domain answered from `update(_:)`'s records, PTR for
/// cluster addresses, everything else forwarded to the upstreams. UDP and TCP on the same address and port.
public final class ClusterDNSServer: Sendable {
    public let configuration: ClusterDNSConfiguration

    private struct Listeners: Sendable {
        var udp: any Channel
        var tcp: any Channel
        var port: Int
    }

    private enum State: Sendable {
        case stopped, starting
        case running(Listeners)
    }

    /// TCP connections stay open for this long without a query (CoreDNS keeps them for 10 s).
    private static let tcpIdleTimeout = TimeAmount.seconds(10)

    private let group: any EventLoopGroup
    private let processor: DNSQueryProcessor
    private let configurationError: DNSServerError?
    private let state = Mutex(State.stopped)
    private let connections = ConnectionRegistry()

    public init(configuration: ClusterDNSConfiguration, eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.configuration = configuration
        self.group = eventLoopGroup
        var problems: [String] = []
        let upstreams = configuration.upstreams.compactMap { upstream -> SocketAddress? in
            guard let address = Self.socketAddress(upstream) else {
                problems.append("upstream \"\(upstream)\" is not \"ip\" or \"ip:port\"")
                return nil
            }
            return address
        }
        let reverseCIDRs = configuration.reverseCIDRs.compactMap { cidr -> IPv4CIDR? in
            guard let parsed = IPv4CIDR(cidr) else {
                problems.append("reverse CIDR \"\(cidr)\" is not an IPv4 CIDR such as 10.96.0.0/12")
                return nil
            }
            return parsed
        }
        if DNSName(configuration.domain).labels.isEmpty { problems.append("the domain is empty") }
        configurationError = problems.isEmpty ? nil : .invalidConfiguration(problems.joined(separator: "; "))
        let settings = ClusterDNSResolver.Settings(
            domain: DNSName(configuration.domain.lowercased()), ttl: configuration.ttl, reverseCIDRs: reverseCIDRs)
        let forwarder = UpstreamForwarder(
            upstreams: upstreams, timeout: TimeAmount(configuration.upstreamTimeout), group: eventLoopGroup)
        processor = DNSQueryProcessor(settings: settings, forwarder: forwarder)
    }

    /// Replaces the records served; the lookup indexes are built here, once.
    public func update(_ records: ClusterDNSRecords) {
        processor.update(records)
    }

    /// The port both sockets are bound to while running (the chosen one when `configuration.port` is 0).
    public var boundPort: Int? {
        state.withLock { state in
            guard case .running(let listeners) = state else { return nil }
            return listeners.port
        }
    }

    /// Binds UDP and TCP on `listenAddress:port` and returns once both are bound.
    public func start() async throws(DNSServerError) {
        if let configurationError { throw configurationError }
        try state.withLock { (state) throws(DNSServerError) in
            guard case .stopped = state else { throw .alreadyStarted }
            state = .starting
        }
        do {
            let listeners = try await bind()
            state.withLock { $0 = .running(listeners) }
        } catch {
            state.withLock { $0 = .stopped }
            throw error
        }
    }

    /// Closes both sockets and every open TCP connection. Forwarded queries still in flight are dropped.
    public func stop() async {
        let listeners = state.withLock { state -> Listeners? in
            guard case .running(let listeners) = state else { return nil }
            state = .stopped
            return listeners
        }
        guard let listeners else { return }
        try? await listeners.udp.close()
        try? await listeners.tcp.close()
        await connections.closeAll()
    }

    private func bind() async throws(DNSServerError) -> Listeners {
        let host = configuration.listenAddress
        // With port 0 the kernel picks the UDP port, which may be taken for TCP: then try another.
        let attempts = configuration.port == 0 ? 8 : 1
        var attempt = 1
        while true {
            let udp = try await bindUDP(host: host, port: configuration.port)
            let port = udp.localAddress?.port ?? configuration.port
            do {
                return Listeners(udp: udp, tcp: try await bindTCP(host: host, port: port), port: port)
            } catch {
                try? await udp.close()
                guard attempt < attempts else { throw error }
                attempt += 1
            }
        }
    }

    private func bindUDP(host: String, port: Int) async throws(DNSServerError) -> any Channel {
        let processor = processor
        do {
            return try await DatagramBootstrap(group: group)
                .channelOption(.maxMessagesPerRead, value: 16)
                .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 4096))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(DatagramQueryHandler(processor: processor))
                    }
                }
                .bind(host: host, port: port).get()
        } catch {
            throw .failedToListen(network: "udp", host: host, port: port, error: error)
        }
    }

    private func bindTCP(host: String, port: Int) async throws(DNSServerError) -> any Channel {
        let (processor, connections) = (processor, connections)
        do {
            return try await ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    connections.register(channel)
                    return channel.eventLoop.makeCompletedFuture {
                        let pipeline = channel.pipeline.syncOperations
                        try pipeline.addHandler(IdleStateHandler(readTimeout: Self.tcpIdleTimeout))
                        try pipeline.addHandler(ByteToMessageHandler(DNSStreamFrameDecoder()))
                        try pipeline.addHandler(StreamQueryHandler(processor: processor))
                    }
                }
                .bind(host: host, port: port).get()
        } catch {
            throw .failedToListen(network: "tcp", host: host, port: port, error: error)
        }
    }

    /// "ip", "ip:port" or "[ipv6]:port"; port 53 when absent.
    static func socketAddress(_ upstream: String) -> SocketAddress? {
        var host = upstream
        var port = 53
        if upstream.hasPrefix("["), let close = upstream.firstIndex(of: "]") {
            host = String(upstream[upstream.index(after: upstream.startIndex)..<close])
            let rest = upstream[upstream.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":"), let parsed = Int(rest.dropFirst()) else { return nil }
                port = parsed
            }
        } else if upstream.count(where: { $0 == ":" }) == 1, let colon = upstream.firstIndex(of: ":") {
            host = String(upstream[..<colon])
            guard let parsed = Int(upstream[upstream.index(after: colon)...]) else { return nil }
            port = parsed
        }
        guard (1...65535).contains(port) else { return nil }
        return try? SocketAddress(ipAddress: host, port: port)
    }
}

/// The open TCP connections, so that `stop()` can close them.
private final class ConnectionRegistry: Sendable {
    private let channels = Mutex<[ObjectIdentifier: any Channel]>([:])

    func register(_ channel: any Channel) {
        let key = ObjectIdentifier(channel)
        channels.withLock { $0[key] = channel }
        channel.closeFuture.whenComplete { _ in
            self.channels.withLock { _ = $0.removeValue(forKey: key) }
        }
    }

    func closeAll() async {
        for channel in channels.withLock({ Array($0.values) }) {
            try? await channel.close()
        }
    }
}
