import SwiftletAPIServer
import SwiftletMachinery
import SwiftletPKI

/// One request on the agent's streaming port: the header, then the backend's work bridged to frames.
/// The API server closing the connection is the client going away: the work is cancelled.
enum AgentStreamingSession {
    static func serve(_ connection: NodeStreamConnection, token: String, backend: any NodeStreamingBackend) async {
        defer { connection.close() }
        var messages = connection.messages.makeAsyncIterator()
        guard case .header(let request)? = try? await messages.next() else { return }
        guard tokensMatch(request.token, token) else {
            try? await connection.send(NodeStreamStatus.failure(.unauthorized()).frame)
            return
        }
        // TLS has verified the certificate against the cluster CA; only the API server's may ask.
        let caller = await connection.peerCertificate().flatMap { try? $0.toDERBytes() }.flatMap(ClientCertificates.user(fromDER:))
        guard caller?.name == NodeStreamingRegistry.clientCommonName else {
            try? await connection.send(NodeStreamStatus.failure(APIError.forbidden(
                group: "", resource: "nodes", name: nil,
                reason: "User \(GoText.quote(caller?.name ?? "system:anonymous")) cannot proxy to this node's agent")).frame)
            return
        }
        let work: Task<Void, Never>
        var stdin: AsyncStream<[UInt8]>.Continuation?
        var resize: AsyncStream<TerminalSize>.Continuation?
        switch request.op {
        case .logs:
            work = Task { await sendLog(request, backend: backend, to: connection) }
        case .exec, .attach:
            let (stdinStream, stdinInput) = AsyncStream.makeStream(of: [UInt8].self)
            let (resizeStream, resizeInput) = AsyncStream.makeStream(of: TerminalSize.self)
            stdin = stdinInput
            resize = resizeInput
            let streams = ContainerStreams(stdin: request.stdin ? stdinStream : nil, resize: request.tty ? resizeStream : nil,
                                           stdout: request.stdout ? output(.stdout, to: connection) : nil,
                                           stderr: request.stderr ? output(.stderr, to: connection) : nil)
            work = Task { await runCommand(request, streams: streams, backend: backend, on: connection) }
        case .portForward:
            let (input, typed) = AsyncStream.makeStream(of: [UInt8].self)
            stdin = typed
            work = Task { await forwardPort(request, input: input, backend: backend, on: connection) }
        }
        // The work closes the connection when done, which ends this loop too.
        do {
            while case .frame(let frame)? = try await messages.next() {
                switch frame.channel {
                case .stdin: stdin?.yield(frame.payload)
                case .stdinClosed: stdin?.finish()
                case .resize: if let size = frame.terminalSize { resize?.yield(size) }
                default: break
                }
            }
        } catch {
            // A broken connection is a client gone away.
        }
        stdin?.finish()
        resize?.finish()
        work.cancel()
        await work.value
    }

    private static func sendLog(_ request: NodeStreamRequest, backend: any NodeStreamingBackend,
                                to connection: NodeStreamConnection) async {
        defer { connection.close() }
        let log: AsyncStream<[UInt8]>
        do {
            log = try await backend.containerLogs(pod: request.podReference, options: request.podLogOptions)
        } catch {
            try? await connection.send(NodeStreamStatus.failure(error).frame)
            return
        }
        do {
            try await connection.send(NodeStreamFrame(.stdout))
            for await chunk in log { try await connection.send(NodeStreamFrame(.stdout, chunk)) }
        } catch {
            // The API server went away; leaving the loop ends the log stream.
        }
    }

    private static func runCommand(_ request: NodeStreamRequest, streams: ContainerStreams, backend: any NodeStreamingBackend,
                                   on connection: NodeStreamConnection) async {
        defer { connection.close() }
        let status: NodeStreamStatus
        do {
            if request.op == .exec {
                status = .exitCode(try await backend.exec(pod: request.podReference, container: request.container,
                                                          command: request.command, tty: request.tty, streams: streams))
            } else {
                try await backend.attach(pod: request.podReference, container: request.container, tty: request.tty, streams: streams)
                status = .exitCode(0)
            }
        } catch {
            status = .failure(error)
        }
        try? await connection.send(status.frame)
    }

    private static func forwardPort(_ request: NodeStreamRequest, input: AsyncStream<[UInt8]>, backend: any NodeStreamingBackend,
                                    on connection: NodeStreamConnection) async {
        defer { connection.close() }
        let status: NodeStreamStatus
        do throws(APIError) {
            guard let port = request.port, (1...65535).contains(port) else { throw APIError.badRequest("a port-forward needs a port") }
            try await backend.portForward(pod: request.podReference, port: port, input: input, output: output(.stdout, to: connection))
            status = .exitCode(0)
        } catch {
            status = .failure(error)
        }
        try? await connection.send(status.frame)
    }

    private static func output(_ channel: NodeStreamChannel, to connection: NodeStreamConnection) -> @Sendable ([UInt8]) async -> Void {
        { bytes in try? await connection.send(NodeStreamFrame(channel, bytes)) }
    }

    /// Compares in time that does not depend on where the strings differ, so the token cannot be guessed bytewise.
    static func tokensMatch(_ given: String, _ expected: String) -> Bool {
        let a = Array(given.utf8), b = Array(expected.utf8)
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for i in 0..<max(a.count, b.count) {
            difference |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0)
        }
        return difference == 0
    }
}
