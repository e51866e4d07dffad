import Glibc

/// One client connection: reads requests, answers them in order, and closes when either side is done.
struct HTTPConnection: Sendable {
    /// Like Kestrel's keep-alive timeout (130 s): an idle connection is closed, freeing its thread.
    static let idleTimeoutSeconds = 130

    let descriptor: Int32
    let handler: HTTPHandler
    let log: ConsoleLog

    func run() {
        setReceiveTimeout(seconds: Self.idleTimeoutSeconds)
        var buffer: [UInt8] = []
        while true {
            let head: HTTPRequestHead
            do {
                guard let parsed = try readHead(&buffer) else { close(descriptor); return }
                head = parsed
            } catch {
                log.log(.debug, "Microsoft.AspNetCore.Server.Kestrel", event: 17, "Bad request: \(error.reason)")
                _ = sendAll(descriptor, HTTPResponse(status: error.status).serialized(keepAlive: false))
                return closeAfterFinalResponse()
            }
            let end = head.headLength + head.contentLength
            while buffer.count < end {
                guard receive(into: &buffer) else { close(descriptor); return }
            }
            var request = head.request
            request.body = Array(buffer[head.headLength..<end])
            buffer.removeFirst(end)

            let started = monotonicMilliseconds()
            var response = handler(request)
            let keepAlive = request.wantsKeepAlive
            // HTTP/1.0 clients close after each response unless told the connection persists.
            if keepAlive && request.version == (1, 0) {
                response.headers.append(HTTPHeaderField("Connection", "keep-alive"))
            }
            let wire = response.serialized(keepAlive: keepAlive, includeBody: request.method != "HEAD")
            let sent = sendAll(descriptor, wire)
            logFinished(request, response, milliseconds: monotonicMilliseconds() - started)
            guard sent else { close(descriptor); return }
            guard keepAlive else { return closeAfterFinalResponse() }
        }
    }

    /// The next request head, reading as needed; nil when the peer closed or went idle.
    private func readHead(_ buffer: inout [UInt8]) throws(HTTPRequestError) -> HTTPRequestHead? {
        while true {
            if let head = try HTTPRequestParser.parseHead(buffer[...]) { return head }
            guard receive(into: &buffer) else { return nil }
        }
    }

    /// Appends what the socket has; false on end of stream, idle timeout or error.
    private func receive(into buffer: inout [UInt8]) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 8192)
        while true {
            let count = recv(descriptor, &chunk, chunk.count, 0)
            if count > 0 {
                buffer += chunk.prefix(count)
                return true
            }
            if count < 0 && errno == EINTR { continue }
            return false
        }
    }

    /// Half-closes, then drains briefly before closing: closing with unread input would send a reset
    /// that can destroy the response before the client reads it.
    private func closeAfterFinalResponse() {
        shutdown(descriptor, Int32(SHUT_WR))
        setReceiveTimeout(seconds: 2)
        var drained: [UInt8] = []
        while drained.count < 1 << 16, receive(into: &drained) {}
        close(descriptor)
    }

    private func setReceiveTimeout(seconds: Int) {
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// ASP.NET's hosting log line for a finished request (event 2), on one line.
    private func logFinished(_ request: HTTPRequest, _ response: HTTPResponse, milliseconds: Double) {
        log.log(.information, "Microsoft.AspNetCore.Hosting.Diagnostics", event: 2, {
            let host = request.header("Host") ?? "localhost"
            let version = "HTTP/\(request.version.major).\(request.version.minor)"
            let type = response.contentType ?? "-"
            return "Request finished \(version) \(request.method) http://\(host)\(request.target) - "
                + "\(response.status) \(response.body.count) \(type) \(formatMilliseconds(milliseconds))ms"
        }())
    }
}

/// Milliseconds with four decimals, as .NET prints elapsed times ("12.3456").
func formatMilliseconds(_ milliseconds: Double) -> String {
    let tenThousandths = Int((milliseconds * 10_000).rounded())
    let fraction = String(tenThousandths % 10_000)
    return "\(tenThousandths / 10_000).\(String(repeating: "0", count: 4 - fraction.count))\(fraction)"
}
