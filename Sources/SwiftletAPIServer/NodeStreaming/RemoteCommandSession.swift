import SwiftletMachinery

/// One exec or attach over an upgraded connection, framed as upstream's `wsstream` and
/// `remotecommand` server do: stdio on channels, the outcome on the error channel, then Close 1000
/// (without which kubectl reports an abnormal closure).
struct RemoteCommandSession: Sendable {
    typealias Run = @Sendable (ContainerStreams) async throws(APIError) -> Int32

    let channelProtocol: RemoteCommandProtocol
    let request: RemoteCommandRequest
    /// Runs the command on the node and returns its exit code (attach: 0 when the container's streams end).
    let run: Run

    enum Channel {
        static let stdin: UInt8 = 0, stdout: UInt8 = 1, stderr: UInt8 = 2, error: UInt8 = 3, resize: UInt8 = 4
        /// v5: `[255, channel]` closes that client stream.
        static let streamClose: UInt8 = 255
    }

    func serve(_ connection: WebSocketConnection) async {
        let send: @Sendable (UInt8, [UInt8]) async -> Void = { channel, bytes in try? await connection.send([channel] + bytes) }
        let stdin: (stream: AsyncStream<[UInt8]>, continuation: AsyncStream<[UInt8]>.Continuation)? =
            request.stdin ? AsyncStream.makeStream() : nil
        let resize: (stream: AsyncStream<TerminalSize>, continuation: AsyncStream<TerminalSize>.Continuation)? =
            request.tty ? AsyncStream.makeStream() : nil
        let stdout: @Sendable ([UInt8]) async -> Void = { await send(Channel.stdout, $0) }
        let stderr: @Sendable ([UInt8]) async -> Void = { await send(Channel.stderr, $0) }
        let streams = ContainerStreams(stdin: stdin?.stream, resize: resize?.stream,
                                       stdout: request.stdout ? stdout : nil, stderr: request.stderr ? stderr : nil)

        // As the kubelet: an empty message on the first output channel says the streams are ready.
        await send(request.stdout ? Channel.stdout : request.stderr ? Channel.stderr : Channel.error, [])
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                defer {
                    stdin?.continuation.finish()
                    resize?.continuation.finish()
                }
                for await message in connection.messages {
                    guard case .binary(let data) = message, let channel = data.first else { continue }
                    switch channel {
                    case Channel.stdin where data.count > 1:
                        stdin?.continuation.yield(Array(data.dropFirst()))
                    case Channel.resize:
                        if let size = Self.terminalSize(Array(data.dropFirst())) { resize?.continuation.yield(size) }
                    case Channel.streamClose where channelProtocol == .v5 && data.count == 2 && data[1] == Channel.stdin:
                        stdin?.continuation.finish()
                    default:
                        break
                    }
                }
            }
            let outcome: Result<Int32, APIError>
            do throws(APIError) { outcome = .success(try await run(streams)) } catch { outcome = .failure(error) }
            if let status = status(outcome) { await send(Channel.error, status) }
            await connection.close()
            group.cancelAll()
        }
    }

    /// What the error channel carries at the end: for v4 and v5 a Status as the kubelet marshals it
    /// (no kind, no code), for v1 the failure's text and nothing on success.
    func status(_ outcome: Result<Int32, APIError>) -> [UInt8]? {
        let status: JSONValue
        switch outcome {
        case .success(0):
            status = ["metadata": .object(JSONObject()), "status": "Success"]
        case .success(let code):
            status = [
                "metadata": .object(JSONObject()), "status": "Failure",
                "message": .string("command terminated with non-zero exit code: exit status \(code)"),
                "reason": "NonZeroExitCode",
                "details": ["causes": [["reason": "ExitCode", "message": .string(String(code))]]],
            ]
        case .failure(let error):
            status = error.status
        }
        guard channelProtocol != .v1 else {
            return status["status"]?.stringValue == "Success" ? nil : Array((status["message"]?.stringValue ?? "").utf8)
        }
        return JSONWriter.write(status)
    }

    /// The resize channel's `{"Width":80,"Height":24}` (Go's JSON decoding ignores the case of keys).
    static func terminalSize(_ json: [UInt8]) -> TerminalSize? {
        guard let object = (try? JSONParser.parse(json))?.value.objectValue else { return nil }
        func field(_ name: String) -> UInt16? {
            object.first { $0.key.lowercased() == name }.flatMap { $0.value.intValue }.flatMap { UInt16(exactly: $0) }
        }
        guard let width = field("width"), let height = field("height") else { return nil }
        return TerminalSize(width: width, height: height)
    }
}
