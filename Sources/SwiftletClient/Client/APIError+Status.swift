import SwiftletMachinery

extension APIError {
    /// The error a `metav1.Status` body describes; `httpCode` stands in when the body has no
    /// code (or is not a Status at all, like a proxy's error page).
    init(status: JSONValue, httpCode: Int) {
        let code = status["code"]?.intValue.map(Int.init) ?? httpCode
        self.init(code: code,
                  reason: status["reason"]?.stringValue ?? Self.reason(forCode: code),
                  message: status["message"]?.stringValue ?? "the server responded with status \(code)",
                  details: status["details"])
    }

    /// What kube-apiserver calls errors that carry no reason of their own.
    private static func reason(forCode code: Int) -> String {
        switch code {
        case 400: return "BadRequest"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "NotFound"
        case 405: return "MethodNotAllowed"
        case 409: return "Conflict"
        case 410: return "Expired"
        case 415: return "UnsupportedMediaType"
        case 422: return "Invalid"
        case 429: return "TooManyRequests"
        case 503: return "ServiceUnavailable"
        case 504: return "Timeout"
        default: return code >= 500 ? "InternalError" : "Unknown"
        }
    }
}
