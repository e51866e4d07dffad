import Foundation
import SwiftletMachinery

/// The apimachinery types that are messages on the wire but marshal to JSON by hand: their JSON
/// form is what kube-apiserver would store after decoding them into Go.
enum ProtobufGoValues {
    /// The fields of one such message, by number, merged across occurrences.
    struct Fields {
        enum Value { case varint(UInt64), bytes(ArraySlice<UInt8>) }
        var values: [Int: Value] = [:]
        /// No bytes at all: how Go writes a zero `Time` (which marshals to null).
        var isEmpty = true

        func varint(_ number: Int, _ name: String) throws(ProtobufError) -> UInt64? {
            switch values[number] {
            case nil: return nil
            case .varint(let v)?: return v
            case .bytes?: throw ProtobufError("proto: wrong wireType = 2 for field \(name)")
            }
        }

        func bytes(_ number: Int, _ name: String) throws(ProtobufError) -> ArraySlice<UInt8>? {
            switch values[number] {
            case nil: return nil
            case .bytes(let b)?: return b
            case .varint?: throw ProtobufError("proto: wrong wireType = 0 for field \(name)")
            }
        }
    }

    /// Go's JSON encoder refuses years outside 0...9999, so such a body could never be stored;
    /// rejecting them here also keeps the date arithmetic in range.
    private static let secondsRange: ClosedRange<Int64> = -62_167_219_200...253_402_300_799

    /// `metav1.Time` {seconds 1, nanos 2}: whole seconds, since Go drops the nanoseconds when it
    /// decodes (its JSON form has none). `metav1.MicroTime` keeps microseconds, truncated.
    static func time(_ fields: Fields, micro: Bool) throws(ProtobufError) -> JSONValue {
        if fields.isEmpty { return .null }
        let seconds = Int64(bitPattern: try fields.varint(1, "seconds") ?? 0)
        let nanos = Int64(Int32(truncatingIfNeeded: try fields.varint(2, "nanos") ?? 0))
        guard secondsRange.contains(seconds) else {
            throw ProtobufError("Time.MarshalJSON: year outside of range [0,9999]")
        }
        guard micro else { return .string(RFC3339.string(from: Date(timeIntervalSince1970: Double(seconds)))) }
        // Nanos may be negative or exceed a second; Go normalizes them into the seconds.
        let totalMicros = seconds * 1_000_000 + nanos / 1000
        let wholeSeconds = totalMicros >= 0 ? totalMicros / 1_000_000 : -((-totalMicros + 999_999) / 1_000_000)
        guard secondsRange.contains(wholeSeconds) else {
            throw ProtobufError("Time.MarshalJSON: year outside of range [0,9999]")
        }
        let fraction = String(totalMicros - wholeSeconds * 1_000_000)
        let text = RFC3339.string(from: Date(timeIntervalSince1970: Double(wholeSeconds)))
        return .string(text.dropLast() + "." + String(repeating: "0", count: 6 - fraction.count) + fraction + "Z")
    }

    /// `resource.Quantity` {string 1}. Go writes the zero Quantity as "0".
    static func quantity(_ fields: Fields) throws(ProtobufError) -> JSONValue {
        .string(try fields.bytes(1, "string").map { String(decoding: $0, as: UTF8.self) } ?? "0")
    }

    /// `intstr.IntOrString` {type 1, intVal 2, strVal 3}: a JSON number or string by `type`.
    static func intOrString(_ fields: Fields) throws(ProtobufError) -> JSONValue {
        switch try fields.varint(1, "type") ?? 0 {
        case 0: return .int(Int64(Int32(truncatingIfNeeded: try fields.varint(2, "intVal") ?? 0)))
        case 1: return .string(String(decoding: try fields.bytes(3, "strVal") ?? [], as: UTF8.self))
        default: throw ProtobufError("impossible IntOrString.Type")
        }
    }

    /// `runtime.RawExtension` and `metav1.FieldsV1` {raw 1}: JSON bytes embedded as they are;
    /// none at all marshals to null.
    static func rawJSON(_ fields: Fields) throws(ProtobufError) -> JSONValue {
        guard let raw = try fields.bytes(1, "raw"), !raw.isEmpty else { return .null }
        do {
            return try JSONParser.parse(Array(raw)).value
        } catch {
            throw ProtobufError("embedded object is not valid JSON: \(error)")
        }
    }

    /// `[]byte` fields, as Go's JSON encoder writes them: standard base64 with padding.
    static func base64(_ bytes: ArraySlice<UInt8>) -> String {
        Data(bytes).base64EncodedString()
    }
}
