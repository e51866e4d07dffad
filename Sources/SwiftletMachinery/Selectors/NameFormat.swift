/// The string formats of k8s.io/apimachinery/pkg/util/validation, returning upstream's exact
/// messages: selectors, object metadata and specs all quote these words back to clients, and
/// kubectl users compare them with what a real cluster says.
///
/// Matching is by byte, as Go's regexp does on these ASCII-only patterns, and lengths count UTF-8
/// bytes as Go's `len` does.
public enum NameFormat {
    static let qualifiedNamePattern = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
    static let labelValuePattern = "(" + qualifiedNamePattern + ")?"
    static let dns1123LabelPattern = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
    static let dns1123SubdomainPattern = dns1123LabelPattern + "(\\." + dns1123LabelPattern + ")*"
    static let dns1035LabelPattern = "[a-z]([-a-z0-9]*[a-z0-9])?"

    static let qualifiedNameMessage = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"

    /// A label key or annotation key: an optional DNS subdomain prefix and `/`, then a name.
    public static func qualifiedName(_ value: String) -> [String] {
        var errors: [String] = []
        let parts = value.split(separator: "/", omittingEmptySubsequences: false)
        let name: Substring
        switch parts.count {
        case 1:
            name = parts[0]
        case 2:
            let prefix = parts[0]
            name = parts[1]
            if prefix.isEmpty {
                errors.append("prefix part " + emptyError)
            } else {
                errors += dns1123Subdomain(String(prefix)).map { "prefix part " + $0 }
            }
        default:
            return ["a qualified name " + regexError(qualifiedNameMessage, qualifiedNamePattern, "MyName", "my.name", "123-abc")
                + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
        }
        if name.isEmpty {
            errors.append("name part " + emptyError)
        } else if name.utf8.count > 63 {
            errors.append("name part " + maxLengthError(63))
        }
        if !isQualifiedName(name.utf8) {
            errors.append("name part " + regexError(qualifiedNameMessage, qualifiedNamePattern, "MyName", "my.name", "123-abc"))
        }
        return errors
    }

    public static func labelValue(_ value: String) -> [String] {
        var errors: [String] = []
        if value.utf8.count > 63 { errors.append(maxLengthError(63)) }
        if !value.isEmpty && !isQualifiedName(value.utf8) {
            errors.append(regexError(
                "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
                labelValuePattern, "MyValue", "my_value", "12345"))
        }
        return errors
    }

    public static func dns1123Label(_ value: String) -> [String] {
        var errors: [String] = []
        if value.utf8.count > 63 { errors.append(maxLengthError(63)) }
        if !isDNS1123Label(value.utf8) {
            if isDNS1123Subdomain(value) {
                errors.append("must not contain dots")
            } else {
                errors.append(regexError(
                    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
                    dns1123LabelPattern, "my-name", "123-abc"))
            }
        }
        return errors
    }

    public static func dns1123Subdomain(_ value: String) -> [String] {
        var errors: [String] = []
        if value.utf8.count > 253 { errors.append(maxLengthError(253)) }
        if !isDNS1123Subdomain(value) {
            errors.append(regexError(
                "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
                dns1123SubdomainPattern, "example.com"))
        }
        return errors
    }

    public static func dns1035Label(_ value: String) -> [String] {
        var errors: [String] = []
        if value.utf8.count > 63 { errors.append(maxLengthError(63)) }
        let bytes = value.utf8
        let valid = bytes.first.map(isLowerAlpha) == true && bytes.last.map(isLowerAlnum) == true
            && bytes.allSatisfy { isLowerAlnum($0) || $0 == UInt8(ascii: "-") }
        if !valid {
            errors.append(regexError(
                "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character",
                dns1035LabelPattern, "my-name", "abc-123"))
        }
        return errors
    }

    /// Keys of ConfigMap and Secret data, which become file names in volumes.
    public static func configMapKey(_ value: String) -> [String] {
        var errors: [String] = []
        if value.utf8.count > 253 { errors.append(maxLengthError(253)) }
        let valid = !value.isEmpty && value.utf8.allSatisfy { isAlnum($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") }
        if !valid {
            errors.append(regexError("a valid config key must consist of alphanumeric characters, '-', '_' or '.'", "[-._a-zA-Z0-9]+", "key.name", "KEY_NAME", "key-name"))
        }
        return errors + chdirPrefixErrors(value)
    }

    /// An IANA service name, as container and service ports may be named.
    public static func portName(_ value: String) -> [String] {
        var errors: [String] = []
        let bytes = value.utf8
        if bytes.count > 15 { errors.append(maxLengthError(15)) }
        if bytes.isEmpty || !bytes.allSatisfy({ isLowerAlnum($0) || $0 == UInt8(ascii: "-") }) {
            errors.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
        }
        if !bytes.contains(where: isLowerAlpha) { errors.append("must contain at least one letter (a-z)") }
        if value.contains("--") { errors.append("must not contain consecutive hyphens") }
        if bytes.first == UInt8(ascii: "-") || bytes.last == UInt8(ascii: "-") { errors.append("must not begin or end with a hyphen") }
        return errors
    }

    public static func percent(_ value: String) -> [String] {
        let bytes = Array(value.utf8)
        if bytes.count >= 2, bytes.last == UInt8(ascii: "%"), bytes.dropLast().allSatisfy(isDigit) { return [] }
        return [regexError("a valid percent string must be a numeric string followed by an ending '%'", "[0-9]+%", "1%", "93%")]
    }

    public static func httpHeaderName(_ value: String) -> [String] {
        if !value.isEmpty && value.utf8.allSatisfy({ isAlnum($0) || $0 == UInt8(ascii: "-") }) { return [] }
        return [regexError("a valid HTTP header must consist of alphanumeric characters or '-'", "[-A-Za-z0-9]+", "X-Header-Name")]
    }

    /// Environment variable names as Kubernetes 1.34 accepts them (RelaxedEnvironmentVariableValidation is GA).
    public static func relaxedEnvVarName(_ value: String) -> [String] {
        var errors: [String] = []
        if value.isEmpty { errors.append("environment variable name " + emptyError) }
        if value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value > 0x7E || $0 == "=" }) {
            errors.append("a valid environment variable name must consist only of printable ASCII characters other than '='")
        }
        return errors
    }

    // MARK: - Message builders

    static let emptyError = "must be non-empty"

    public static func maxLengthError(_ length: Int) -> String { "must be no more than \(length) characters" }

    public static func inclusiveRangeError(_ low: Int64, _ high: Int64) -> String { "must be between \(low) and \(high), inclusive" }

    /// validation.RegexError, including its doubled space between examples.
    public static func regexError(_ message: String, _ pattern: String, _ examples: String...) -> String {
        if examples.isEmpty { return message + " (regex used for validation is '" + pattern + "')" }
        var text = message + " (e.g. "
        for (i, example) in examples.enumerated() {
            if i > 0 { text += " or " }
            text += "'" + example + "', "
        }
        return text + "regex used for validation is '" + pattern + "')"
    }

    static func chdirPrefixErrors(_ value: String) -> [String] {
        if value == "." { return ["must not be '.'"] }
        if value == ".." { return ["must not be '..'"] }
        if value.hasPrefix("..") { return ["must not start with '..'"] }
        return []
    }

    // MARK: - Byte classes

    static func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }
    static func isLowerAlpha(_ b: UInt8) -> Bool { b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z") }
    static func isLowerAlnum(_ b: UInt8) -> Bool { isLowerAlpha(b) || isDigit(b) }
    static func isAlnum(_ b: UInt8) -> Bool { isLowerAlnum(b) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z")) }

    static func isQualifiedName<C: Collection<UInt8>>(_ bytes: C) -> Bool {
        guard let first = bytes.first, isAlnum(first), let last = bytes.reversed().first, isAlnum(last) else { return false }
        return bytes.allSatisfy { isAlnum($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") }
    }

    static func isDNS1123Label<C: Collection<UInt8>>(_ bytes: C) -> Bool {
        guard let first = bytes.first, isLowerAlnum(first), let last = bytes.reversed().first, isLowerAlnum(last) else { return false }
        return bytes.allSatisfy { isLowerAlnum($0) || $0 == UInt8(ascii: "-") }
    }

    static func isDNS1123Subdomain(_ value: String) -> Bool {
        value.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false).allSatisfy { isDNS1123Label($0) }
    }
}
