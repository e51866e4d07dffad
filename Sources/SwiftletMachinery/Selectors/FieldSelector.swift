/// A field selector (`?fieldSelector=`, `kubectl --field-selector`), as k8s.io/apimachinery/pkg/fields
/// parses it: `field=value`, `field==value` and `field!=value` terms joined by commas, with `\`
/// escaping `,`, `=` and `\` inside values.
public struct FieldSelector: Sendable, Hashable, CustomStringConvertible {
    public struct Requirement: Sendable, Hashable {
        public var field: String
        /// True for `!=`.
        public var negated: Bool
        public var value: String

        public init(field: String, negated: Bool = false, value: String) {
            self.field = field
            self.negated = negated
            self.value = value
        }
    }

    /// In upstream's order: the terms sorted as written, bytewise.
    public let requirements: [Requirement]

    public static let everything = FieldSelector(requirements: [])

    public init(requirements: [Requirement]) { self.requirements = requirements }

    public static func parse(_ text: String) throws(SelectorParseError) -> FieldSelector {
        var requirements: [Requirement] = []
        for term in splitTerms(text).sorted(by: { $0.goPrecedes($1) }) where !term.isEmpty {
            guard let (field, op, raw) = splitTerm(term) else {
                throw SelectorParseError("invalid selector: '\(text)'; can't understand '\(term)'")
            }
            requirements.append(Requirement(field: field, negated: op == "!=", value: try unescape(raw)))
        }
        return FieldSelector(requirements: requirements)
    }

    /// The field names the selector uses, for the server to check against what a resource supports.
    public var fields: [String] { requirements.map(\.field) }

    public var isEverything: Bool { requirements.isEmpty }

    /// A field missing from `values` reads as "", as upstream's `Fields.Get` does.
    public func matches(_ values: [String: String]) -> Bool {
        requirements.allSatisfy { ($0.negated ? (!=) : (==))(values[$0.field] ?? "", $0.value) }
    }

    /// RequiresExactMatch: the value an `=` term pins the field to, e.g. `metadata.name`.
    public func requiredValue(for field: String) -> String? {
        requirements.first { $0.field == field && !$0.negated }?.value
    }

    public var description: String {
        requirements.map { "\($0.field)\($0.negated ? "!=" : "=")\(Self.escape($0.value))" }.joined(separator: ",")
    }

    static func escape(_ value: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in value.unicodeScalars {
            if scalar == "\\" || scalar == "," || scalar == "=" { out.append("\\") }
            out.append(scalar)
        }
        return String(out)
    }

    /// Splits at commas not preceded by a backslash.
    static func splitTerms(_ text: String) -> [String] {
        guard !text.isEmpty else { return [] }
        var terms: [String] = []
        var current = String.UnicodeScalarView()
        var escaped = false
        for scalar in text.unicodeScalars {
            if escaped {
                escaped = false
            } else if scalar == "\\" {
                escaped = true
            } else if scalar == "," {
                terms.append(String(current))
                current = String.UnicodeScalarView()
                continue
            }
            current.append(scalar)
        }
        terms.append(String(current))
        return terms
    }

    /// The first operator found scanning left to right, trying `!=`, `==`, `=` at each position.
    static func splitTerm(_ term: String) -> (String, String, String)? {
        let bytes = Array(term.utf8)
        for i in bytes.indices {
            for op in ["!=", "==", "="] where bytes[i...].starts(with: op.utf8) {
                let field = String(decoding: bytes[..<i], as: UTF8.self)
                let value = String(decoding: bytes[(i + op.utf8.count)...], as: UTF8.self)
                return (field, op, value)
            }
        }
        return nil
    }

    static func unescape(_ raw: String) throws(SelectorParseError) -> String {
        guard raw.contains(where: { $0 == "\\" || $0 == "," || $0 == "=" }) else { return raw }
        var out = ""
        var escaped = false
        for scalar in raw.unicodeScalars {
            if escaped {
                guard scalar == "\\" || scalar == "," || scalar == "=" else {
                    throw SelectorParseError("invalid field selector: invalid escape sequence: \\\(scalar)")
                }
                out.unicodeScalars.append(scalar)
                escaped = false
            } else if scalar == "\\" {
                escaped = true
            } else if scalar == "," || scalar == "=" {
                // Go prints the rune with %v, which is its code point number.
                throw SelectorParseError("invalid field selector: unescaped character in value: \(scalar.value)")
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        if escaped { throw SelectorParseError("invalid field selector: invalid escape sequence: \\") }
        return out
    }
}
