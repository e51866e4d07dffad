import Glibc

/// A small blocking HTTP/1.1 server: one thread per connection, keep-alive, Content-Length bodies.
/// Each request is logged the way ASP.NET's hosting diagnostics log it, at Information level.
public final class HTTPServer: Sendable {
    /// The port actually bound (useful when 0 was asked for).
    public let port: UInt16
    /// The address bound, "::" (dual-stack) or "0.0.0.0" when the machine has no IPv6.
    public let address: String
    private let descriptor: Int32
    private let handler: HTTPHandler
    private let log: ConsoleLog

    public init(
        address: String = "::", port: UInt16, log: ConsoleLog, handler: @escaping HTTPHandler
    ) throws(SocketError) {
        // Writes to a vanished client must fail with EPIPE, not kill the process.
        signal(SIGPIPE, SIG_IGN)
        var socket: ListeningSocket
        var boundAddress = address
        do {
            socket = try ListeningSocket(address: address, port: port)
        } catch {
            guard address == "::", error.code == EAFNOSUPPORT else { throw error }
            boundAddress = "0.0.0.0"
            socket = try ListeningSocket(address: boundAddress, port: port)
        }
        self.descriptor = socket.descriptor
        self.port = socket.port
        self.address = boundAddress
        self.handler = handler
        self.log = log
    }

    deinit { close(descriptor) }

    /// The listening URL as ASP.NET prints it, e.g. "http://[::]:80".
    public var url: String {
        address.contains(":") ? "http://[\(address)]:\(port)" : "http://\(address):\(port)"
    }

    /// Accepts connections until `stop()`; each one is served on its own thread.
    public func serve() {
        while true {
            let client = accept(descriptor, nil, nil)
            if client < 0 {
                switch errno {
                case EINTR, ECONNABORTED, EPROTO:
                    continue
                case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                    usleep(100_000)
                    continue
                default:
                    return  // EINVAL after stop()
                }
            }
            let connection = HTTPConnection(descriptor: client, handler: handler, log: log)
            if !spawnDetachedThread({ connection.run() }) { close(client) }
        }
    }

    /// Makes `serve()` return; connections already open finish their current exchange.
    public func stop() {
        shutdown(descriptor, Int32(SHUT_RDWR))
    }
}
