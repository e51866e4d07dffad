/// A minimal protobuf writer for building request bodies by hand, so tests can state exactly
/// what is on the wire, malformed bodies included.
public enum PB {
    public enum Field {
        case varint(Int, UInt64)
        case bytes(Int, [UInt8])
        /// Bytes written as they are, for tags and values no well-formed writer would produce.
        case raw([UInt8])

        public static func string(_ number: Int, _ text: String) -> Field { .bytes(number, Array(text.utf8)) }
        public static func int(_ number: Int, _ value: Int64) -> Field { .varint(number, UInt64(bitPattern: value)) }
        public static func bool(_ number: Int, _ value: Bool) -> Field { .varint(number, value ? 1 : 0) }
        public static func message(_ number: Int, _ fields: [Field]) -> Field { .bytes(number, encode(fields)) }
        public static func entry(_ number: Int, _ key: String, _ value: String) -> Field {
            .message(number, [.string(1, key), .string(2, value)])
        }
    }

    public static func encode(_ fields: [Field]) -> [UInt8] {
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

    /// `k8s\0` and a runtime.Unknown, with the empty contentEncoding and contentType Go writes.
    public static func body(_ apiVersion: String, _ kind: String, _ fields: [Field]) -> [UInt8] {
        [0x6B, 0x38, 0x73, 0x00] + encode([
            .message(1, [.string(1, apiVersion), .string(2, kind)]),
            .bytes(2, encode(fields)), .string(3, ""), .string(4, ""),
        ])
    }

    /// ObjectMeta as Go clients write it: every non-pointer field, even when empty, and a
    /// zero creationTimestamp as an empty message.
    public static func objectMeta(name: String, namespace: String = "", labels: [(String, String)] = []) -> Field {
        .message(1, [
            .string(1, name), .string(2, ""), .string(3, namespace), .string(4, ""), .string(5, ""), .string(6, ""),
            .int(7, 0), .message(8, []),
        ] + labels.map { .entry(11, $0.0, $0.1) })
    }

    public static func hex(_ text: String) -> [UInt8] {
        let digits = Array(text.utf8).map { $0 <= 0x39 ? $0 - 0x30 : ($0 | 0x20) - 0x57 }
        return stride(from: 0, to: digits.count - 1, by: 2).map { digits[$0] << 4 | digits[$0 + 1] }
    }
}
