import NIOHTTP1
import SwiftletAPI

/// What a resource URL names, as upstream's RequestInfoFactory splits it:
/// `/api/v1/namespaces/{ns}/{resource}/{name}/{subresource}` and `/apis/{group}/{version}/...`.
struct APIRequestInfo {
    var group: String
    var version: String
    var resource: String
    var namespace: String?
    var name: String?
    var subresource: String?

    /// Parses a resource path; nil when it is not one (discovery and other paths).
    init?(path: String) {
        var segments = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        guard let root = segments.first else { return nil }
        segments.removeFirst()
        switch root {
        case "api":
            guard segments.count >= 2 else { return nil }
            group = ""
            version = segments.removeFirst()
        case "apis":
            guard segments.count >= 3 else { return nil }
            group = segments.removeFirst()
            version = segments.removeFirst()
        default:
            return nil
        }
        // `namespaces/{ns}/{resource}...` is a namespaced resource, except the namespace's own
        // subresources `namespaces/{name}/status` and `/finalize`.
        if segments.count >= 3, segments[0] == "namespaces", !(segments.count == 3 && (segments[2] == "status" || segments[2] == "finalize")) {
            namespace = segments[1]
            segments.removeFirst(2)
        }
        guard !segments.isEmpty, segments.count <= 3 else { return nil }
        resource = segments[0]
        name = segments.count > 1 ? segments[1] : nil
        subresource = segments.count > 2 ? segments[2] : nil
    }
}
