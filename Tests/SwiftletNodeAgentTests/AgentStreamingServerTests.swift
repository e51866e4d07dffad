import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization
import Testing
import SwiftletAPIServer
import SwiftletClient
import SwiftletPKI
import SwiftletMachinery
import SwiftletNodeAgent
import SwiftletTestSupport

/// The API server's `RemoteNodeStreamingBackend` against a real `AgentStreamingServer` on loopback,
/// serving through a fake node backend.
@Suite struct AgentStreamingServerTests {
    static let pod = PodReference(namespace: "default", name: "p", uid: "u1")
    static let missing = PodReference(namespace: "default", name: "missing", uid: "u2")

    @Test func logsArriveAndEnd() async throws {
        try await withServer { remote, fake in
            let log = try await remote.containerLogs(pod: Self.pod, options: PodLogOptions(container: "c", tailLines: 5))
            var text = ""
            for await chunk in log { text += String(decoding: chunk, as: UTF8.self) }
            #expect(text == "one\ntwo\n")
            #expect(fake.logOptions.withLock { $0 } == [PodLogOptions(container: "c", tailLines: 5)])
        }
    }

    @Test func droppingAFollowedLogStopsTheAgentsStream() async throws {
        try await withServer { remote, fake in
            let log = try await remote.containerLogs(pod: Self.pod, options: PodLogOptions(container: "c", follow: true))
            let received = Mutex<[UInt8]>([])
            // As kubectl going away: the API server stops reading the log.
            let reading = Task { for await chunk in log { received.withLock { $0 += chunk } } }
            #expect(await eventually { received.withLock { $0 } == Array("first\n".utf8) })
            #expect(!fake.followEnded.withLock { $0 })
            reading.cancel()
            #expect(await eventually { fake.followEnded.withLock { $0 } })
        }
    }

    @Test func execPassesStdioAndTheExitCode() async throws {
        try await withServer { remote, _ in
            let (stdin, typing) = AsyncStream.makeStream(of: [UInt8].self)
            let stdout = Mutex<[UInt8]>([]), stderr = Mutex<[UInt8]>([])
            let streams = ContainerStreams(stdin: stdin, resize: nil,
                                           stdout: { bytes in stdout.withLock { $0 += bytes } },
                                           stderr: { bytes in stderr.withLock { $0 += bytes } })
            typing.yield(Array("typed ".utf8))
            typing.yield(Array("text".utf8))
            typing.finish()
            let code = try await remote.exec(pod: Self.pod, container: "c", command: ["cat"], tty: false, streams: streams)
            #expect(code == 3)
            #expect(String(decoding: stdout.withLock { $0 }, as: UTF8.self) == "command cat\ntyped text")
            #expect(String(decoding: stderr.withLock { $0 }, as: UTF8.self) == "to stderr")
        }
    }

    @Test func theBackendsErrorsComeBackAsTheyWere() async throws {
        try await withServer { remote, _ in
            let logError = await #expect(throws: APIError.self) {
                _ = try await remote.containerLogs(pod: Self.missing, options: PodLogOptions(container: "c"))
            }
            #expect(logError == .badRequest("container \"c\" in pod \"missing\" is waiting to start: ContainerCreating"))
            let execError = await #expect(throws: APIError.self) {
                _ = try await remote.exec(pod: Self.missing, container: "c", command: ["true"], tty: false,
                                          streams: ContainerStreams(stdin: nil, resize: nil, stdout: nil, stderr: nil))
            }
            #expect(execError == .internalError("container not found (\"c\")"))
        }
    }

    @Test func cancellingAnExecStopsTheCommandOnTheAgent() async throws {
        try await withServer { remote, fake in
            let running = Task {
                try await remote.exec(pod: Self.pod, container: "c", command: ["sleep"], tty: false,
                                      streams: ContainerStreams(stdin: nil, resize: nil, stdout: nil, stderr: nil))
            }
            #expect(await eventually { fake.sleeping.withLock { $0 } })
            running.cancel()
            #expect(await eventually { fake.sleepCancelled.withLock { $0 } })
        }
    }

    @Test func aPortForwardCarriesBytesBothWaysAndTheNodesRefusal() async throws {
        try await withServer { remote, fake in
            let (input, typing) = AsyncStream.makeStream(of: [UInt8].self)
            let received = Mutex<[UInt8]>([])
            typing.yield(Array("ping ".utf8))
            typing.yield(Array("pong".utf8))
            typing.finish()
            try await remote.portForward(pod: Self.pod, port: 8080, input: input) { bytes in received.withLock { $0 += bytes } }
            // The fake answers after the client's end of input, so the half-close crossed too.
            #expect(String(decoding: received.withLock { $0 }, as: UTF8.self) == "port 8080: PING PONG")
            #expect(fake.forwardedPorts.withLock { $0 } == [8080])

            let refused = await #expect(throws: APIError.self) {
                try await remote.portForward(pod: Self.pod, port: 81, input: AsyncStream { $0.finish() }) { _ in }
            }
            #expect(refused == .internalError("failed to connect to localhost:81"))
        }
    }

    @Test func aWrongTokenIsRefused() async throws {
        let tls = try StreamingTLS()
        let server = try await AgentStreamingServer.start(host: "127.0.0.1", port: 0, token: "right-token", tls: tls.agent, backend: FakeBackend())
        let remote = RemoteNodeStreamingBackend(host: "127.0.0.1", port: server.port, token: "wrong-token", tls: tls.apiServer)
        let error = await #expect(throws: APIError.self) {
            _ = try await remote.containerLogs(pod: Self.pod, options: PodLogOptions(container: "c"))
        }
        #expect(error?.code == 401)
        await server.close()
        let refused = await #expect(throws: APIError.self) {
            _ = try await remote.containerLogs(pod: Self.pod, options: PodLogOptions(container: "c"))
        }
        #expect(refused?.message.hasPrefix("Internal error occurred: error dialing backend: dial tcp 127.0.0.1:\(server.port): ") == true)
    }

    /// Only the API server's client certificate is served: another certificate from the same CA
    /// gets 403, and a client without one (or speaking plain TCP) does not get past TLS.
    @Test func onlyTheAPIServersCertificateIsServed() async throws {
        let tls = try StreamingTLS()
        let server = try await AgentStreamingServer.start(host: "127.0.0.1", port: 0, token: "node-token", tls: tls.agent, backend: FakeBackend())
        defer { Task { await server.close() } }
        let user = RemoteNodeStreamingBackend(host: "127.0.0.1", port: server.port, token: "node-token", tls: try tls.client(commonName: "alice"))
        let forbidden = await #expect(throws: APIError.self) {
            _ = try await user.containerLogs(pod: Self.pod, options: PodLogOptions(container: "c"))
        }
        #expect(forbidden?.code == 403)
        #expect(forbidden?.message == #"nodes is forbidden: User "alice" cannot proxy to this node's agent"#)

        let noCertificate = RemoteNodeStreamingBackend(host: "127.0.0.1", port: server.port, token: "node-token",
                                                       tls: try NIOSSLContext(configuration: .clusterClient(caCertificatePEM: tls.ca.certificatePEM)))
        await #expect(throws: APIError.self) {
            _ = try await noCertificate.containerLogs(pod: Self.pod, options: PodLogOptions(container: "c"))
        }
        // Plain text on the port gets no answer but the end of the connection.
        let plain = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: server.port) { channel in
                channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
            }
        let answered = try await plain.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: "GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
            var received: [UInt8] = []
            for try await chunk in inbound { received += chunk.readableBytesView }
            return received
        }
        #expect(!String(decoding: answered, as: UTF8.self).contains("HTTP/1.1 200"))
    }

    private func withServer(_ body: (RemoteNodeStreamingBackend, FakeBackend) async throws -> Void) async throws {
        let fake = FakeBackend()
        let tls = try StreamingTLS()
        let server = try await AgentStreamingServer.start(host: "127.0.0.1", port: 0, token: "node-token", tls: tls.agent, backend: fake)
        #expect(server.port > 0)
        do {
            try await body(RemoteNodeStreamingBackend(host: "127.0.0.1", port: server.port, token: "node-token", tls: tls.apiServer), fake)
        } catch {
            await server.close()
            throw error
        }
        await server.close()
    }

}

/// A cluster CA with the agent's serving certificate and the API server's client certificate.
private struct StreamingTLS {
    let ca: CertificateAuthority
    let agent: NIOSSLContext
    let apiServer: NIOSSLContext

    init() throws {
        ca = try CertificateAuthority.generate()
        var names = CertificateNames()
        try names.insert("127.0.0.1")
        let serving = try ca.issue(commonName: "system:node:n1", organizations: ["system:nodes"], names: names, purposes: .server)
        agent = try NIOSSLContext(configuration: .clusterServerRequiringClientCertificates(
            caCertificatePEM: ca.certificatePEM, certificatePEM: serving.certificatePEM, keyPEM: serving.privateKeyPEM))
        apiServer = try Self.client(ca, commonName: NodeStreamingRegistry.clientCommonName)
    }

    func client(commonName: String) throws -> NIOSSLContext { try Self.client(ca, commonName: commonName) }

    static func client(_ ca: CertificateAuthority, commonName: String) throws -> NIOSSLContext {
        let issued = try ca.issue(commonName: commonName, purposes: .client)
        return try NIOSSLContext(configuration: .clusterClient(caCertificatePEM: ca.certificatePEM, certificatePEM: issued.certificatePEM,
                                                               keyPEM: issued.privateKeyPEM))
    }
}

private final class FakeBackend: NodeStreamingBackend {
    let logOptions = Mutex<[PodLogOptions]>([])
    let followEnded = Mutex(false)
    let sleeping = Mutex(false)
    let sleepCancelled = Mutex(false)

    func containerLogs(pod: PodReference, options: PodLogOptions) async throws(APIError) -> AsyncStream<[UInt8]> {
        guard pod.name != "missing" else {
            throw .badRequest("container \"\(options.container)\" in pod \"\(pod.name)\" is waiting to start: ContainerCreating")
        }
        logOptions.withLock { $0.append(options) }
        return AsyncStream { continuation in
            if options.follow {
                continuation.yield(Array("first\n".utf8))
                continuation.onTermination = { _ in self.followEnded.withLock { $0 = true } }
            } else {
                continuation.yield(Array("one\n".utf8))
                continuation.yield(Array("two\n".utf8))
                continuation.finish()
            }
        }
    }

    func exec(pod: PodReference, container: String, command: [String], tty: Bool,
              streams: ContainerStreams) async throws(APIError) -> Int32 {
        guard pod.name != "missing" else { throw .internalError("container not found (\"\(container)\")") }
        if command == ["sleep"] {
            sleeping.withLock { $0 = true }
            while !Task.isCancelled { try? await Task.sleep(for: .milliseconds(10)) }
            sleepCancelled.withLock { $0 = true }
            return 137
        }
        await streams.stdout?(Array("command \(command.joined(separator: " "))\n".utf8))
        await streams.stderr?(Array("to stderr".utf8))
        for await chunk in streams.stdin ?? AsyncStream { $0.finish() } { await streams.stdout?(chunk) }
        return 3
    }

    func attach(pod: PodReference, container: String, tty: Bool, streams: ContainerStreams) async throws(APIError) {}

    let forwardedPorts = Mutex<[Int]>([])

    /// Upper-cases everything it was sent, once the sender has finished.
    func portForward(pod: PodReference, port: Int, input: AsyncStream<[UInt8]>,
                     output: @escaping @Sendable ([UInt8]) async -> Void) async throws(APIError) {
        guard port != 81 else { throw .internalError("failed to connect to localhost:81") }
        forwardedPorts.withLock { $0.append(port) }
        var all: [UInt8] = []
        for await chunk in input { all += chunk }
        await output(Array("port \(port): ".utf8) + Array(String(decoding: all, as: UTF8.self).uppercased().utf8))
    }
}
