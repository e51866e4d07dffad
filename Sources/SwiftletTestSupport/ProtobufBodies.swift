import SwiftletMachinery

/// Request bodies built by hand with `ProtobufField`, so tests can state exactly what is on
/// the wire, malformed bodies included.
public enum PB {
    public typealias Field = ProtobufField

    public static func encode(_ fields: [Field]) -> [UInt8] { ProtobufField.encode(fields) }
    public static func varint(_ value: UInt64) -> [UInt8] { ProtobufField.varint(value) }

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
