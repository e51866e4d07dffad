import Foundation
import NIOCore
import NIOPosix
@testable import SwiftletDNS

/// A query as a stub resolver sends it: RD set, one question, optionally with an OPT record.
func makeQuery(_ name: String, _ type: DNSRecordType, id: UInt16 = 0x1234, udpPayloadSize: UInt16? = nil) -> DNSMessage {
    var query = DNSMessage()
    query.id = id
    query.recursionDesired = true
    query.questions = [DNSQuestion(name: DNSName(name), type: type)]
    if let udpPayloadSize { query.ednsExtension = DNSExtension(udpPayloadSize: udpPayloadSize) }
    return query
}

func ipv4(_ text: String) -> [UInt8] {
    text.split(separator: ".").map { UInt8($0)! }
}

/// A small cluster: a ClusterIP Service with two ports, a headless one with named and unnamed endpoints, an
/// ExternalName one, and a ClusterIP Service whose endpoints have no hostnames.
let sampleRecords = ClusterDNSRecords(services: [
    DNSService(
        namespace: "default", name: "web", clusterIP: "10.96.0.20",
        ports: [DNSServicePort(name: "http", port: 80), DNSServicePort(name: "dns", protocol: "UDP", port: 53)],
        endpoints: [DNSEndpoint(ip: "10.42.0.7", ports: [DNSServicePort(name: "http", port: 8080)])]),
    DNSService(
        namespace: "data", name: "db", clusterIP: nil,
        ports: [DNSServicePort(name: "pg", port: 5432)],
        endpoints: [
            DNSEndpoint(ip: "10.42.0.10", hostname: "db-0", ports: [DNSServicePort(name: "pg", port: 5432)]),
            DNSEndpoint(ip: "10.42.0.11", hostname: "db-1", ports: [DNSServicePort(name: "pg", port: 5432)]),
            DNSEndpoint(ip: "10.42.0.12", ports: [DNSServicePort(name: "pg", port: 5432)]),
        ]),
    DNSService(namespace: "default", name: "search", externalName: "search.example.com"),
    DNSService(namespace: "default", name: "alias", externalName: "web.default.svc.cluster.local"),
    DNSService(namespace: "default", name: "empty-headless", clusterIP: "None"),
])

struct CommandResult: Sendable {
    var status: Int32
    var output: String

    /// The output with every run of spaces and tabs made one space: dig aligns its columns with tabs.
    var words: String {
        output.split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ") }
            .joined(separator: "\n")
    }
}

/// Runs a tool, stdout and stderr together, on a Dispatch thread so that the cooperative pool (which finishes
/// forwarded queries) stays free while it waits.
func run(_ executable: String, _ arguments: [String]) async throws -> CommandResult {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = pipe
            do {
                try process.run()
            } catch {
                continuation.resume(throwing: error)
                return
            }
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            continuation.resume(returning: CommandResult(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self)))
        }
    }
}

/// `dig @127.0.0.1 -p port` with one bounded try, so that a broken server fails the test instead of hanging it.
func dig(_ port: Int, _ arguments: String...) async throws -> CommandResult {
    try await run("/usr/bin/dig", ["@127.0.0.1", "-p", "\(port)", "+time=10", "+tries=1"] + arguments)
}

/// Starts a server on 127.0.0.1 with a free port, runs `body`, and stops it whatever happens.
func withServer<T>(
    domain: String = "cluster.local", records: ClusterDNSRecords = sampleRecords, upstreams: [String] = [],
    reverseCIDRs: [String] = ["10.96.0.0/12", "10.42.0.0/16"], upstreamTimeout: Duration = .seconds(2),
    _ body: (ClusterDNSServer, Int) async throws -> T
) async throws -> T {
    let server = ClusterDNSServer(configuration: ClusterDNSConfiguration(
        domain: domain, listenAddress: "127.0.0.1", port: 0, upstreams: upstreams, reverseCIDRs: reverseCIDRs,
        upstreamTimeout: upstreamTimeout))
    server.update(records)
    try await server.start()
    do {
        let result = try await body(server, server.boundPort!)
        await server.stop()
        return result
    } catch {
        await server.stop()
        throw error
    }
}

/// A bare UDP client: sends one datagram and returns the first datagram that comes back, or nil after `timeout`.
func exchangeDatagram(_ packet: [UInt8], port: Int, timeout: TimeAmount = .seconds(10)) async throws -> [UInt8]? {
    let channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .connect(host: "127.0.0.1", port: port) { channel in
            channel.eventLoop.makeCompletedFuture {
                try NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, ByteBuffer>(wrappingChannelSynchronously: channel)
            }
        }
    return try await channel.executeThenClose { inbound, outbound in
        try await outbound.write(ByteBuffer(bytes: packet))
        return try await withThrowingTaskGroup(of: [UInt8]?.self) { group in
            group.addTask {
                for try await envelope in inbound { return Array(envelope.data.readableBytesView) }
                return nil
            }
            group.addTask {
                try await Task.sleep(for: .nanoseconds(timeout.nanoseconds))
                return nil
            }
            let first = try await group.next()!
            group.cancelAll()
            return first
        }
    }
}

/// A bare TCP client: writes `bytes` as they are (framing included) and reads until `replies` framed messages came.
func exchangeStream(_ bytes: [UInt8], replies: Int, port: Int) async throws -> [[UInt8]] {
    let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .connect(host: "127.0.0.1", port: port) { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(DNSStreamFrameDecoder()))
                return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
            }
        }
    return try await channel.executeThenClose { inbound, outbound in
        try await outbound.write(ByteBuffer(bytes: bytes))
        var messages: [[UInt8]] = []
        for try await frame in inbound {
            messages.append(Array(frame.readableBytesView))
            if messages.count == replies { break }
        }
        return messages
    }
}
