/// Why a patch could not be applied, sorted by the HTTP status Kubernetes answers with.
///
/// The three cases follow the API server's patch handler (k8s.io/apiserver
/// `pkg/endpoints/handlers/patch.go`) rather than the patch libraries, because clients such
/// as kubectl print the `metav1.Status` they get back and scripts match on its code:
///
/// - `malformed`: the body is not a patch of its type (a JSON patch that is not an array of
///   objects, a merge patch that is not an object, a strategic patch whose directives are
///   badly formed). Upstream answers 400 BadRequest with the message.
/// - `inapplicable`: a well-formed patch that does not fit the object (a JSON patch operation
///   on a missing path, a failed `test`, a strategic list of lists). Upstream answers
///   `NewGenericServerResponse(422, ...)`, which drops the detail and says only "the server
///   rejected our request due to an error in our request"; the detail stays in `message` for logs.
/// - `unmergeable`: a strategic merge failure that upstream does not classify (missing merge
///   key, unknown `$patch` value, `$setElementOrder` out of step with the list). It reaches
///   the client as a plain error: 500 with no reason and the raw message.
/// - `tooLarge`: a JSON patch of more operations, or copying more bytes, than the server
///   takes; 413 RequestEntityTooLarge.
public enum PatchError: Error, Sendable, Equatable, CustomStringConvertible {
    case malformed(String)
    case inapplicable(String)
    case unmergeable(String)
    /// A patch past the API server's bounds (operations, bytes copied): 413.
    case tooLarge(String)

    public var message: String {
        switch self {
        case .malformed(let m), .inapplicable(let m), .unmergeable(let m), .tooLarge(let m): return m
        }
    }

    public var description: String { message }

    /// The Status the API server answers with for this error.
    public var apiError: APIError {
        switch self {
        case .malformed(let m):
            return .badRequest(m)
        case .inapplicable:
            // StatusDetails is non-nil but empty upstream, so the body carries `"details":{}`.
            return APIError(code: 422, reason: "Invalid",
                            message: "the server rejected our request due to an error in our request",
                            details: .object(JSONObject()))
        case .unmergeable(let m):
            // A non-Status error: ErrorToAPIStatus gives code 500 and StatusReasonUnknown ("").
            return APIError(code: 500, reason: "", message: m)
        case .tooLarge(let m):
            return APIError(code: 413, reason: "RequestEntityTooLarge", message: "Request entity too large: \(m)")
        }
    }
}

extension JSONValue {
    /// The value as Go's `%v` prints decoded JSON (`map[name:web port:80]`, `[a b]`), because
    /// strategic merge errors embed patch fragments that way and reach clients verbatim.
    var goDescription: String {
        switch self {
        case .null: return "<nil>"
        case .bool(let b): return String(b)
        case .int(let i): return String(i)
        case .double(let d): return JSONWriter.formatDouble(d)
        case .string(let s): return s
        case .array(let a): return "[" + a.map(\.goDescription).joined(separator: " ") + "]"
        case .object(let o):
            return "map[" + o.sortedByKey.map { "\($0.key):\($0.value.goDescription)" }.joined(separator: " ") + "]"
        }
    }

    /// The Go type a decoded JSON value has, as `reflect.TypeOf` names it in "expected a X,
    /// but received a Y" errors. Kubernetes decodes whole numbers as int64.
    var goTypeDescription: String {
        switch self {
        case .null: return "<nil>"
        case .bool: return "bool"
        case .int: return "int64"
        case .double: return "float64"
        case .string: return "string"
        case .array: return "[]interface {}"
        case .object: return "map[string]interface {}"
        }
    }
}
