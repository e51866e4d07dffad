import Foundation
import Glibc
import Synchronization
import SwiftletMachinery
@testable import SwiftletAPIServer

/// A node agent stand-in: logs from a script or pushed live, and exec commands that exercise each stream.
final class FakeNodeBackend: NodeStreamingBackend {
    struct ExecCall: Sendable, Equatable {
        var pod: PodReference
        var container: String
        var command: [String]
        var tty: Bool
        var stdin: Bool, stdout: Bool, stderr: Bool
    }

    let logCalls = Mutex<[(PodReference, PodLogOptions)]>([])
    let execCalls = Mutex<[ExecCall]>([])
    let logChunks: [[UInt8]]
    /// Set when a log stream's consumer went away or a command was cancelled.
    let logTerminated = Mutex(false)
    let execCancelled = Mutex(false)
    /// Followed logs: what the test yields here is streamed to the client.
    let liveLog = AsyncStream<[UInt8]>.makeStream()
    let logError: APIError?

    init(logChunks: [[UInt8]] = [], logError: APIError? = nil) {
        self.logChunks = logChunks
        self.logError = logError
    }

    func containerLogs(pod: PodReference, options: PodLogOptions) async throws(APIError) -> AsyncStream<[UInt8]> {
        if let logError { throw logError }
        logCalls.withLock { $0.append((pod, options)) }
        if options.follow { return liveLog.stream }
        let chunks = logChunks
        return AsyncStream { continuation in
            for chunk in chunks { continuation.yield(chunk) }
            continuation.onTermination = { _ in self.logTerminated.withLock { $0 = true } }
            continuation.finish()
        }
    }

    /// `echo WORDS`, `fail CODE` (stderr, then exit CODE), `cat` (stdin to stdout), `size` (the first
    /// terminal size), `wait` (until cancelled), `error` (a thrown APIError).
    func exec(pod: PodReference, container: String, command: [String], tty: Bool,
              streams: ContainerStreams) async throws(APIError) -> Int32 {
        execCalls.withLock {
            $0.append(ExecCall(pod: pod, container: container, command: command, tty: tty,
                               stdin: streams.stdin != nil, stdout: streams.stdout != nil, stderr: streams.stderr != nil))
        }
        switch command.first {
        case "echo":
            await streams.stdout?(Array((command.dropFirst().joined(separator: " ") + "\n").utf8))
            return 0
        case "fail":
            await streams.stderr?(Array("bad\n".utf8))
            return Int32(command[1]) ?? 1
        case "cat":
            for await chunk in streams.stdin ?? AsyncStream(unfolding: { nil }) { await streams.stdout?(chunk) }
            return 0
        case "size":
            for await size in streams.resize ?? AsyncStream(unfolding: { nil }) {
                await streams.stdout?(Array("\(size.width)x\(size.height)\n".utf8))
                break
            }
            return 0
        case "wait":
            while !Task.isCancelled { try? await Task.sleep(for: .milliseconds(10)) }
            execCancelled.withLock { $0 = true }
            return 0
        default:
            throw APIError.internalError("boom")
        }
    }

    func attach(pod: PodReference, container: String, tty: Bool, streams: ContainerStreams) async throws(APIError) {
        await streams.stdout?(Array("attached to \(container)\n".utf8))
    }
}

/// An API server with a fake node agent for node `n1`, behind a plain-HTTP listener on loopback.
struct StreamingHarness {
    let t: TestServer
    let backend: FakeNodeBackend
    let port: Int
    let serving: Task<Void, Error>

    static func start(backend: FakeNodeBackend = FakeNodeBackend(), clock: @escaping @Sendable () -> Date = { Date() }) async throws -> StreamingHarness {
        let t = try TestServer(clock: clock)
        let server = t.server
        server.nodeStreaming.register(nodeName: "n1", backend)
        _ = await t.request(.POST, "/api/v1/nodes", body: ["metadata": ["name": "n1"]])
        let http = HTTPServer(host: "127.0.0.1", port: 0, tls: nil, group: .singletonMultiThreadedEventLoopGroup,
                              webSocket: { await server.webSocketUpgrade($0) }) { await server.handle($0) }
        let bound = try await http.bind()
        return StreamingHarness(t: t, backend: backend, port: bound.port, serving: Task { try await http.serve(bound) })
    }

    func stop() {
        serving.cancel()
        t.server.shutdown()
    }

    /// Creates pod `name` with these containers (and init containers), bound to `node` when given.
    func pod(_ name: String, containers: [String] = ["c"], initContainers: [String] = [], node: String? = "n1",
             phase: String? = nil) async {
        func list(_ names: [String]) -> JSONValue { .array(names.map { ["name": .string($0), "image": "busybox"] }) }
        var spec: JSONValue = ["containers": list(containers)]
        if !initContainers.isEmpty { spec["initContainers"] = list(initContainers) }
        _ = await t.request(.POST, "/api/v1/namespaces/default/pods", body: ["metadata": ["name": .string(name)], "spec": spec])
        if let node {
            _ = await t.request(.POST, "/api/v1/namespaces/default/pods/\(name)/binding",
                                body: ["metadata": ["name": .string(name)], "target": ["kind": "Node", "name": .string(node)]])
        }
        if let phase {
            _ = await t.request(.PATCH, "/api/v1/namespaces/default/pods/\(name)/status",
                                body: ["status": ["phase": .string(phase)]], contentType: "application/merge-patch+json")
        }
    }

    func connect() throws -> LoopbackSocket { try LoopbackSocket(port: port) }
}

/// A client TCP connection on loopback, read without blocking the test's thread. Its reads
/// wait up to 30 s by default: a full parallel test run on two cores can keep a server's
/// answer waiting for seconds, and only an answer that never comes uses the time up.
final class LoopbackSocket: @unchecked Sendable {
    struct Failure: Error, CustomStringConvertible { var description: String }

    private let fd: Int32
    private var buffer: [UInt8] = []

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            Glibc.close(fd)
            throw Failure(description: "connect: errno \(errno)")
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    }

    deinit { Glibc.close(fd) }

    func write(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            if n > 0 {
                offset += n
            } else if errno == EAGAIN {
                usleep(1000)
            } else {
                throw Failure(description: "send: errno \(errno)")
            }
        }
    }

    func write(_ text: String) throws { try write(Array(text.utf8)) }

    /// Reads more into the buffer; false at the end of the stream (or an error).
    private func fill(until deadline: ContinuousClock.Instant) async throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                buffer += chunk[0..<n]
                return true
            }
            if n == 0 { return false }
            guard errno == EAGAIN || errno == EWOULDBLOCK else { return false }
            guard ContinuousClock.now < deadline else { throw Failure(description: "timed out reading") }
            try await Task.sleep(for: .milliseconds(2))
        }
    }

    func read(count: Int, timeout: Duration = .seconds(30)) async throws -> [UInt8] {
        let deadline = ContinuousClock.now + timeout
        while buffer.count < count {
            guard try await fill(until: deadline) else { throw Failure(description: "connection closed after \(buffer.count) of \(count) bytes") }
        }
        defer { buffer.removeFirst(count) }
        return Array(buffer[0..<count])
    }

    /// Up to and including `delimiter`.
    func read(through delimiter: String, timeout: Duration = .seconds(30)) async throws -> [UInt8] {
        let needle = Array(delimiter.utf8)
        let deadline = ContinuousClock.now + timeout
        while true {
            if let end = Self.find(needle, in: buffer) { return try await read(count: end + needle.count) }
            guard try await fill(until: deadline) else { throw Failure(description: "connection closed before \(delimiter.debugDescription)") }
        }
    }

    /// True when the peer closes the connection (with nothing more to read) within the timeout.
    func closedByPeer(timeout: Duration = .seconds(30)) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while true {
            guard let more = try? await fill(until: deadline) else { return false }
            if !more { return buffer.isEmpty }
        }
    }

    /// Everything the peer sends until it closes the connection (or resets it); nil when it is
    /// still open after `timeout`.
    func untilClosed(timeout: Duration = .seconds(30)) async -> String? {
        let deadline = ContinuousClock.now + timeout
        while true {
            guard let more = try? await fill(until: deadline) else { return nil }
            if !more { return String(decoding: buffer, as: UTF8.self) }
        }
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        return (0...(haystack.count - needle.count)).first { haystack[$0..<($0 + needle.count)].elementsEqual(needle) }
    }
}

/// HTTP/1.1 as a client speaks it, by hand: enough to see exactly what the server sends.
struct RawHTTPResponse {
    var status: Int
    var headers: [String: String]  // lower-cased names
    var body: [UInt8]
    var json: JSONValue { (try? JSONParser.parse(body).value) ?? .null }
    var text: String { String(decoding: body, as: UTF8.self) }

    static func request(_ socket: LoopbackSocket, _ target: String, method: String = "GET",
                        headers: [(String, String)] = [("Authorization", "Bearer \(TestServer.token)")]) throws {
        var text = "\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        try socket.write(text + "\r\n")
    }

    /// The status line and headers; the body is read with `Content-Length` unless `chunked`.
    static func read(_ socket: LoopbackSocket, headOnly: Bool = false) async throws -> RawHTTPResponse {
        let head = String(decoding: try await socket.read(through: "\r\n\r\n"), as: UTF8.self)
        let lines = head.components(separatedBy: "\r\n").filter { !$0.isEmpty }
        let status = Int(lines[0].split(separator: " ")[1]) ?? 0
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            let parts = line.split(separator: ":", maxSplits: 1)
            headers[parts[0].lowercased()] = parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : ""
        }
        var response = RawHTTPResponse(status: status, headers: headers, body: [])
        if !headOnly, let length = headers["content-length"].flatMap(Int.init) {
            response.body = try await socket.read(count: length)
        }
        return response
    }

    /// One chunk of a chunked body; empty for the last.
    static func readChunk(_ socket: LoopbackSocket) async throws -> [UInt8] {
        let sizeLine = String(decoding: try await socket.read(through: "\r\n").dropLast(2), as: UTF8.self)
        let size = Int(sizeLine, radix: 16) ?? 0
        let chunk = try await socket.read(count: size)
        _ = try await socket.read(count: 2)
        return chunk
    }
}

/// A WebSocket client by hand (RFC 6455): masked frames out, and the server's frames read as they are.
struct RawWebSocket {
    static let key = "dGhlIHNhbXBsZSBub25jZQ=="
    /// RFC 6455's worked example: the accept value for `key`.
    static let expectedAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

    struct Frame: Equatable {
        var fin: Bool
        var opcode: UInt8
        var payload: [UInt8]
        var masked: Bool
    }

    let socket: LoopbackSocket

    /// Sends the upgrade request and reads the answer: 101 leaves the socket speaking WebSocket.
    static func open(_ harness: StreamingHarness, _ target: String, protocols: [String]? = ["v5.channel.k8s.io"],
                     authorized: Bool = true) async throws -> (RawHTTPResponse, RawWebSocket) {
        let socket = try harness.connect()
        var headers = [("Connection", "Upgrade"), ("Upgrade", "websocket"), ("Sec-WebSocket-Version", "13"), ("Sec-WebSocket-Key", key)]
        if let protocols { headers.append(("Sec-WebSocket-Protocol", protocols.joined(separator: ", "))) }
        if authorized { headers.append(("Authorization", "Bearer \(TestServer.token)")) }
        try RawHTTPResponse.request(socket, target, headers: headers)
        let response = try await RawHTTPResponse.read(socket)
        return (response, RawWebSocket(socket: socket))
    }

    func send(opcode: UInt8, _ payload: [UInt8], fin: Bool = true) throws {
        var frame: [UInt8] = [(fin ? 0x80 : 0) | opcode]
        if payload.count < 126 {
            frame.append(0x80 | UInt8(payload.count))
        } else {
            frame.append(0x80 | 126)
            frame += [UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        }
        let mask: [UInt8] = [0x37, 0xFA, 0x21, 0x3D]
        frame += mask
        frame += payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
        try socket.write(frame)
    }

    func sendBinary(_ payload: [UInt8]) throws { try send(opcode: 2, payload) }

    func readFrame() async throws -> Frame {
        let head = try await socket.read(count: 2)
        var length = Int(head[1] & 0x7F)
        if length == 126 {
            let ext = try await socket.read(count: 2)
            length = Int(ext[0]) << 8 | Int(ext[1])
        } else if length == 127 {
            length = try await socket.read(count: 8).reduce(0) { $0 << 8 | Int($1) }
        }
        let masked = head[1] & 0x80 != 0
        var mask: [UInt8] = []
        if masked { mask = try await socket.read(count: 4) }
        var payload = try await socket.read(count: length)
        if masked { payload = payload.enumerated().map { $0.element ^ mask[$0.offset % 4] } }
        return Frame(fin: head[0] & 0x80 != 0, opcode: head[0] & 0x0F, payload: payload, masked: masked)
    }

    /// The binary messages up to the server's Close, and that Close's code.
    func readUntilClose() async throws -> (messages: [[UInt8]], closeCode: Int?) {
        var messages: [[UInt8]] = []
        while true {
            let frame = try await readFrame()
            switch frame.opcode {
            case 8:
                return (messages, frame.payload.count >= 2 ? Int(frame.payload[0]) << 8 | Int(frame.payload[1]) : nil)
            case 2:
                messages.append(frame.payload)
            default:
                throw LoopbackSocket.Failure(description: "unexpected frame \(frame)")
            }
        }
    }

    /// Answers the server's Close, as kubectl does.
    func sendClose(code: UInt16 = 1000) throws { try send(opcode: 8, [UInt8(code >> 8), UInt8(code & 0xFF)]) }
}

extension Array where Element == UInt8 {
    init(channel: UInt8, _ text: String) { self = [channel] + Array(text.utf8) }
}
