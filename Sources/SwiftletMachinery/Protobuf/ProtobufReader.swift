/// A cursor over protobuf wire-format bytes (https://protobuf.dev/programming-guides/encoding/).
///
/// Request bodies come from the network, so every read is bounds-checked and every failure is a
/// thrown `ProtobufError`, never a trap. Messages nest through `nested(_:)`, which counts depth,
/// so no input can drive a recursive decoder past `maxDepth`. Group skipping is iterative for
/// the same reason. Error texts follow Go's generated unmarshalers, which kube-apiserver
/// returns verbatim in its 400 responses.
public struct ProtobufReader: Sendable {
    public enum WireType: UInt8, Sendable {
        case varint = 0, fixed64 = 1, lengthDelimited = 2, startGroup = 3, endGroup = 4, fixed32 = 5
    }

    /// The largest field number protobuf allows (2^29 - 1).
    static let maxFieldNumber: UInt64 = 536_870_911

    private let bytes: ArraySlice<UInt8>
    private var index: Int
    /// How many messages enclose this one; the outermost reader is at 0.
    public let depth: Int
    public let maxDepth: Int

    public init(_ bytes: ArraySlice<UInt8>, maxDepth: Int = 100) {
        self.init(bytes, depth: 0, maxDepth: maxDepth)
    }

    public init(_ bytes: [UInt8], maxDepth: Int = 100) {
        self.init(bytes[...], maxDepth: maxDepth)
    }

    private init(_ bytes: ArraySlice<UInt8>, depth: Int, maxDepth: Int) {
        self.bytes = bytes
        self.index = bytes.startIndex
        self.depth = depth
        self.maxDepth = maxDepth
    }

    public var isAtEnd: Bool { index >= bytes.endIndex }

    /// A reader for an embedded message's bytes, one level deeper than this one.
    public func nested(_ bytes: ArraySlice<UInt8>) throws(ProtobufError) -> ProtobufReader {
        guard depth < maxDepth else { throw ProtobufError("proto: exceeded maximum recursion depth") }
        return ProtobufReader(bytes, depth: depth + 1, maxDepth: maxDepth)
    }

    /// The next field's number and wire type.
    public mutating func readTag() throws(ProtobufError) -> (number: Int, wireType: WireType) {
        let key = try readVarint()
        let number = key >> 3
        guard let wireType = WireType(rawValue: UInt8(key & 7)) else {
            throw ProtobufError("proto: illegal wireType \(key & 7)")
        }
        guard number > 0, number <= Self.maxFieldNumber else {
            throw ProtobufError("proto: illegal tag \(number) (wire type \(key & 7))")
        }
        return (Int(number), wireType)
    }

    public mutating func readVarint() throws(ProtobufError) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard shift < 64 else { throw ProtobufError.integerOverflow }
            guard index < bytes.endIndex else { throw ProtobufError.unexpectedEOF }
            let byte = bytes[index]
            index += 1
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return value }
            shift += 7
        }
    }

    public mutating func readFixed32() throws(ProtobufError) -> UInt32 {
        UInt32(truncatingIfNeeded: try readLittleEndian(count: 4))
    }

    public mutating func readFixed64() throws(ProtobufError) -> UInt64 {
        try readLittleEndian(count: 8)
    }

    /// A length-delimited field's payload: a string, bytes, an embedded message or a packed list.
    public mutating func readLengthDelimited() throws(ProtobufError) -> ArraySlice<UInt8> {
        let length = try readVarint()
        guard length <= UInt64(bytes.endIndex - index) else { throw ProtobufError.unexpectedEOF }
        let start = index
        index += Int(length)
        return bytes[start..<index]
    }

    /// Skips the value of a field this reader's caller does not know, groups included.
    public mutating func skip(_ wireType: WireType) throws(ProtobufError) {
        var groups = 0
        var wireType = wireType
        while true {
            switch wireType {
            case .varint: _ = try readVarint()
            case .fixed64: _ = try readFixed64()
            case .fixed32: _ = try readFixed32()
            case .lengthDelimited: _ = try readLengthDelimited()
            case .startGroup:
                groups += 1
                guard depth + groups <= maxDepth else { throw ProtobufError("proto: exceeded maximum recursion depth") }
            case .endGroup:
                guard groups > 0 else { throw ProtobufError("proto: unexpected end group") }
                groups -= 1
            }
            if groups == 0 { return }
            wireType = try readTag().wireType
        }
    }

    private mutating func readLittleEndian(count: Int) throws(ProtobufError) -> UInt64 {
        guard bytes.endIndex - index >= count else { throw ProtobufError.unexpectedEOF }
        var value: UInt64 = 0
        for i in 0..<count { value |= UInt64(bytes[index + i]) << (8 * UInt64(i)) }
        index += count
        return value
    }
}

/// Malformed protobuf input; `message` is worded as Go's decoder words it.
public struct ProtobufError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }

    static let unexpectedEOF = ProtobufError("unexpected EOF")
    static let integerOverflow = ProtobufError("proto: integer overflow")
}
