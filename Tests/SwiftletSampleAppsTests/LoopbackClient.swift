import Glibc
import Synchronization
@testable import SwiftletSampleApps

/// A raw TCP client for the server tests: writes exact bytes and reads until the server closes.
final class LoopbackClient {
    let descriptor: Int32

    init(port: UInt16) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        // On a throw, deinit closes the descriptor.
        guard connected == 0 else { throw SocketError(operation: "connect", code: errno) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(descriptor) }

    func send(_ text: String) {
        _ = sendAll(descriptor, Array(text.utf8))
    }

    /// Everything until the server closes the connection (or 10 s pass).
    func readToEnd() -> String {
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(descriptor, &chunk, chunk.count, 0)
            if count <= 0 { break }
            received += chunk.prefix(count)
        }
        return String(decoding: received, as: UTF8.self)
    }

    /// Reads until `text` has arrived, leaving the connection open.
    func read(until text: String) -> String {
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while !String(decoding: received, as: UTF8.self).contains(text) {
            let count = recv(descriptor, &chunk, chunk.count, 0)
            if count <= 0 { break }
            received += chunk.prefix(count)
        }
        return String(decoding: received, as: UTF8.self)
    }
}

/// Log lines a test server wrote, instead of stdout.
final class CapturedLog: Sendable {
    private let lines = Mutex<[String]>([])

    func log(minimum: LogLevel) -> ConsoleLog {
        ConsoleLog(minimum: minimum) { [self] line in lines.withLock { $0.append(line) } }
    }

    var all: [String] { lines.withLock { $0 } }
}

/// A server on 127.0.0.1 and a free port, serving on its own thread until `stop()`.
func startLoopbackServer(
    log: ConsoleLog = ConsoleLog(minimum: .none), handler: @escaping HTTPHandler
) throws -> HTTPServer {
    let server = try HTTPServer(address: "127.0.0.1", port: 0, log: log, handler: handler)
    spawnDetachedThread { server.serve() }
    return server
}
