/// The parsed form of `KubernetesProtobuf.data`: every message Swiftlet can decode, with its
/// fields' numbers, JSON names and value kinds. Messages refer to each other by index, so
/// decoding never looks anything up by name.
final class ProtobufTable: Sendable {
    enum Value: Sendable, Equatable {
        case string, bool, int32, int64, bytes
        /// `metav1.Time`, `metav1.MicroTime`: a Timestamp message, written as RFC 3339.
        case time, microTime
        /// `resource.Quantity`: a message around the quantity's string.
        case quantity
        case intOrString
        /// `runtime.RawExtension`, `metav1.FieldsV1`: a message around JSON bytes.
        case rawJSON
        /// A Go named slice of strings (`authentication/v1.ExtraValue`): on the wire a
        /// message of `repeated string items = 1`, in JSON just the strings.
        case stringList
        case message(Int)
    }

    enum Shape: Sendable { case single, repeated, map }

    struct Field: Sendable {
        var number: Int
        var name: String
        var value: Value
        var shape: Shape
        /// Go clients always send this field, and Go's JSON drops its zero value: a non-pointer
        /// `omitempty` scalar, or an `omitzero` time.
        var omitZero = false
        /// An embedded struct whose members Go's JSON writes into the enclosing object.
        var inline = false
    }

    struct Message: Sendable {
        var name: String
        /// In Go struct order, the order JSON objects are built in.
        var fields: [Field]
        /// Field number to position in `fields`.
        var positions: [Int: Int]
    }

    let kinds: [String: Int]
    let messages: [Message]

    init(text: String) {
        func corrupt(_ what: Substring) -> Never {
            fatalError("KubernetesProtobufData is corrupt at \"\(what)\"; regenerate it with tools/gen-proto-schema.py")
        }
        var lines = text.split(separator: "\n")
        guard !lines.isEmpty else { corrupt("") }
        var kinds: [String: Int] = [:]
        for entry in lines.removeFirst().split(separator: " ") {
            let parts = entry.split(separator: "=")
            guard parts.count == 2, let index = Int(parts[1]) else { corrupt(entry) }
            kinds[String(parts[0])] = index
        }
        self.kinds = kinds
        messages = lines.map { line in
            var words = line.split(separator: " ")
            let name = String(words.removeFirst())
            let fields = words.map { word -> Field in
                guard let field = Self.field(word) else { corrupt(word) }
                return field
            }
            let positions = Dictionary(uniqueKeysWithValues: fields.enumerated().map { ($0.element.number, $0.offset) })
            return Message(name: name, fields: fields, positions: positions)
        }
        for (key, index) in kinds where !messages.indices.contains(index) { corrupt(Substring(key)) }
        for message in messages {
            for field in message.fields {
                if case .message(let index) = field.value, !messages.indices.contains(index) { corrupt(Substring(field.name)) }
            }
        }
    }

    /// `number=name:kind[flags]`, as the generator's header describes.
    private static func field(_ word: Substring) -> Field? {
        guard let equals = word.firstIndex(of: "="), let colon = word.firstIndex(of: ":"), equals < colon,
              let number = Int(word[..<equals])
        else { return nil }
        var kind = word[word.index(after: colon)...]
        var shape = Shape.single
        if kind.first == "*" { shape = .repeated } else if kind.first == "%" { shape = .map }
        if shape != .single { kind = kind.dropFirst() }
        let inline = kind.last == "^"
        let omitZero = kind.last == "?"
        if inline || omitZero { kind = kind.dropLast() }
        let value: Value
        switch kind {
        case "s": value = .string
        case "b": value = .bool
        case "i": value = .int32
        case "l": value = .int64
        case "y": value = .bytes
        case "t": value = .time
        case "m": value = .microTime
        case "q": value = .quantity
        case "n": value = .intOrString
        case "j": value = .rawJSON
        case "a": value = .stringList
        default:
            guard let index = Int(kind) else { return nil }
            value = .message(index)
        }
        return Field(number: number, name: String(word[word.index(after: equals)..<colon]), value: value,
                     shape: shape, omitZero: omitZero, inline: inline)
    }
}
