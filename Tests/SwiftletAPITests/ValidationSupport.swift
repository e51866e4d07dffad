import SwiftletAPI
import SwiftletMachinery

/// Validates a manifest as the server does: decoded, defaulted, then checked.
func validationMessages(_ group: String, _ kind: String, _ json: String, old: String? = nil) throws -> [String] {
    var object = try JSONParser.parse(json)
    Catalogue.defaults(group: group, kind: kind, to: &object)
    var previous: JSONValue?
    if let old {
        var value = try JSONParser.parse(old)
        Catalogue.defaults(group: group, kind: kind, to: &value)
        previous = value
    }
    return Catalogue.validate(group: group, kind: kind, object: object, old: previous).map(\.message)
}

enum ValidationText {
    static let subdomain = #"a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"#
    static let label = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
    static let rfc1035 = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
    static let labelValue = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
    static let configKey = "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
    static let percent = "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')"

    /// A pod spec that passes validation, to vary one field at a time.
    static func podSpec(containers: String = #"[{"name":"app","image":"nginx:1.27"}]"#, extra: String = "") -> String {
        #"{"containers":\#(containers)\#(extra.isEmpty ? "" : "," + extra)}"#
    }

    static func pod(name: String = "web", spec: String = podSpec()) -> String {
        #"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"\#(name)","namespace":"default"},"spec":\#(spec)}"#
    }
}
