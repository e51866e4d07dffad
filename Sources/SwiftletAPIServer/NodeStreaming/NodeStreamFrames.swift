import Foundation
import SwiftletMachinery

// The wire format between the API server and a node agent's streaming server, both Swiftlet's own (in
// place of the kubelet's HTTP and SPDY/WebSocket streams). Over TCP the API server sends one header, a
// big-endian UInt32 length and that many bytes of JSON (`NodeStreamRequest`); then both sides send frames
// `[channel: UInt8][length: UInt32 BE][payload]` until the agent closes the connection after the status.
// A port-forward carries the client's bytes on stdin (its end as stdinClosed) and the pod's on stdout.

public enum NodeStreamChannel: UInt8, Sendable {
    case stdin = 0, stdout = 1, stderr = 2
    /// How the request ended: an exit code as decimal text, or an error as JSON `{code, reason, message}`.
    case status = 3
    /// A terminal size as JSON `{"Width": w, "Height": h}`, as kubectl's resize channel carries it.
    case resize = 4
    /// The client closed its stdin (the connection itself stays open for the output).
    case stdinClosed = 5
}

public struct NodeStreamFrame: Sendable, Equatable {
    public var channel: NodeStreamChannel
    public var payload: [UInt8]

    public init(_ channel: NodeStreamChannel, _ payload: [UInt8] = []) {
        self.channel = channel
        self.payload = payload
    }

    public func encoded() -> [UInt8] {
        [channel.rawValue] + NodeStreamCodec.lengthPrefix(payload.count) + payload
    }
}

/// The header: which operation on which container, and the token that proves the caller is the API server.
public struct NodeStreamRequest: Codable, Sendable, Equatable {
    public enum Operation: String, Codable, Sendable { case logs, exec, attach, portForward }

    public struct LogOptions: Codable, Sendable, Equatable {
        public var follow: Bool
        public var previous: Bool
        public var timestamps: Bool
        public var tailLines: Int?
        /// Seconds since 1970: the sender's clock decided `since`, as it does in-process.
        public var sinceTime: Double?
    }

    public struct Pod: Codable, Sendable, Equatable {
        public var namespace: String
        public var name: String
        public var uid: String
    }

    public var token: String
    public var op: Operation
    public var pod: Pod
    public var container: String
    public var command: [String] = []
    public var tty: Bool = false
    /// Which of the exec or attach streams the client has.
    public var stdin: Bool = false
    public var stdout: Bool = false
    public var stderr: Bool = false
    public var logOptions: LogOptions?
    /// The pod's port, for a port-forward.
    public var port: Int?

    public init(token: String, op: Operation, pod: PodReference, container: String) {
        self.token = token
        self.op = op
        self.pod = Pod(namespace: pod.namespace, name: pod.name, uid: pod.uid)
        self.container = container
    }

    public init(token: String, logsOf pod: PodReference, options: PodLogOptions) {
        self.init(token: token, op: .logs, pod: pod, container: options.container)
        logOptions = LogOptions(follow: options.follow, previous: options.previous, timestamps: options.timestamps,
                                tailLines: options.tailLines, sinceTime: options.since?.timeIntervalSince1970)
    }

    public var podReference: PodReference { PodReference(namespace: pod.namespace, name: pod.name, uid: pod.uid) }

    public var podLogOptions: PodLogOptions {
        let o = logOptions
        return PodLogOptions(container: container, follow: o?.follow ?? false, previous: o?.previous ?? false,
                             timestamps: o?.timestamps ?? false, tailLines: o?.tailLines,
                             since: o?.sinceTime.map { Date(timeIntervalSince1970: $0) })
    }

    public func encoded() -> [UInt8] {
        let json = Array((try? JSONEncoder().encode(self)) ?? Data())
        return NodeStreamCodec.lengthPrefix(json.count) + json
    }
}

/// The payload of the status channel.
public enum NodeStreamStatus: Sendable, Equatable {
    case exitCode(Int32)
    case failure(APIError)

    private struct Failure: Codable {
        var code: Int
        var reason: String
        var message: String
    }

    public var frame: NodeStreamFrame {
        switch self {
        case .exitCode(let code):
            return NodeStreamFrame(.status, Array(String(code).utf8))
        case .failure(let error):
            let json = try? JSONEncoder().encode(Failure(code: error.code, reason: error.reason, message: error.message))
            return NodeStreamFrame(.status, Array(json ?? Data()))
        }
    }

    public init(payload: [UInt8]) throws(NodeStreamProtocolError) {
        if let code = Int32(String(decoding: payload, as: UTF8.self)) {
            self = .exitCode(code)
        } else if let failure = try? JSONDecoder().decode(Failure.self, from: Data(payload)) {
            self = .failure(APIError(code: failure.code, reason: failure.reason, message: failure.message))
        } else {
            throw NodeStreamProtocolError("malformed status frame")
        }
    }
}

public struct NodeStreamProtocolError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// What arrives on a connection: the header first (on the agent's side), then frames.
public enum NodeStreamMessage: Sendable, Equatable {
    case header(NodeStreamRequest)
    case frame(NodeStreamFrame)
}

/// Cuts received bytes, which may arrive in any pieces, into messages.
public struct NodeStreamCodec: Sendable {
    public static let maxHeaderBytes = 1 << 20
    public static let maxFrameBytes = 16 << 20

    private var buffer: [UInt8] = []
    private var headerPending: Bool

    public init(expectingHeader: Bool) {
        headerPending = expectingHeader
    }

    public mutating func append(_ bytes: some Sequence<UInt8>) {
        buffer.append(contentsOf: bytes)
    }

    /// The next whole message, or nil until more bytes arrive.
    public mutating func next() throws(NodeStreamProtocolError) -> NodeStreamMessage? {
        if headerPending {
            guard buffer.count >= 4 else { return nil }
            let length = Self.length(at: 0, in: buffer)
            guard length <= Self.maxHeaderBytes else { throw NodeStreamProtocolError("header of \(length) bytes is too large") }
            guard buffer.count >= 4 + length else { return nil }
            let json = Data(buffer[4..<4 + length])
            buffer.removeFirst(4 + length)
            headerPending = false
            guard let request = try? JSONDecoder().decode(NodeStreamRequest.self, from: json) else {
                throw NodeStreamProtocolError("malformed header")
            }
            return .header(request)
        }
        guard buffer.count >= 5 else { return nil }
        guard let channel = NodeStreamChannel(rawValue: buffer[0]) else {
            throw NodeStreamProtocolError("unknown channel \(buffer[0])")
        }
        let length = Self.length(at: 1, in: buffer)
        guard length <= Self.maxFrameBytes else { throw NodeStreamProtocolError("frame of \(length) bytes is too large") }
        guard buffer.count >= 5 + length else { return nil }
        let payload = Array(buffer[5..<5 + length])
        buffer.removeFirst(5 + length)
        return .frame(NodeStreamFrame(channel, payload))
    }

    static func lengthPrefix(_ count: Int) -> [UInt8] {
        let n = UInt32(count)
        return [UInt8(n >> 24), UInt8(truncatingIfNeeded: n >> 16), UInt8(truncatingIfNeeded: n >> 8), UInt8(truncatingIfNeeded: n)]
    }

    private static func length(at offset: Int, in bytes: [UInt8]) -> Int {
        bytes[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
    }
}

extension NodeStreamFrame {
    private struct Size: Codable {
        var Width: UInt16
        var Height: UInt16
    }

    public static func resize(_ size: TerminalSize) -> NodeStreamFrame {
        let json = try? JSONEncoder().encode(Size(Width: size.width, Height: size.height))
        return NodeStreamFrame(.resize, Array(json ?? Data()))
    }

    /// The size a resize frame carries.
    public var terminalSize: TerminalSize? {
        (try? JSONDecoder().decode(Size.self, from: Data(payload))).map { TerminalSize(width: $0.Width, height: $0.Height) }
    }
}
