/// One field of a protobuf message, for writing messages by hand: the few the server sends
/// in protobuf (the OpenAPI v2 document old kubectl versions read) and request bodies in tests.
public enum ProtobufField: Sendable {
    case varint(Int, UInt64)
    case bytes(Int, [UInt8])
    /// Bytes written as they are: an encoded field, or for tests, what no well-formed writer produces.
    case raw([UInt8])

    public static func string(_ number: Int, _ text: String) -> ProtobufField { .bytes(number, Array(text.utf8)) }
    public static func int(_ number: Int, _ value: Int64) -> ProtobufField { .varint(number, UInt64(bitPattern: value)) }
    public static func bool(_ number: Int, _ value: Bool) -> ProtobufField { .varint(number, value ? 1 : 0) }
    /// A `double`: wire type 1, eight bytes little-endian.
    public static func double(_ number: Int, _ value: Double) -> ProtobufField {
        let bits = value.bitPattern
        return .raw(varint(UInt64(number) << 3 | 1) + (0..<8).map { UInt8(truncatingIfNeeded: bits >> (8 * $0)) })
    }
    public static func message(_ number: Int, _ fields: [ProtobufField]) -> ProtobufField { .bytes(number, encode(fields)) }
    /// A map entry with a string key and a string value.
    public static func entry(_ number: Int, _ key: String, _ value: String) -> ProtobufField {
        .message(number, [.string(1, key), .string(2, value)])
    }

    public static func encode(_ fields: [ProtobufField]) -> [UInt8] {
        var out: [UInt8] = []
        for field in fields {
            switch field {
            case .varint(let number, let value):
                out += varint(UInt64(number) << 3) + varint(value)
            case .bytes(let number, let payload):
                out += varint(UInt64(number) << 3 | 2) + varint(UInt64(payload.count)) + payload
            case .raw(let bytes):
                out += bytes
            }
        }
        return out
    }

    public static func varint(_ value: UInt64) -> [UInt8] {
        var value = value
        var out: [UInt8] = []
        while value >= 0x80 {
            out.append(UInt8(value & 0x7F) | 0x80)
            value >>= 7
        }
        return out + [UInt8(value)]
    }
}
