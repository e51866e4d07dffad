/// One problem with one field, worded as Kubernetes' `field.Error` words it, so 422 Invalid
/// responses read exactly like upstream ones.
public struct FieldError: Error, Sendable, Equatable {
    public enum Kind: String, Sendable {
        case required = "FieldValueRequired"
        case invalid = "FieldValueInvalid"
        case notSupported = "FieldValueNotSupported"
        case duplicate = "FieldValueDuplicate"
        case forbidden = "FieldValueForbidden"
        case tooLong = "FieldValueTooLong"
        case notFound = "FieldValueNotFound"
        case typeInvalid = "FieldValueTypeInvalid"
        case tooMany = "FieldValueTooMany"
    }

    public var kind: Kind
    /// The field path, e.g. `spec.template.spec.containers[0].name`.
    public var field: String
    public var value: JSONValue?
    public var detail: String

    public init(_ kind: Kind, field: String, value: JSONValue? = nil, detail: String = "") {
        self.kind = kind
        self.field = field
        self.value = value
        self.detail = detail
    }

    public static func required(_ field: String, _ detail: String = "") -> FieldError { .init(.required, field: field, detail: detail) }
    public static func invalid(_ field: String, _ value: JSONValue?, _ detail: String) -> FieldError { .init(.invalid, field: field, value: value, detail: detail) }
    public static func forbidden(_ field: String, _ detail: String) -> FieldError { .init(.forbidden, field: field, detail: detail) }
    public static func duplicate(_ field: String, _ value: JSONValue?) -> FieldError { .init(.duplicate, field: field, value: value) }
    public static func notSupported(_ field: String, _ value: JSONValue?, _ supported: [String]) -> FieldError {
        .init(.notSupported, field: field, value: value, detail: "supported values: " + supported.map { "\"\($0)\"" }.joined(separator: ", "))
    }

    /// The text of the error alone, without the field: e.g. `Required value`,
    /// `Invalid value: "Foo": a lowercase RFC 1123 subdomain must ...`.
    public var errorBody: String {
        switch kind {
        case .required, .forbidden, .tooLong, .notFound:
            let head: String
            switch kind {
            case .required: head = "Required value"
            case .forbidden: head = "Forbidden"
            case .tooLong: head = "Too long"
            default: head = "Not found"
            }
            if kind == .notFound, let value { return detail.isEmpty ? "\(head): \(Self.render(value))" : "\(head): \(Self.render(value)): \(detail)" }
            return detail.isEmpty ? head : "\(head): \(detail)"
        case .invalid, .notSupported, .duplicate, .typeInvalid, .tooMany:
            let head: String
            switch kind {
            case .invalid: head = "Invalid value"
            case .notSupported: head = "Unsupported value"
            case .duplicate: head = "Duplicate value"
            case .tooMany: head = "Too many"
            default: head = "Invalid value"
            }
            var text = head
            if let value { text += ": " + Self.render(value) }
            if !detail.isEmpty { text += ": " + detail }
            return text
        }
    }

    /// `field: body`, the form inside a 422 message.
    public var message: String { "\(field): \(errorBody)" }

    /// Values print as Go's `%#v` would for the common cases: strings quoted, numbers bare.
    static func render(_ value: JSONValue) -> String {
        switch value {
        case .string(let s): return "\"\(s)\""
        case .int(let i): return String(i)
        case .double(let d): return JSONWriter.formatDouble(d)
        case .bool(let b): return String(b)
        case .null: return "null"
        default: return JSONWriter.string(value)
        }
    }
}
