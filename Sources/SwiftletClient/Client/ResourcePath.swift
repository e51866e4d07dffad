import SwiftletAPI

/// Request URIs as client-go's REST client builds them: `/api/v1/...` for the core group,
/// `/apis/{group}/{version}/...` otherwise, with `namespaces/{ns}/` for namespaced resources.
struct ResourcePath {
    var resource: ResourceInfo
    var namespace: String?
    var name: String?
    var subresource: String?
    var query: [(String, String)] = []

    var uri: String {
        var path = resource.group.isEmpty ? "/api/\(resource.version)" : "/apis/\(resource.group)/\(resource.version)"
        if resource.namespaced, let namespace { path += "/namespaces/\(Self.escape(namespace))" }
        path += "/\(resource.resource)"
        if let name { path += "/\(Self.escape(name))" }
        if let subresource { path += "/\(subresource)" }
        guard !query.isEmpty else { return path }
        return path + "?" + query.map { "\($0.0)=\(Self.escape($0.1))" }.joined(separator: "&")
    }

    /// Percent-encodes everything but RFC 3986's unreserved characters: selectors carry
    /// spaces, `=`, `!`, `,` and parentheses, which must reach the server as written.
    static func escape(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += "%" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true)
            }
        }
        return out
    }
}
