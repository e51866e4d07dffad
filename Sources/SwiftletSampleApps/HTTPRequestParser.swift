/// Why a request could not be read. The server answers with `status` and closes the connection.
public struct HTTPRequestError: Error, Equatable, Sendable {
    public let status: Int
    public let reason: String

    public init(status: Int, _ reason: String) {
        self.status = status
        self.reason = reason
    }
}

/// A complete request head found at the start of a buffer.
public struct HTTPRequestHead: Equatable, Sendable {
    public var request: HTTPRequest
    /// Bytes the head took, including any blank lines before it and the blank line after it.
    public var headLength: Int
    /// Body bytes that follow the head (from Content-Length; 0 when absent).
    public var contentLength: Int
}

/// Parses HTTP/1.x request heads (RFC 9112), strictly enough to refuse what it cannot answer safely.
public enum HTTPRequestParser {
    public static let maximumHeadBytes = 16 * 1024
    public static let maximumBodyBytes = 1 << 20

    /// The head at the start of `bytes`, or nil when more bytes are needed to finish it.
    public static func parseHead(_ bytes: ArraySlice<UInt8>) throws(HTTPRequestError) -> HTTPRequestHead? {
        // RFC 9112 §2.2: ignore blank lines received before the request line.
        var start = bytes.startIndex
        while start < bytes.endIndex, bytes[start] == cr || bytes[start] == lf { start += 1 }
        guard let end = endOfHead(bytes[start...]) else {
            if bytes.count > maximumHeadBytes { throw HTTPRequestError(status: 431, "request head too large") }
            return nil
        }
        if end - bytes.startIndex > maximumHeadBytes { throw HTTPRequestError(status: 431, "request head too large") }

        var lines = bytes[start..<end].split(separator: lf, omittingEmptySubsequences: false).map { line in
            line.last == cr ? line.dropLast() : line
        }
        while lines.last?.isEmpty == true { lines.removeLast() }
        guard let requestLine = lines.first else { throw HTTPRequestError(status: 400, "missing request line") }
        var request = try parseRequestLine(requestLine)
        for line in lines.dropFirst() { request.headers.append(try parseHeaderLine(line)) }

        if request.header("Transfer-Encoding") != nil {
            throw HTTPRequestError(status: 501, "Transfer-Encoding is not supported")
        }
        let contentLength = try parseContentLength(request.headers)
        return HTTPRequestHead(request: request, headLength: end - bytes.startIndex, contentLength: contentLength)
    }

    private static let cr = UInt8(ascii: "\r")
    private static let lf = UInt8(ascii: "\n")
    private static let space = UInt8(ascii: " ")
    private static let tab = UInt8(ascii: "\t")

    /// The index just past the blank line that ends the head ("\r\n\r\n" or bare "\n\n").
    private static func endOfHead(_ bytes: ArraySlice<UInt8>) -> Int? {
        var index = bytes.startIndex
        while let newline = bytes[index...].firstIndex(of: lf) {
            var next = newline + 1
            if next < bytes.endIndex, bytes[next] == cr { next += 1 }
            if next < bytes.endIndex, bytes[next] == lf { return next + 1 }
            if next >= bytes.endIndex { return nil }
            index = newline + 1
        }
        return nil
    }

    private static func parseRequestLine(_ line: ArraySlice<UInt8>) throws(HTTPRequestError) -> HTTPRequest {
        let parts = line.split(separator: space, omittingEmptySubsequences: false)
        guard parts.count == 3, isToken(parts[0]), !parts[1].isEmpty,
              parts[1].allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw HTTPRequestError(status: 400, "malformed request line")
        }
        let version = Array(parts[2])
        let digit = { (byte: UInt8) in byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
        guard version.count == 8, version.starts(with: "HTTP/".utf8), digit(version[5]),
              version[6] == UInt8(ascii: "."), digit(version[7]) else {
            throw HTTPRequestError(status: 400, "malformed HTTP version")
        }
        let major = Int(version[5] - UInt8(ascii: "0"))
        let minor = Int(version[7] - UInt8(ascii: "0"))
        guard major == 1 else { throw HTTPRequestError(status: 505, "HTTP version not supported") }
        return HTTPRequest(
            method: String(decoding: parts[0], as: UTF8.self),
            target: String(decoding: parts[1], as: UTF8.self),
            version: (major, minor))
    }

    private static func parseHeaderLine(_ line: ArraySlice<UInt8>) throws(HTTPRequestError) -> HTTPHeaderField {
        // A line starting with whitespace is obsolete line folding, which RFC 9112 §5.2 lets a server reject.
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")), isToken(line[..<colon]) else {
            throw HTTPRequestError(status: 400, "malformed header line")
        }
        let value = line[(colon + 1)...]
        guard value.allSatisfy({ $0 == tab || ($0 >= 0x20 && $0 != 0x7F) }) else {
            throw HTTPRequestError(status: 400, "invalid character in header value")
        }
        return HTTPHeaderField(
            String(decoding: line[..<colon], as: UTF8.self),
            String(decoding: value, as: UTF8.self).trimmingASCIIWhitespace())
    }

    private static func parseContentLength(_ headers: [HTTPHeaderField]) throws(HTTPRequestError) -> Int {
        let values = headers.filter { $0.name.lowercased() == "content-length" }.map(\.value)
        guard let first = values.first else { return 0 }
        guard values.allSatisfy({ $0 == first }), !first.isEmpty, first.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else {
            throw HTTPRequestError(status: 400, "invalid Content-Length")
        }
        guard first.count <= 9, let length = Int(first), length <= maximumBodyBytes else {
            throw HTTPRequestError(status: 413, "request body too large")
        }
        return length
    }

    /// RFC 9110 §5.6.2 token characters, which method and header names are made of.
    private static func isToken(_ bytes: ArraySlice<UInt8>) -> Bool {
        !bytes.isEmpty && bytes.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"):
                true
            default:
                Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
            }
        }
    }
}
