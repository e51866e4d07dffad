import NIOHTTP1
import SwiftletAPI

/// One HTTP request, fully read. Bodies of API requests are small (objects, patches), so they
/// are collected before handling; streaming is only needed in responses (watch, logs).
public struct HTTPRequest: Sendable {
    public var method: HTTPMethod
    /// The request target as sent (path and query, still encoded), for transports that
    /// forward the request.
    public var uri: String
    /// The path without the query, percent-decoded.
    public var path: String
    public var query: QueryParameters
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// Set when the body went past the server's limit and was dropped.
    public var bodyTooLarge = false
    /// The answer decided from the head alone (an unauthenticated request): its body was not read.
    public var refusal: HTTPResponse?
    /// Who the connection's verified client certificate names, if it presented one.
    public var certificateUser: UserInfo?

    public init(method: HTTPMethod, uri: String, headers: HTTPHeaders, body: [UInt8]) {
        self.method = method
        self.uri = uri
        self.headers = headers
        self.body = body
        let parts = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        self.path = QueryParameters.percentDecode(String(parts.first ?? ""), plusAsSpace: false)
        self.query = QueryParameters(parts.count > 1 ? String(parts[1]) : "")
    }

    public var contentType: String { headers.first(name: "content-type") ?? "" }
    public var accept: String { headers.first(name: "accept") ?? "" }
}

/// URL query parameters, in order, with repeated keys kept (exec's `command=` repeats).
public struct QueryParameters: Sendable {
    public private(set) var pairs: [(String, String)] = []

    public init(_ raw: String) {
        for item in raw.split(separator: "&") where !item.isEmpty {
            let kv = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = Self.percentDecode(String(kv[0]), plusAsSpace: true)
            let value = kv.count > 1 ? Self.percentDecode(String(kv[1]), plusAsSpace: true) : ""
            pairs.append((key, value))
        }
    }

    public subscript(_ key: String) -> String? { pairs.first { $0.0 == key }?.1 }

    public func all(_ key: String) -> [String] { pairs.filter { $0.0 == key }.map(\.1) }

    public func bool(_ key: String) -> Bool {
        guard let v = self[key] else { return false }
        return v == "true" || v == "1" || v == ""
    }

    static func percentDecode(_ s: String, plusAsSpace: Bool) -> String {
        guard s.utf8.contains(where: { $0 == UInt8(ascii: "%") || (plusAsSpace && $0 == UInt8(ascii: "+")) }) else { return s }
        var out: [UInt8] = []
        var bytes = s.utf8.makeIterator()
        while let b = bytes.next() {
            if b == UInt8(ascii: "%"), let h = bytes.next(), let l = bytes.next(), let hv = hexValue(h), let lv = hexValue(l) {
                out.append(hv << 4 | lv)
            } else if plusAsSpace, b == UInt8(ascii: "+") {
                out.append(0x20)
            } else {
                out.append(b)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
