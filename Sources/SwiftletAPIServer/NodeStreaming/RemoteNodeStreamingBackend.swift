import NIOSSL
import SwiftletMachinery
import Synchronization

/// A node agent in another process (`swiftlet agent`), reached over the node streaming protocol at the
/// address and port its Node advertises, as upstream's API server dials a kubelet. Each request is one
/// connection; cancelling the request closes it, which stops the agent's side.
public struct RemoteNodeStreamingBackend: NodeStreamingBackend {
    public let host: String
    public let port: Int
    private let token: String
    private let tls: NIOSSLContext

    public init(host: String, port: Int, token: String, tls: NIOSSLContext) {
        self.tls = tls
        self.host = host
        self.port = port
        self.token = token
    }

    public func containerLogs(pod: PodReference, options: PodLogOptions) async throws(APIError) -> AsyncStream<[UInt8]> {
        let connection = try await open(NodeStreamRequest(token: token, logsOf: pod, options: options))
        // The agent answers an accepted request with an empty stdout frame, a refused one with its error.
        var messages = connection.messages.makeAsyncIterator()
        do {
            switch try await messages.next() {
            case .frame(let frame)? where frame.channel == .stdout:
                break
            case .frame(let frame)? where frame.channel == .status:
                if case .failure(let error) = try NodeStreamStatus(payload: frame.payload) { throw error }
                throw NodeStreamProtocolError("an exit status instead of the log")
            default:
                throw NodeStreamProtocolError("the node agent closed the stream")
            }
        } catch {
            connection.close()
            throw Self.apiError(error)
        }
        return AsyncStream { continuation in
            let task = Task {
                // A second iterator over the same single-consumer stream carries on where the first stopped.
                do {
                    for try await message in connection.messages {
                        guard case .frame(let frame) = message, frame.channel == .stdout else { continue }
                        if !frame.payload.isEmpty { continuation.yield(frame.payload) }
                    }
                } catch {
                    // A broken connection ends the log, as a dropped kubelet stream does.
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in
                task.cancel()
                connection.close()
            }
        }
    }

    public func exec(pod: PodReference, container: String, command: [String], tty: Bool,
                     streams: ContainerStreams) async throws(APIError) -> Int32 {
        var request = NodeStreamRequest(token: token, op: .exec, pod: pod, container: container)
        request.command = command
        return try await run(request, tty: tty, streams: streams)
    }

    public func attach(pod: PodReference, container: String, tty: Bool, streams: ContainerStreams) async throws(APIError) {
        _ = try await run(NodeStreamRequest(token: token, op: .attach, pod: pod, container: container), tty: tty, streams: streams)
    }

    /// The agent connects inside the pod; the bytes travel as stdin and stdout frames, and its status ends it.
    public func portForward(pod: PodReference, port: Int, input: AsyncStream<[UInt8]>,
                            output: @escaping @Sendable ([UInt8]) async -> Void) async throws(APIError) {
        var request = NodeStreamRequest(token: token, op: .portForward, pod: pod, container: "")
        request.port = port
        let status = try await run(request, tty: false, streams: ContainerStreams(stdin: input, resize: nil, stdout: output, stderr: nil))
        if status != 0 { throw .internalError("the node agent ended the port-forward with status \(status)") }
    }

    /// Sends the client's stdin and resizes, hands the output to `streams`, and returns the exit code.
    private func run(_ request: NodeStreamRequest, tty: Bool, streams: ContainerStreams) async throws(APIError) -> Int32 {
        var request = request
        request.tty = tty
        request.stdin = streams.stdin != nil
        request.stdout = streams.stdout != nil
        request.stderr = streams.stderr != nil
        let connection = try await open(request)
        let input = Task {
            guard let stdin = streams.stdin else { return }
            for await chunk in stdin { try await connection.send(NodeStreamFrame(.stdin, chunk)) }
            if !Task.isCancelled { try await connection.send(NodeStreamFrame(.stdinClosed)) }
        }
        let resizing = Task {
            guard let resize = streams.resize else { return }
            for await size in resize { try await connection.send(.resize(size)) }
        }
        defer {
            input.cancel()
            resizing.cancel()
            connection.close()
        }
        let received = Mutex<NodeStreamStatus?>(nil)
        do {
            try await withTaskCancellationHandler {
                for try await message in connection.messages {
                    guard case .frame(let frame) = message else { continue }
                    switch frame.channel {
                    case .stdout: await streams.stdout?(frame.payload)
                    case .stderr: await streams.stderr?(frame.payload)
                    case .status: received.withLock { $0 = try? NodeStreamStatus(payload: frame.payload) }
                    default: break
                    }
                }
            } onCancel: {
                connection.close()
            }
        } catch {
            // The agent closes right after its status: input still on its way to it (a stdin close) can make that
            // close a reset, which is no failure once the status is in.
            if received.withLock({ $0 }) == nil { throw Self.apiError(error) }
        }
        let status = received.withLock { $0 }
        guard let status else {
            throw .internalError("the node agent of \(host):\(port) closed the stream without an exit status")
        }
        switch status {
        case .exitCode(let code): return code
        case .failure(let error): throw error
        }
    }

    private func open(_ request: NodeStreamRequest) async throws(APIError) -> NodeStreamConnection {
        do {
            let connection = try await NodeStreamConnection.connect(host: host, port: port, tls: tls)
            try await connection.send(request)
            return connection
        } catch {
            throw .internalError("error dialing backend: dial tcp \(host):\(port): \(error)")
        }
    }

    /// The agent's own errors pass on as they are; anything else broke the stream.
    private static func apiError(_ error: any Error) -> APIError {
        (error as? APIError) ?? .internalError("error reading from the node agent: \(error)")
    }
}
