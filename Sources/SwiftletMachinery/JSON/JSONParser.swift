/// A strict RFC 8259 JSON parser that also reports duplicate object keys.
///
/// Written here rather than using Foundation because Kubernetes' strict field validation must
/// name duplicate fields (Foundation keeps the last silently), because integers must stay
/// integers, and because it decodes straight into `JSONValue` without an intermediate tree.
public struct JSONParser {
    public struct Options: Sendable {
        /// Nesting deeper than this is rejected, so hostile input cannot exhaust the stack.
        public var maxDepth: Int = 128
        public init() {}
    }

    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public var message: String
        public var offset: Int
        public var description: String { "\(message) at offset \(offset)" }
    }

    /// The result of a parse: the value and the dotted paths of keys that occurred twice
    /// in one object (the later value wins, as in Go).
    public struct Result: Sendable {
        public var value: JSONValue
        public var duplicateKeys: [String]
    }

    public static func parse(_ bytes: [UInt8], options: Options = Options()) throws(ParseError) -> Result {
        try bytes.withUnsafeBufferPointer { buffer throws(ParseError) -> Result in
            var parser = Parser(bytes: buffer, maxDepth: options.maxDepth)
            parser.skipWhitespace()
            let value = try parser.parseValue(depth: 0, path: "")
            parser.skipWhitespace()
            if parser.index != buffer.count {
                throw ParseError(message: "invalid character after top-level value", offset: parser.index)
            }
            return Result(value: value, duplicateKeys: parser.duplicates)
        }
    }

    public static func parse(_ string: String) throws(ParseError) -> JSONValue {
        try parse(Array(string.utf8)).value
    }
}

private struct Parser {
    let bytes: UnsafeBufferPointer<UInt8>
    let maxDepth: Int
    var index = 0
    var duplicates: [String] = []

    init(bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    func fail(_ message: String) -> JSONParser.ParseError {
        JSONParser.ParseError(message: message, offset: index)
    }

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    mutating func parseValue(depth: Int, path: String) throws(JSONParser.ParseError) -> JSONValue {
        guard index < bytes.count else { throw fail("unexpected end of JSON input") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1, path: path)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1, path: path)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw fail("invalid character '\(Character(Unicode.Scalar(bytes[index])))' looking for beginning of value")
        }
    }

    mutating func expectLiteral(_ literal: StaticString) throws(JSONParser.ParseError) {
        let count = literal.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw fail("unexpected end of JSON input") }
        let p = literal.utf8Start
        for i in 0..<count where bytes[index + i] != p[i] {
            throw fail("invalid literal")
        }
        index += count
    }

    mutating func parseObject(depth: Int, path: String) throws(JSONParser.ParseError) -> JSONValue {
        guard depth <= maxDepth else { throw fail("exceeded max depth") }
        index += 1
        var object = JSONObject()
        // Small objects check for duplicates by scanning; large ones (a hostile body with
        // thousands of labels) switch to a set, so parsing stays linear.
        var seen: Set<String>?
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return .object(object)
        }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                throw fail("expected string for object key")
            }
            let key = try parseString()
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw fail("expected ':' after object key") }
            index += 1
            skipWhitespace()
            let childPath = path.isEmpty ? key : path + "." + key
            let value = try parseValue(depth: depth, path: childPath)
            let isDuplicate: Bool
            if seen != nil {
                isDuplicate = !seen!.insert(key).inserted
            } else {
                isDuplicate = object.index(of: key) != nil
                if object.count >= 32 { seen = Set(object.keys); seen!.insert(key) }
            }
            if isDuplicate {
                duplicates.append(childPath)
                object[key] = value
            } else {
                object.appendUnchecked(key, value)
            }
            skipWhitespace()
            guard index < bytes.count else { throw fail("unexpected end of JSON input") }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "}") { index += 1; return .object(object) }
            throw fail("expected ',' or '}' after object value")
        }
    }

    mutating func parseArray(depth: Int, path: String) throws(JSONParser.ParseError) -> JSONValue {
        guard depth <= maxDepth else { throw fail("exceeded max depth") }
        index += 1
        var array: [JSONValue] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            return .array(array)
        }
        while true {
            skipWhitespace()
            array.append(try parseValue(depth: depth, path: "\(path)[\(array.count)]"))
            skipWhitespace()
            guard index < bytes.count else { throw fail("unexpected end of JSON input") }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "]") { index += 1; return .array(array) }
            throw fail("expected ',' or ']' after array element")
        }
    }

    mutating func parseString() throws(JSONParser.ParseError) -> String {
        index += 1  // opening quote
        let start = index
        // Fast path: no escapes.
        while index < bytes.count {
            let b = bytes[index]
            if b == UInt8(ascii: "\"") {
                let s = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
                index += 1
                return s
            }
            if b == UInt8(ascii: "\\") { break }
            if b < 0x20 { throw fail("invalid control character in string literal") }
            index += 1
        }
        var buffer = Array(bytes[start..<index])
        while index < bytes.count {
            let b = bytes[index]
            switch b {
            case UInt8(ascii: "\""):
                index += 1
                return String(decoding: buffer, as: UTF8.self)
            case UInt8(ascii: "\\"):
                index += 1
                guard index < bytes.count else { throw fail("unexpected end of JSON input") }
                let e = bytes[index]
                index += 1
                switch e {
                case UInt8(ascii: "\""): buffer.append(0x22)
                case UInt8(ascii: "\\"): buffer.append(0x5C)
                case UInt8(ascii: "/"): buffer.append(0x2F)
                case UInt8(ascii: "b"): buffer.append(0x08)
                case UInt8(ascii: "f"): buffer.append(0x0C)
                case UInt8(ascii: "n"): buffer.append(0x0A)
                case UInt8(ascii: "r"): buffer.append(0x0D)
                case UInt8(ascii: "t"): buffer.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try parseHex4()
                    if (0xD800...0xDBFF).contains(scalar) {
                        // A high surrogate must be followed by an escaped low surrogate.
                        if index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") {
                            index += 2
                            let low = try parseHex4()
                            if (0xDC00...0xDFFF).contains(low) {
                                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                            } else {
                                scalar = 0xFFFD
                            }
                        } else {
                            scalar = 0xFFFD
                        }
                    } else if (0xDC00...0xDFFF).contains(scalar) {
                        scalar = 0xFFFD
                    }
                    let u = Unicode.Scalar(scalar) ?? "\u{FFFD}"
                    buffer.append(contentsOf: Array(String(Character(u)).utf8))
                default:
                    throw fail("invalid escape in string literal")
                }
            default:
                if b < 0x20 { throw fail("invalid control character in string literal") }
                buffer.append(b)
                index += 1
            }
        }
        throw fail("unexpected end of JSON input")
    }

    mutating func parseHex4() throws(JSONParser.ParseError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw fail("unexpected end of JSON input") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[index]
            let d: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
            default: throw fail("invalid \\u escape")
            }
            v = v * 16 + d
            index += 1
        }
        return v
    }

    mutating func parseNumber() throws(JSONParser.ParseError) -> JSONValue {
        let start = index
        var isInteger = true
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count else { throw fail("unexpected end of JSON input") }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else if (UInt8(ascii: "1")...UInt8(ascii: "9")).contains(bytes[index]) {
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
        } else {
            throw fail("invalid number")
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            isInteger = false
            index += 1
            let digitsStart = index
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
            if index == digitsStart { throw fail("invalid number") }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            isInteger = false
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            let digitsStart = index
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
            if index == digitsStart { throw fail("invalid number") }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        if isInteger, let i = Int64(text) { return .int(i) }
        guard let d = Double(text) else { throw fail("invalid number") }
        return .double(d)
    }
}
