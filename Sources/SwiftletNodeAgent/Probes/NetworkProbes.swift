import Foundation

/// The httpGet and tcpSocket probes, with blocking sockets on a queue of their own so that a
/// slow target never holds up the agent's tasks. Results and messages as the kubelet words them.
enum NetworkProbes {
    private static let queue = DispatchQueue(label: "swiftlet.probes", attributes: .concurrent)

    enum Outcome: Equatable { case success, failure(String) }

    static func tcp(host: String, port: Int, timeout: Duration) async -> Outcome {
        await run {
            switch connect(host: host, port: port, timeout: timeout) {
            case .success(let fd): close(fd); return .success
            case .failure(let message): return .failure("dial tcp \(host):\(port): \(message)")
            }
        }
    }

    static func http(scheme: String, host: String, port: Int, path: String, headers: [(String, String)],
                     timeout: Duration) async -> Outcome {
        await run {
            let url = "\(scheme.lowercased())://\(host):\(port)\(path)"
            guard scheme.uppercased() == "HTTP" else {
                return .failure("Get \"\(url)\": HTTPS probes are not supported by this node")
            }
            let fd: Int32
            switch connect(host: host, port: port, timeout: timeout) {
            case .success(let socket): fd = socket
            case .failure(let message): return .failure("Get \"\(url)\": dial tcp \(host):\(port): \(message)")
            }
            defer { close(fd) }
            var request = "GET \(path.isEmpty ? "/" : path) HTTP/1.1\r\nHost: \(host):\(port)\r\n"
            var hasAgent = false, hasAccept = false
            for (name, value) in headers {
                request += "\(name): \(value)\r\n"
                hasAgent = hasAgent || name.lowercased() == "user-agent"
                hasAccept = hasAccept || name.lowercased() == "accept"
            }
            if !hasAgent { request += "User-Agent: kube-probe/1.34\r\n" }
            if !hasAccept { request += "Accept: */*\r\n" }
            request += "Connection: close\r\n\r\n"
            let sent = request.utf8CString.withUnsafeBufferPointer { send(fd, $0.baseAddress, $0.count - 1, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { return .failure("Get \"\(url)\": write: \(String(cString: strerror(errno)))") }
            // The status line is all that decides the outcome.
            var buffer = [UInt8](repeating: 0, count: 512)
            var received = 0
            while received < buffer.count {
                let n = buffer.withUnsafeMutableBufferPointer { recv(fd, $0.baseAddress! + received, $0.count - received, 0) }
                if n <= 0 { break }
                received += n
                if buffer[..<received].contains(UInt8(ascii: "\n")) { break }
            }
            let line = String(decoding: buffer[..<received].prefix { $0 != UInt8(ascii: "\r") && $0 != UInt8(ascii: "\n") }, as: UTF8.self)
            let parts = line.split(separator: " ")
            guard parts.count >= 2, parts[0].hasPrefix("HTTP/"), let code = Int(parts[1]) else {
                if received == 0 {
                    return .failure("Get \"\(url)\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)")
                }
                return .failure("Get \"\(url)\": malformed HTTP response \"\(line)\"")
            }
            return (200..<400).contains(code) ? .success : .failure("HTTP probe failed with statuscode: \(code)")
        }
    }

    private static func run(_ body: @escaping @Sendable () -> Outcome) async -> Outcome {
        await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: body()) }
        }
    }

    private enum Connected { case success(Int32), failure(String) }

    /// An IPv4 TCP connection with a deadline on connecting and on every read and write.
    private static func connect(host: String, port: Int, timeout: Duration) -> Connected {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { return .failure("invalid address \(host)") }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { return .failure(String(cString: strerror(errno))) }
        let millis = Int32(max(1, timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000))
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if result != 0 && errno != EINPROGRESS {
            let message = "connect: \(String(cString: strerror(errno)).lowercased())"
            close(fd)
            return .failure(message)
        }
        var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        guard poll(&poller, 1, millis) == 1 else {
            close(fd)
            return .failure("i/o timeout")
        }
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
        if error != 0 {
            close(fd)
            return .failure("connect: \(String(cString: strerror(error)).lowercased())")
        }
        // Back to blocking, with the timeout on each operation.
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        var tv = timeval(tv_sec: Int(millis / 1000), tv_usec: Int(millis % 1000) * 1000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        return .success(fd)
    }
}
