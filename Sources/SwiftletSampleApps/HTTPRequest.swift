/// One header line of a request, as received (the name keeps its case; look-ups ignore it).
public struct HTTPHeaderField: Sendable, Equatable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// A parsed HTTP/1.x request head, plus the body when one was sent with Content-Length.
public struct HTTPRequest: Sendable, Equatable {
    public var method: String
    /// The request target as sent, e.g. "/?dp=1000".
    public var target: String
    public var version: (major: Int, minor: Int)
    public var headers: [HTTPHeaderField]
    public var body: [UInt8] = []

    public init(
        method: String, target: String, version: (major: Int, minor: Int) = (1, 1), headers: [HTTPHeaderField] = []
    ) {
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
    }

    /// The first value of a header, by case-insensitive name.
    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.name.lowercased() == wanted }?.value
    }

    /// The target without its query, percent-decoded.
    public var path: String {
        let raw = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        return percentDecoded(raw, plusIsSpace: false)
    }

    /// The first value of a query parameter (`+` and `%XX` decoded), or nil when absent.
    public func queryParameter(_ name: String) -> String? {
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        for pair in parts[1].split(separator: "&") {
            let keyValue = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if percentDecoded(keyValue[0], plusIsSpace: true) == name {
                return keyValue.count == 2 ? percentDecoded(keyValue[1], plusIsSpace: true) : ""
            }
        }
        return nil
    }

    /// HTTP/1.1 keeps the connection unless told `close`; HTTP/1.0 closes unless told `keep-alive`.
    public var wantsKeepAlive: Bool {
        let options = (header("Connection") ?? "").lowercased().split(separator: ",").map {
            $0.trimmingASCIIWhitespace()
        }
        if version.major == 1 && version.minor == 0 { return options.contains("keep-alive") }
        return !options.contains("close")
    }

    public static func == (lhs: HTTPRequest, rhs: HTTPRequest) -> Bool {
        lhs.method == rhs.method && lhs.target == rhs.target && lhs.version == rhs.version
            && lhs.headers == rhs.headers && lhs.body == rhs.body
    }
}

private func percentDecoded(_ text: Substring, plusIsSpace: Bool) -> String {
    var bytes: [UInt8] = []
    var input = Array(text.utf8)[...]
    while let byte = input.popFirst() {
        if byte == UInt8(ascii: "+") && plusIsSpace {
            bytes.append(UInt8(ascii: " "))
        } else if byte == UInt8(ascii: "%"), input.count >= 2,
                  let high = hexValue(input[input.startIndex]), let low = hexValue(input[input.startIndex + 1]) {
            bytes.append(high << 4 | low)
            input = input.dropFirst(2)
        } else {
            bytes.append(byte)
        }
    }
    return String(decoding: bytes, as: UTF8.self)
}

private func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
    default: nil
    }
}

extension StringProtocol {
    func trimmingASCIIWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let start = firstIndex(where: { !isSpace($0) }), let end = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[start...end])
    }
}
