import SwiftletMachinery

/// A field path as upstream's field.Path prints it: `spec.containers[0].ports[1].name`,
/// map keys in brackets (`metadata.labels[app]`).
struct ValidationPath: CustomStringConvertible, Sendable {
    let description: String

    init(_ root: String) { description = root }

    func child(_ names: String...) -> ValidationPath {
        ValidationPath(names.reduce(description) { $0.isEmpty ? $1 : $0 + "." + $1 })
    }

    func index(_ i: Int) -> ValidationPath { ValidationPath("\(description)[\(i)]") }

    func key(_ key: String) -> ValidationPath { ValidationPath("\(description)[\(key)]") }
}

/// Lenient reads of decoded JSON: a value of the wrong type reads as absent, since type errors
/// are reported earlier, when the request body is checked against the schema.
public enum FieldRead {
    public static func string(_ value: JSONValue?) -> String { value?.stringValue ?? "" }

    public static func objects(_ value: JSONValue?) -> [JSONValue] { (value?.arrayValue ?? []).filter { $0.objectValue != nil } }

    public static func strings(_ value: JSONValue?) -> [String] { (value?.arrayValue ?? []).compactMap(\.stringValue) }

    public static func map(_ value: JSONValue?) -> JSONObject { value?.objectValue ?? JSONObject() }

    public static func isSet(_ value: JSONValue?) -> Bool {
        if let value, !value.isNull { return true }
        return false
    }
}

/// Values as upstream's field errors print them. Since 1.32 a non-scalar bad value is printed as
/// its Go JSON encoding, so maps come out with sorted keys and structs in declaration order.
enum GoValue {
    /// A map[string]string, e.g. template labels; `null` when absent.
    static func stringMap(_ value: JSONValue?) -> JSONValue {
        guard let map = value?.objectValue else { return .null }
        var sorted = JSONObject()
        for (key, item) in map.sortedByKey { sorted[key] = .string(item.stringValue ?? "") }
        return .object(sorted)
    }

    /// A *metav1.LabelSelector: matchLabels then matchExpressions, empty fields left out.
    static func labelSelector(_ value: JSONValue?) -> JSONValue {
        guard let value, value.objectValue != nil else { return .null }
        var out = JSONObject()
        if !FieldRead.map(value["matchLabels"]).isEmpty { out["matchLabels"] = stringMap(value["matchLabels"]) }
        let expressions = FieldRead.objects(value["matchExpressions"])
        if !expressions.isEmpty {
            out["matchExpressions"] = .array(expressions.map { expression in
                var item = JSONObject()
                item["key"] = .string(FieldRead.string(expression["key"]))
                item["operator"] = .string(FieldRead.string(expression["operator"]))
                let values = FieldRead.strings(expression["values"])
                if !values.isEmpty { item["values"] = .array(values.map { .string($0) }) }
                return .object(item)
            })
        }
        return .object(out)
    }

    /// Semantic equality of two label selectors (nil and empty collections are equal).
    static func sameSelector(_ a: JSONValue?, _ b: JSONValue?) -> Bool {
        let aIsNil = !FieldRead.isSet(a), bIsNil = !FieldRead.isSet(b)
        if aIsNil || bIsNil { return aIsNil == bIsNil }
        return labelSelector(a) == labelSelector(b)
    }

    /// An internal-version struct (no JSON tags), e.g. apps.DeploymentStrategy: Go field names.
    static func goStruct(_ fields: [(String, JSONValue)]) -> JSONValue { .object(JSONObject(fields)) }
}

/// Checks shared by several kinds.
enum CommonRules {
    static let negativeMessage = "must be greater than or equal to 0"
    static let immutableMessage = "field is immutable"

    static func nonNegative(_ value: JSONValue?, _ path: ValidationPath) -> [FieldError] {
        guard let number = value?.intValue, number < 0 else { return [] }
        return [.invalid(path.description, .int(number), negativeMessage)]
    }

    static func dns1123Label(_ value: String, _ path: ValidationPath) -> [FieldError] {
        NameFormat.dns1123Label(value).map { .invalid(path.description, .string(value), $0) }
    }

    static func dns1123Subdomain(_ value: String, _ path: ValidationPath) -> [FieldError] {
        NameFormat.dns1123Subdomain(value).map { .invalid(path.description, .string(value), $0) }
    }

    static func qualifiedName(_ value: String, _ path: ValidationPath) -> [FieldError] {
        NameFormat.qualifiedName(value).map { .invalid(path.description, .string(value), $0) }
    }

    /// NotSupported for a string field: "" is Required, anything else must be listed.
    static func oneOf(_ value: JSONValue?, _ supported: [String], _ path: ValidationPath) -> [FieldError] {
        let text = FieldRead.string(value)
        if text.isEmpty { return [.required(path.description)] }
        return supported.contains(text) ? [] : [.notSupported(path.description, .string(text), supported)]
    }

    /// ValidatePortNumOrName: a port number, or an IANA service name.
    static func portNumberOrName(_ value: JSONValue?, _ path: ValidationPath) -> [FieldError] {
        if let name = value?.stringValue {
            return NameFormat.portName(name).map { .invalid(path.description, .string(name), $0) }
        }
        let number = value?.intValue ?? 0
        return portNumber(number, path)
    }

    static func portNumber(_ number: Int64, _ path: ValidationPath) -> [FieldError] {
        (1...65535).contains(number) ? [] : [.invalid(path.description, .int(number), NameFormat.inclusiveRangeError(1, 65535))]
    }
}
