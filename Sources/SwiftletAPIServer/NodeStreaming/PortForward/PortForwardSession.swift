import SwiftletMachinery
import Synchronization

/// `kubectl port-forward` over a WebSocket that carries SPDY/3.1 in its binary messages (KEP-4006's tunnel,
/// subprotocol `SPDY/3.1+portforward.k8s.io`), served as the kubelet serves its SPDY port-forward: every local
/// connection of kubectl opens an error stream and a data stream with one `requestID` and the remote `port` in
/// their headers; once both are there, the node connects to that port inside the pod and the data stream carries
/// the bytes both ways, while a failure is written to the error stream.
struct PortForwardSession: Sendable {
    static let subprotocol = "SPDY/3.1+portforward.k8s.io"

    let pod: PodReference
    let backend: any NodeStreamingBackend

    func serve(_ connection: WebSocketConnection) async {
        let sender = FrameSender(connection)
        let pairs = StreamPairs()
        await withTaskGroup(of: Void.self) { group in
            do throws(SPDYError) {
                let inflater = try SPDYHeaderCompression(.inflating)
                let deflater = try SPDYHeaderCompression(.deflating)
                var buffer: [UInt8] = []
                messages: for await message in connection.messages {
                    guard case .binary(let bytes) = message else { continue }
                    buffer += bytes
                    for frame in try SPDYFrame.parse(&buffer) {
                        switch frame {
                        case .synStream(let streamID, _, let block):
                            let headers = try SPDYHeaderBlock.decode(try inflater.process(block))
                            let reply = try deflater.process(SPDYHeaderBlock.encode([]))
                            await sender.send(.synReply(streamID: streamID, fin: false, headerBlock: reply))
                            guard let ready = pairs.add(streamID: streamID, headers: headers) else { continue }
                            group.addTask { await forward(ready, sender: sender) }
                        case .data(let streamID, let fin, let payload):
                            pairs.received(payload, fin: fin, on: streamID)
                        case .rstStream(let streamID, _):
                            pairs.received([], fin: true, on: streamID)
                        case .ping(let id):
                            await sender.send(.ping(id: id))
                        case .goAway:
                            break messages
                        case .synReply, .ignored:
                            break
                        }
                    }
                }
            } catch {
                await sender.send(.goAway(lastStreamID: 0, status: 1))
            }
            pairs.finishAll()
            group.cancelAll()
        }
        await connection.close()
    }

    /// One forwarded connection, through the pod's node, until both directions have ended; a failure goes to the
    /// error stream, as the kubelet writes it.
    private func forward(_ pair: StreamPair, sender: FrameSender) async {
        do throws(APIError) {
            try await backend.portForward(pod: pod, port: pair.port, input: pair.input) { bytes in
                await sender.send(.data(streamID: pair.dataStreamID, fin: false, payload: bytes))
            }
        } catch {
            let message = "error forwarding port \(pair.port) to pod \(pod.name), uid \(pod.uid): \(error.message)"
            await sender.send(.data(streamID: pair.errorStreamID, fin: false, payload: Array(message.utf8)))
        }
        await sender.send(.data(streamID: pair.dataStreamID, fin: true, payload: []))
        await sender.send(.data(streamID: pair.errorStreamID, fin: true, payload: []))
    }
}

/// Frames go out one whole WebSocket message each, in the order they are sent.
private final class FrameSender: Sendable {
    private let connection: WebSocketConnection

    init(_ connection: WebSocketConnection) {
        self.connection = connection
    }

    func send(_ frame: SPDYFrame) async {
        try? await connection.send(frame.encoded)
    }
}

/// The error and data streams of one forwarded connection.
private struct StreamPair: Sendable {
    var port: Int
    var errorStreamID: UInt32
    var dataStreamID: UInt32
    /// What the client sends on the data stream; finishes with its FIN.
    var input: AsyncStream<[UInt8]>
}

/// Streams by request ID until both of a pair are open; data streams' input by stream ID.
private final class StreamPairs: Sendable {
    private struct Pending {
        var port: Int?
        var errorStreamID: UInt32?
        var dataStreamID: UInt32?
        var input: (stream: AsyncStream<[UInt8]>, continuation: AsyncStream<[UInt8]>.Continuation)?
    }

    private struct State {
        var pending: [String: Pending] = [:]
        var inputs: [UInt32: AsyncStream<[UInt8]>.Continuation] = [:]
    }

    private let state = Mutex(State())

    /// Records a new stream; returns the pair once its second stream arrives. A stream without a valid type or
    /// port is left alone: the client then times out on it, as it would against a kubelet that refused it.
    func add(streamID: UInt32, headers: [String: String]) -> StreamPair? {
        let requestID = headers["requestid"] ?? ""
        return state.withLock { state in
            var pending = state.pending[requestID] ?? Pending()
            switch headers["streamtype"] {
            case "error":
                pending.errorStreamID = streamID
            case "data":
                pending.dataStreamID = streamID
                pending.port = headers["port"].flatMap(Int.init)
                let input = AsyncStream<[UInt8]>.makeStream()
                pending.input = input
                state.inputs[streamID] = input.continuation
            default:
                return nil
            }
            guard let errorStreamID = pending.errorStreamID, let dataStreamID = pending.dataStreamID,
                  let port = pending.port, (1...65535).contains(port), let input = pending.input
            else {
                state.pending[requestID] = pending
                return nil
            }
            state.pending[requestID] = nil
            return StreamPair(port: port, errorStreamID: errorStreamID, dataStreamID: dataStreamID, input: input.stream)
        }
    }

    func received(_ payload: [UInt8], fin: Bool, on streamID: UInt32) {
        let continuation = state.withLock { state in fin ? state.inputs.removeValue(forKey: streamID) : state.inputs[streamID] }
        if !payload.isEmpty { continuation?.yield(payload) }
        if fin { continuation?.finish() }
    }

    func finishAll() {
        let all = state.withLock { state in
            defer { state.inputs = [:] }
            return Array(state.inputs.values)
        }
        for continuation in all { continuation.finish() }
    }
}
