/// An error that the API server answers with a `metav1.Status` body.
public struct APIError: Error, Sendable, Equatable {
    public var code: Int
    public var reason: String
    public var message: String
    public var details: JSONValue?

    public init(code: Int, reason: String, message: String, details: JSONValue? = nil) {
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
    }

    // What apimachinery's `errors.IsNotFound` and its siblings answer, by reason as upstream
    // (a 404 for an unknown path has reason NotFound too).
    public var isNotFound: Bool { reason == "NotFound" }
    public var isAlreadyExists: Bool { reason == "AlreadyExists" }
    public var isConflict: Bool { reason == "Conflict" }
    public var isInvalid: Bool { reason == "Invalid" }
    public var isForbidden: Bool { reason == "Forbidden" }
    public var isTooManyRequests: Bool { reason == "TooManyRequests" || code == 429 }

    /// Whether sending the same request again may succeed without anyone changing it: server
    /// errors, conflicts, throttling and time-outs may; a 4xx that judges the request itself
    /// (bad, forbidden, invalid, too large, unsupported) will not. A missing object is left to
    /// the caller, which knows whether it expects it back. A JSON patch whose `test` failed is
    /// a 422 without causes: the object changed under the client, which is a conflict.
    public var isRetryable: Bool {
        switch code {
        case 422: return isPatchTestFailure
        case 400, 403, 405, 406, 413, 415: return false
        default: return true
        }
    }

    /// The 422 upstream answers when a JSON patch cannot apply (a failed `test`, a missing path):
    /// its details carry no causes.
    public var isPatchTestFailure: Bool {
        code == 422 && (details?["causes"]?.arrayValue ?? []).isEmpty
    }

    /// The `metav1.Status` object for this error.
    public var status: JSONValue {
        var s: JSONValue = [
            "kind": "Status", "apiVersion": "v1", "metadata": .object(JSONObject()),
            "status": "Failure", "message": .string(message), "reason": .string(reason),
        ]
        if let details { s["details"] = details }
        s["code"] = .int(Int64(code))
        return s
    }

    /// `details` as Kubernetes fills it: name, group and kind (the resource's plural name).
    static func details(name: String?, group: String, resource: String, uid: String? = nil, causes: [JSONValue]? = nil) -> JSONValue {
        var d = JSONValue.object(JSONObject())
        if let name { d["name"] = .string(name) }
        if !group.isEmpty { d["group"] = .string(group) }
        if !resource.isEmpty { d["kind"] = .string(resource) }
        if let uid { d["uid"] = .string(uid) }
        if let causes { d["causes"] = .array(causes) }
        return d
    }

    /// `pods "x"` or `deployments.apps "x"`: how Kubernetes names a resource in messages.
    static func qualified(_ resource: String, group: String) -> String {
        group.isEmpty ? resource : "\(resource).\(group)"
    }

    public static func notFound(group: String, resource: String, name: String) -> APIError {
        APIError(code: 404, reason: "NotFound", message: "\(qualified(resource, group: group)) \"\(name)\" not found",
                 details: details(name: name, group: group, resource: resource))
    }

    public static func alreadyExists(group: String, resource: String, name: String) -> APIError {
        APIError(code: 409, reason: "AlreadyExists", message: "\(qualified(resource, group: group)) \"\(name)\" already exists",
                 details: details(name: name, group: group, resource: resource))
    }

    public static func conflict(group: String, resource: String, name: String, detail: String) -> APIError {
        APIError(code: 409, reason: "Conflict",
                 message: "Operation cannot be fulfilled on \(qualified(resource, group: group)) \"\(name)\": \(detail)",
                 details: details(name: name, group: group, resource: resource))
    }

    /// 422 with one cause per field error, worded as upstream:
    /// `Deployment.apps "x" is invalid: [spec.replicas: Invalid value: -1: must be ..., ...]`.
    public static func invalid(group: String, kind: String, name: String, errors: [FieldError]) -> APIError {
        let qualifiedKind = group.isEmpty ? kind : "\(kind).\(group)"
        let body: String
        if errors.count == 1 {
            body = errors[0].message
        } else {
            body = "[" + errors.map(\.message).joined(separator: ", ") + "]"
        }
        let causes: [JSONValue] = errors.map { e in
            ["reason": .string(e.kind.rawValue), "message": .string(e.errorBody), "field": .string(e.field)]
        }
        var d = JSONValue.object(JSONObject())
        d["name"] = .string(name)
        if !group.isEmpty { d["group"] = .string(group) }
        d["kind"] = .string(kind)
        d["causes"] = .array(causes)
        return APIError(code: 422, reason: "Invalid", message: "\(qualifiedKind) \"\(name)\" is invalid: \(body)", details: d)
    }

    public static func badRequest(_ message: String) -> APIError {
        APIError(code: 400, reason: "BadRequest", message: message)
    }

    public static func methodNotAllowed(_ message: String) -> APIError {
        APIError(code: 405, reason: "MethodNotAllowed", message: message)
    }

    public static func unauthorized() -> APIError {
        APIError(code: 401, reason: "Unauthorized", message: "Unauthorized")
    }

    public static func forbidden(group: String, resource: String, name: String, detail: String) -> APIError {
        APIError(code: 403, reason: "Forbidden",
                 message: "\(qualified(resource, group: group)) \"\(name)\" is forbidden: \(detail)",
                 details: details(name: name, group: group, resource: resource))
    }

    /// apimachinery's `NewForbidden`: `pods "x" is forbidden: …`, `pods is forbidden: …` without
    /// a name, and `forbidden: …` for a path that names no resource.
    public static func forbidden(group: String, resource: String, name: String?, reason: String) -> APIError {
        let subject = resource.isEmpty ? "" : qualified(resource, group: group) + (name.map { " \"\($0)\"" } ?? "") + " is "
        return APIError(code: 403, reason: "Forbidden", message: "\(subject)forbidden: \(reason)",
                        details: details(name: name, group: group, resource: resource))
    }

    public static func gone(_ message: String) -> APIError {
        APIError(code: 410, reason: "Expired", message: message)
    }

    public static func unsupportedMediaType(_ contentType: String) -> APIError {
        APIError(code: 415, reason: "UnsupportedMediaType", message: "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf")
    }

    public static func internalError(_ message: String) -> APIError {
        APIError(code: 500, reason: "InternalError", message: "Internal error occurred: \(message)")
    }

    public static func notFoundPath() -> APIError {
        APIError(code: 404, reason: "NotFound", message: "the server could not find the requested resource", details: .object(JSONObject()))
    }

    public static func tooManyRequests(_ message: String) -> APIError {
        APIError(code: 429, reason: "TooManyRequests", message: message)
    }
}
