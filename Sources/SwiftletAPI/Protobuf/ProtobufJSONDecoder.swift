import SwiftletMachinery

/// Decodes one message's wire bytes into the JSON that Go's encoding/json writes for the same
/// object, guided by `ProtobufTable`.
struct ProtobufJSONDecoder {
    let table: ProtobufTable

    /// What one field has collected so far. A field may occur several times on the wire:
    /// scalars keep the last value, lists and maps accumulate, and a non-repeated message keeps
    /// every occurrence, because protobuf merges them (Go decodes each into the same struct).
    /// Kept in an array and mutated in place, so a long list is never copied while it grows.
    private struct Slot {
        var present = false
        var scalar: JSONValue = .null
        var parts: [ArraySlice<UInt8>] = []
        var items: [JSONValue] = []
        var mapKeys: [String] = []
        var mapValues: [String: JSONValue] = [:]
    }

    /// The message numbered `type`, given as the parts to merge (usually one).
    func object(_ type: Int, _ parts: [ArraySlice<UInt8>], in parent: ProtobufReader) throws(ProtobufError) -> JSONObject {
        let message = table.messages[type]
        // Where this message's own fields are decoded from, so they nest one level deeper.
        let level = try parent.nested([])
        var slots = [Slot](repeating: Slot(), count: message.fields.count)
        for part in parts {
            var reader = try parent.nested(part)
            while !reader.isAtEnd {
                let (number, wireType) = try reader.readTag()
                guard let position = message.positions[number] else {
                    try reader.skip(wireType)
                    continue
                }
                let field = message.fields[position]
                slots[position].present = true
                switch field.shape {
                case .single where field.value.isScalar:
                    slots[position].scalar = try scalar(field, wireType, &reader)
                case .single:
                    slots[position].parts.append(try payload(field, wireType, &reader))
                case .repeated:
                    try appendElements(field, wireType, &reader, to: &slots[position].items)
                case .map:
                    let (key, value) = try entry(field, try payload(field, wireType, &reader), in: reader)
                    if slots[position].mapValues.updateValue(value, forKey: key) == nil { slots[position].mapKeys.append(key) }
                }
            }
        }

        var result = JSONObject()
        for (field, slot) in zip(message.fields, slots) where slot.present {
            switch field.shape {
            case .single where field.value.isScalar:
                if field.omitZero && slot.scalar.isGoZero { continue }
                result[field.name] = slot.scalar
            case .single:
                if field.inline, case .message(let inner) = field.value {
                    for (key, value) in try object(inner, slot.parts, in: level) { result[key] = value }
                } else {
                    let decoded = try value(field.value, slot.parts, in: level)
                    if field.omitZero && decoded.isGoZero { continue }
                    result[field.name] = decoded
                }
            case .repeated: result[field.name] = .array(slot.items)
            case .map:
                var map = JSONObject()
                for key in slot.mapKeys { map[key] = slot.mapValues[key] }
                result[field.name] = .object(map)
            }
        }
        return result
    }

    private func scalar(_ field: ProtobufTable.Field, _ wireType: ProtobufReader.WireType,
                        _ reader: inout ProtobufReader) throws(ProtobufError) -> JSONValue {
        switch field.value {
        case .bool, .int32, .int64:
            guard wireType == .varint else { throw Self.wrongWireType(wireType, field) }
            return Self.number(field.value, try reader.readVarint())
        default:
            return try value(field.value, [try payload(field, wireType, &reader)], in: reader)
        }
    }

    private func payload(_ field: ProtobufTable.Field, _ wireType: ProtobufReader.WireType,
                         _ reader: inout ProtobufReader) throws(ProtobufError) -> ArraySlice<UInt8> {
        guard wireType == .lengthDelimited else { throw Self.wrongWireType(wireType, field) }
        return try reader.readLengthDelimited()
    }

    /// One element, or for numbers possibly a packed run of them (parsers must accept both).
    private func appendElements(_ field: ProtobufTable.Field, _ wireType: ProtobufReader.WireType,
                                _ reader: inout ProtobufReader, to items: inout [JSONValue]) throws(ProtobufError) {
        guard field.value.isNumber, wireType == .lengthDelimited else {
            items.append(try scalar(field, wireType, &reader))
            return
        }
        var packed = try reader.nested(try reader.readLengthDelimited())
        while !packed.isAtEnd { items.append(Self.number(field.value, try packed.readVarint())) }
    }

    /// A map entry: key 1, value 2. Either may be absent and then reads as its zero value.
    private func entry(_ field: ProtobufTable.Field, _ bytes: ArraySlice<UInt8>,
                       in parent: ProtobufReader) throws(ProtobufError) -> (String, JSONValue) {
        var reader = try parent.nested(bytes)
        var key = ""
        var value: JSONValue?
        let valueField = ProtobufTable.Field(number: 2, name: field.name, value: field.value, shape: .single)
        while !reader.isAtEnd {
            let (number, wireType) = try reader.readTag()
            switch number {
            case 1:
                guard wireType == .lengthDelimited else { throw Self.wrongWireType(wireType, field) }
                key = String(decoding: try reader.readLengthDelimited(), as: UTF8.self)
            case 2: value = try scalar(valueField, wireType, &reader)
            default: try reader.skip(wireType)
            }
        }
        if let value { return (key, value) }
        return (key, try self.value(field.value, [], in: reader))
    }

    /// A length-delimited value from the parts protobuf merges. Numbers come here only as the
    /// zero value of a map entry that left its value out.
    private func value(_ kind: ProtobufTable.Value, _ parts: [ArraySlice<UInt8>],
                       in parent: ProtobufReader) throws(ProtobufError) -> JSONValue {
        switch kind {
        case .string: return .string(String(decoding: parts.last ?? [], as: UTF8.self))
        case .bytes: return .string(ProtobufGoValues.base64(parts.last ?? []))
        case .message(let type): return .object(try object(type, parts, in: parent))
        case .time: return try ProtobufGoValues.time(try Self.fields(parts, in: parent), micro: false)
        case .microTime: return try ProtobufGoValues.time(try Self.fields(parts, in: parent), micro: true)
        case .quantity: return try ProtobufGoValues.quantity(try Self.fields(parts, in: parent))
        case .intOrString: return try ProtobufGoValues.intOrString(try Self.fields(parts, in: parent))
        case .rawJSON: return try ProtobufGoValues.rawJSON(try Self.fields(parts, in: parent))
        case .stringList: return try Self.strings(parts, in: parent)
        case .bool, .int32, .int64: return Self.number(kind, 0)
        }
    }

    /// Every `items` (field 1) string of a string-list message, across its merged parts.
    private static func strings(_ parts: [ArraySlice<UInt8>], in parent: ProtobufReader) throws(ProtobufError) -> JSONValue {
        var items: [JSONValue] = []
        for part in parts {
            var reader = try parent.nested(part)
            while !reader.isAtEnd {
                let (number, wireType) = try reader.readTag()
                if number == 1, wireType == .lengthDelimited {
                    items.append(.string(String(decoding: try reader.readLengthDelimited(), as: UTF8.self)))
                } else {
                    try reader.skip(wireType)
                }
            }
        }
        return .array(items)
    }

    /// The fields of a small fixed message (Timestamp, Quantity, IntOrString, RawExtension),
    /// merged across parts the protobuf way: the last occurrence of each number wins.
    private static func fields(_ parts: [ArraySlice<UInt8>],
                               in parent: ProtobufReader) throws(ProtobufError) -> ProtobufGoValues.Fields {
        var fields = ProtobufGoValues.Fields()
        for part in parts {
            var reader = try parent.nested(part)
            while !reader.isAtEnd {
                let (number, wireType) = try reader.readTag()
                switch wireType {
                case .varint: fields.values[number] = .varint(try reader.readVarint())
                case .lengthDelimited: fields.values[number] = .bytes(try reader.readLengthDelimited())
                default: try reader.skip(wireType)
                }
            }
            fields.isEmpty = fields.isEmpty && part.isEmpty
        }
        return fields
    }

    private static func number(_ kind: ProtobufTable.Value, _ raw: UInt64) -> JSONValue {
        switch kind {
        case .bool: return .bool(raw != 0)
        case .int32: return .int(Int64(Int32(truncatingIfNeeded: raw)))
        default: return .int(Int64(bitPattern: raw))
        }
    }

    private static func wrongWireType(_ wireType: ProtobufReader.WireType, _ field: ProtobufTable.Field) -> ProtobufError {
        ProtobufError("proto: wrong wireType = \(wireType.rawValue) for field \(field.name)")
    }
}

extension ProtobufTable.Value {
    fileprivate var isNumber: Bool {
        switch self {
        case .bool, .int32, .int64: return true
        default: return false
        }
    }

    /// Decoded on the spot rather than collected as parts to merge.
    fileprivate var isScalar: Bool { isNumber || self == .string || self == .bytes }
}

extension JSONValue {
    /// What `omitempty` drops: "", 0 and false; and what `omitzero` drops of a time: null.
    fileprivate var isGoZero: Bool {
        switch self {
        case .null: return true
        case .string(let s): return s.isEmpty
        case .int(let i): return i == 0
        case .bool(let b): return !b
        default: return false
        }
    }
}
