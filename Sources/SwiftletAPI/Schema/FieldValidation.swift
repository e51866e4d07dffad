import SwiftletMachinery

/// Field validation as kube-apiserver does it while decoding a body into its Go struct:
/// unknown and duplicate fields (reported or not according to `fieldValidation`), and values
/// of the wrong JSON type (always a 400).
///
/// Upstream finds these with sigs.k8s.io/json (create, update, merge and JSON patch) or with
/// the unstructured converter (strategic merge patch), and its messages are those decoders'
/// words with Go type names in them. `check` walks the object against the schema the same way
/// and words every finding the same way; see `KubernetesSchema` for how the server calls it.
public enum FieldValidation {
    /// The `fieldValidation` query parameter.
    public enum Directive: String, Sendable {
        case ignore = "Ignore", warn = "Warn", strict = "Strict"
    }

    /// Which upstream decoder the object would have gone through; they differ in wording and order.
    public enum Mode: Sendable {
        /// A create or update body, decoded by sigs.k8s.io/json. Duplicate keys are the body's
        /// and are reported where the decoder meets them, unless they sit where the decoder
        /// does not look (an unknown field, a RawExtension).
        case body
        /// The object a JSON merge patch or JSON patch produced, decoded like a body. Duplicate
        /// keys are the patch's, and upstream lists them before the object's unknown fields.
        case mergePatch
        /// The object a strategic merge patch produced, which upstream converts from a map
        /// with runtime.DefaultUnstructuredConverter: unknown fields come sorted and type
        /// errors are worded by the converter. Duplicate keys are the patch's, listed first.
        case strategicMergePatch
    }

    /// Everything Go's decoder would object to in `object`, decoded as `schema`.
    ///
    /// Clean objects, the usual case, take one allocation-free walk; only when that walk finds
    /// something (or there are duplicate keys to place) does a second walk build paths.
    public static func check(_ object: JSONValue, duplicateKeys: [String], schema: SchemaNode,
                             mode: Mode = .body) -> FieldValidationResult {
        let nodes = schema.table.nodes
        let problems = TypeProblems(nodes: nodes, mode: mode)
        if duplicateKeys.isEmpty, problems.isClean(object, schema.index) { return FieldValidationResult() }

        var collector = Collector(problems: problems)
        if mode == .body {
            for key in duplicateKeys { collector.pendingDuplicates[key, default: 0] += 1 }
        }
        collector.visit(object, schema.index)
        var result = collector.result
        result.strictErrors = collector.strict.list
        result.decodeError = collector.firstFatal ?? collector.firstSaved
        switch mode {
        case .body:
            break
        case .mergePatch, .strategicMergePatch:
            // The patch was unmarshalled on its own first, so its duplicates come first; each
            // decoder run keeps at most 100 distinct strict errors.
            result.duplicates = duplicateKeys
            var patchErrors = StrictErrors()
            for key in duplicateKeys { patchErrors.add("duplicate field " + GoText.quote(key)) }
            if mode == .strategicMergePatch {
                // The converter words them with %s, not strconv.Quote, and sorts them.
                let unknown = result.unknown.map { "unknown field \"\($0)\"" }
                result.strictErrors = patchErrors.list + unknown.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            } else {
                result.strictErrors = patchErrors.list + result.strictErrors
            }
        }
        return result
    }

    /// `object` without the fields its schema does not know, which is what upstream stores
    /// under fieldValidation Ignore or Warn: the Go struct it decodes into has nowhere to keep
    /// them. Unchanged subtrees are shared, not copied.
    public static func removingUnknownFields(_ object: JSONValue, schema: SchemaNode) -> JSONValue {
        pruned(object, schema.index, schema.table.nodes) ?? object
    }

    /// The 400 message for a body upstream cannot decode: `kind` and `version` are the body's own.
    public static func cannotBeHandled(kind: String, version: String, detail: String) -> String {
        "\(kind) in version \"\(version)\" cannot be handled as a \(kind): \(detail)"
    }

    /// A value as Go's `fmt.Sprintf("%+v", v)` prints the `map[string]interface{}` a JSON
    /// document decodes to, which is how upstream shows a strategic merge patch in errors:
    /// `map[spec:map[replicas:abc]]`.
    public static func goMapText(_ value: JSONValue) -> String {
        switch value {
        case .null: return "<nil>"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d): return goFloatText(d)
        case .string(let s): return s
        case .array(let a): return "[" + a.map(goMapText).joined(separator: " ") + "]"
        case .object(let o): return "map[" + o.sortedByKey.map { "\($0.key):\(goMapText($0.value))" }.joined(separator: " ") + "]"
        }
    }

    /// `%v` of a float64: strconv's shortest 'g', which switches to an exponent below 1e-4 or from 1e6.
    static func goFloatText(_ d: Double) -> String {
        if d.isNaN { return "NaN" }
        if d.isInfinite { return d < 0 ? "-Inf" : "+Inf" }
        let (digits, point) = shortestDigits(d)
        return point - 1 < -4 || point - 1 >= 6 ? exponentForm(d, digits, point) : fixedForm(d, digits, point)
    }

    /// A float64 as encoding/json writes it: the converter re-marshals values for types with
    /// their own UnmarshalJSON, so `3.0` reaches IntOrString as `3`.
    static func goJSONNumber(_ d: Double) -> String {
        let (digits, point) = shortestDigits(d)
        guard abs(d) < 1e-6 || abs(d) >= 1e21, d != 0 else { return fixedForm(d, digits, point) }
        // encoding/json trims strconv's e-07 to e-7.
        return exponentForm(d, digits, point, padNegative: false)
    }

    /// The shortest digits of |d| that read back as d, and where the decimal point goes in them.
    /// Swift prints the same digits Go does, only laid out differently.
    private static func shortestDigits(_ d: Double) -> (digits: String, point: Int) {
        if d == 0 { return ("0", 1) }
        let parts = abs(d).description.split(separator: "e")
        let mantissa = parts[0]
        var digits = Array(mantissa.filter { $0 != "." })
        var point = mantissa.firstIndex(of: ".").map { mantissa.distance(from: mantissa.startIndex, to: $0) } ?? mantissa.count
        if parts.count > 1 { point += Int(parts[1])! }
        while digits.count > 1, digits.first == "0" { digits.removeFirst(); point -= 1 }
        while digits.count > 1, digits.last == "0" { digits.removeLast() }
        return (String(digits), point)
    }

    /// strconv's 'e' layout: one digit before the point, and an exponent of at least two digits.
    private static func exponentForm(_ d: Double, _ digits: String, _ point: Int, padNegative: Bool = true) -> String {
        let exponent = point - 1
        let rest = digits.dropFirst()
        let pad = abs(exponent) < 10 && (exponent >= 0 || padNegative)
        return (d.sign == .minus ? "-" : "") + String(digits.prefix(1)) + (rest.isEmpty ? "" : "." + rest)
            + (exponent < 0 ? "e-" : "e+") + (pad ? "0" : "") + String(abs(exponent))
    }

    private static func fixedForm(_ d: Double, _ digits: String, _ point: Int) -> String {
        let sign = d.sign == .minus ? "-" : ""
        if point <= 0 { return sign + "0." + String(repeating: "0", count: -point) + digits }
        if point >= digits.count { return sign + digits + String(repeating: "0", count: point - digits.count) }
        return sign + digits.prefix(point) + "." + digits.dropFirst(point)
    }
}

/// What `FieldValidation.check` found. Paths and messages are upstream's, ready to send.
public struct FieldValidationResult: Sendable, Equatable {
    /// Paths of fields the schema does not know, e.g. `spec.template.spec.containers[0].bar`.
    public var unknown: [String] = []
    /// Paths of keys given twice that upstream reports.
    public var duplicates: [String] = []
    /// Every value of the wrong type, in document order, worded as Go's decoder words it:
    /// `json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32`.
    public var typeErrors: [String] = []
    /// The one type error upstream reports: Go's decoder stops at a custom unmarshaller's error
    /// (IntOrString, Quantity, Time) but otherwise reports the first type error it saw.
    public var decodeError: String?
    /// `unknown field "…"` and `duplicate field "…"` in upstream's order, deduplicated and
    /// capped at 100 as upstream caps them: the text of each Warning header under Warn.
    public var strictErrors: [String] = []

    public init() {}

    public var isClean: Bool { unknown.isEmpty && duplicates.isEmpty && typeErrors.isEmpty }

    /// `strict decoding error: unknown field "spec.foo", duplicate field "spec.replicas"`.
    public var strictDecodingError: String? {
        strictErrors.isEmpty ? nil : "strict decoding error: " + strictErrors.joined(separator: ", ")
    }

    /// The 400 upstream answers a create or update body with: for a type error whatever the
    /// directive, and for unknown or duplicate fields under Strict.
    /// `kind` and `version` are the body's (`Deployment`, `v1`).
    public func decodeFailure(kind: String, version: String, directive: FieldValidation.Directive) -> APIError? {
        guard let detail = failureDetail(directive) else { return nil }
        return .badRequest(FieldValidation.cannotBeHandled(kind: kind, version: version, detail: detail))
    }

    /// The 422 upstream answers a patch with, `"" is invalid: patch: Invalid value: "…": …`.
    /// `patch` is how upstream shows the patch: for a merge or JSON patch the patched object's
    /// JSON text, for a strategic merge patch `FieldValidation.goMapText` of the patch.
    public func patchFailure(patch: String, directive: FieldValidation.Directive) -> APIError? {
        guard let detail = failureDetail(directive) else { return nil }
        let body = "Invalid value: \(GoText.quote(patch)): \(detail)"
        let cause: JSONValue = ["reason": "FieldValueInvalid", "message": .string(body), "field": "patch"]
        return APIError(code: 422, reason: "Invalid", message: " \"\" is invalid: patch: \(body)",
                        details: ["causes": [cause]])
    }

    /// The Warning headers upstream adds: one per strict error, under Warn only.
    public func warnings(directive: FieldValidation.Directive) -> [String] {
        directive == .warn && decodeError == nil ? strictErrors : []
    }

    private func failureDetail(_ directive: FieldValidation.Directive) -> String? {
        if let decodeError { return decodeError }
        return directive == .strict ? strictDecodingError : nil
    }
}

/// Strict errors as sigs.k8s.io/json keeps them: each distinct one once, at most 100.
private struct StrictErrors {
    private(set) var list: [String] = []
    private var seen: Set<String> = []

    mutating func add(_ error: String) {
        guard list.count < 100, seen.insert(error).inserted else { return }
        list.append(error)
    }
}

/// A value of the wrong type for its position, before it is worded with its place.
private enum TypeProblem {
    /// Go's UnmarshalTypeError: `value` as the decoder names the JSON value, `type` the Go
    /// type; printed with the enclosing struct and field path when there is one. Fatal when a
    /// custom UnmarshalJSON returned it, which stops Go's decoder at once.
    case unmarshal(value: String, type: String, fatal: Bool)
    /// An error Go prints as it is, without a field.
    case plain(String, fatal: Bool)
}

/// How each node kind judges a value, once per decoder mode.
private struct TypeProblems {
    let nodes: [SchemaTable.Node]
    let mode: FieldValidation.Mode

    /// True when the walk finds nothing at all: the fast path, without building any string.
    func isClean(_ value: JSONValue, _ index: Int32) -> Bool {
        let i = Int(index)
        switch value {
        case .null:
            return true
        case .object(let object):
            switch nodes[i].kind {
            case .object:
                let keys = object.keys, values = object.values
                for k in 0..<keys.count {
                    guard let child = nodes[i].fields[keys[k]], isClean(values[k], child) else { return false }
                }
                return true
            case .map:
                let child = nodes[i].child
                return object.values.allSatisfy { isClean($0, child) }
            default:
                return problem(value, index) == nil
            }
        case .array(let array) where nodes[i].kind == .array:
            let child = nodes[i].child
            return array.allSatisfy { isClean($0, child) }
        default:
            return problem(value, index) == nil
        }
    }

    /// What is wrong with `value` itself at `index`; containers of the right shape are fine
    /// here, their contents are the walk's business.
    func problem(_ value: JSONValue, _ index: Int32) -> TypeProblem? {
        if case .null = value { return nil }  // null means unset, anywhere
        let i = Int(index)
        return mode == .strategicMergePatch ? converterProblem(value, nodes[i].kind, i) : decoderProblem(value, nodes[i].kind, i)
    }

    /// sigs.k8s.io/json decoding into the Go type.
    private func decoderProblem(_ value: JSONValue, _ kind: SchemaTable.Node.Kind, _ i: Int) -> TypeProblem? {
        func mismatch(_ description: String? = nil) -> TypeProblem {
            .unmarshal(value: description ?? value.goJSONTypeName, type: nodes[i].goType, fatal: false)
        }
        switch (kind, value) {
        case (.any, _), (.object, .object), (.map, .object), (.array, .array), (.string, .string), (.bool, .bool),
             (.int64, .int), (.float, .int), (.float, .double):
            return nil
        case (.int32, .int(let n)):
            return Int32(exactly: n) == nil ? mismatch("number \(n)") : nil
        case (.int32, .double(let d)), (.int64, .double(let d)):
            return mismatch("number \(d)")
        case (.bytes, .string(let s)):
            return GoDecodeErrors.base64Error(s).map { .plain($0, fatal: false) }
        case (.bytes, .array(let elements)):
            // Go decodes a JSON array into []byte element by element, as uint8 numbers.
            for element in elements {
                switch element {
                case .null: continue
                case .int(let n) where UInt8(exactly: n) != nil: continue
                case .int(let n): return .unmarshal(value: "number \(n)", type: "uint8", fatal: false)
                case .double(let d): return .unmarshal(value: "number \(d)", type: "uint8", fatal: false)
                default: return .unmarshal(value: element.goJSONTypeName, type: "uint8", fatal: false)
                }
            }
            return nil
        case (.intOrString, .string):
            return nil
        case (.intOrString, .int(let n)):
            // IntOrString.UnmarshalJSON hands anything but a string to json.Unmarshal into an int32.
            return Int32(exactly: n) == nil ? .unmarshal(value: "number \(n)", type: "int32", fatal: true) : nil
        case (.intOrString, .double(let d)):
            return .unmarshal(value: "number \(d)", type: "int32", fatal: true)
        case (.intOrString, _):
            return .unmarshal(value: value.goJSONTypeName, type: "int32", fatal: true)
        case (.quantity, _):
            return quantityProblem(value)
        case (.time, .string(let s)), (.microTime, .string(let s)):
            return GoDecodeErrors.timeError(s, micro: kind == .microTime).map { .plain($0, fatal: true) }
        case (.time, _), (.microTime, _):
            // Time.UnmarshalJSON reads anything but null into a string first.
            return .unmarshal(value: value.goJSONTypeName, type: "string", fatal: true)
        default:
            return mismatch()
        }
    }

    /// runtime.DefaultUnstructuredConverter, after a strategic merge patch: Go reflection
    /// conversions from the map's string, int64, float64, bool, map and slice values.
    private func converterProblem(_ value: JSONValue, _ kind: SchemaTable.Node.Kind, _ i: Int) -> TypeProblem? {
        func fail(_ message: String) -> TypeProblem { .plain(message, fatal: true) }
        let source = Self.goKind(value)
        let goType = nodes[i].goType
        switch (kind, value) {
        case (.any, _), (.object, .object), (.map, .object), (.array, .array), (.string, .string), (.bool, .bool),
             (.int32, .int), (.int64, .int), (.float, .int), (.float, .double):
            return nil
        case (.object, _): return fail("cannot restore struct from: \(source)")
        case (.map, _): return fail("cannot restore map from \(source)")
        case (.array, _): return fail("cannot restore slice from \(source)")
        case (.string, .int): return fail("cannot convert int64 to \(goType)")
        case (.string, _): return fail("unrecognized type: string")
        case (.bool, _): return fail("unrecognized type: bool")
        case (.int32, .double(let d)), (.int64, .double(let d)):
            return d.rounded(.towardZero) == d ? nil : fail("cannot convert float64 to \(goType)")
        case (.int32, _): return fail("unrecognized type: int32")
        case (.int64, _): return fail("unrecognized type: int64")
        case (.float, _): return fail("unrecognized type: float64")
        case (.bytes, .string(let s)):
            return s.isEmpty ? nil : GoDecodeErrors.base64Error(s).map { fail("error decoding from json: " + $0) }
        case (.bytes, .array(let elements)):
            for element in elements {
                switch element {
                case .null, .int: continue
                case .double(let d) where d.rounded(.towardZero) == d: continue
                case .double: return fail("cannot convert float64 to uint8")
                default: return fail("unrecognized type: uint8")
                }
            }
            return nil
        case (.bytes, _): return fail("cannot restore slice from \(source)")
        // Types with their own UnmarshalJSON get the value re-marshalled to JSON.
        case (.intOrString, .string): return nil
        case (.intOrString, .int(let n)):
            return Int32(exactly: n) == nil ? fail("json: cannot unmarshal number \(n) into Go value of type int32") : nil
        case (.intOrString, .double(let d)):
            let text = FieldValidation.goJSONNumber(d)
            return Int32(text) == nil ? fail("json: cannot unmarshal number \(text) into Go value of type int32") : nil
        case (.intOrString, _): return fail("json: cannot unmarshal \(value.goJSONTypeName) into Go value of type int32")
        case (.quantity, _): return quantityProblem(value)
        case (.time, .string(let s)), (.microTime, .string(let s)):
            return GoDecodeErrors.timeError(s, micro: kind == .microTime).map(fail)
        case (.time, _), (.microTime, _):
            return fail("json: cannot unmarshal \(value.goJSONTypeName) into Go value of type string")
        }
    }

    /// Quantity.UnmarshalJSON parses a string's contents or any other JSON text as it stands;
    /// every JSON number is a valid quantity, and no object, list or boolean is.
    private func quantityProblem(_ value: JSONValue) -> TypeProblem? {
        switch value {
        case .string(let s): return GoDecodeErrors.quantityError(s).map { .plain($0, fatal: true) }
        case .int, .double: return nil
        default: return .plain(GoDecodeErrors.quantityFormatWrong, fatal: true)
        }
    }


    /// The reflect.Kind of the value a JSON document decodes to in a map[string]interface{}.
    static func goKind(_ value: JSONValue) -> String {
        switch value {
        case .null: return "invalid"
        case .bool: return "bool"
        case .int: return "int64"
        case .double: return "float64"
        case .string: return "string"
        case .array: return "slice"
        case .object: return "map"
        }
    }
}

/// The slow walk: every finding, with upstream's paths and messages.
private struct Collector {
    let problems: TypeProblems
    var nodes: [SchemaTable.Node] { problems.nodes }
    var mode: FieldValidation.Mode { problems.mode }

    /// The strict-error path of the value being visited: `spec.containers[0]`.
    var path = ""
    /// The same without list indices, as JSONParser names duplicate keys.
    var plainPath = ""
    /// Go's errorContext: the JSON names of the struct fields entered, and the innermost struct.
    var goFields: [String] = []
    var goStruct: Substring?
    /// Body duplicates not yet placed, by path (with or without indices) and count.
    var pendingDuplicates: [String: Int] = [:]

    var result = FieldValidationResult()
    var strict = StrictErrors()
    var firstFatal: String?
    var firstSaved: String?

    init(problems: TypeProblems) { self.problems = problems }

    mutating func visit(_ value: JSONValue, _ index: Int32) {
        if let problem = problems.problem(value, index) {
            record(problem)
            return
        }
        let i = Int(index)
        let parentPath = path, parentPlain = plainPath
        defer {
            path = parentPath
            plainPath = parentPlain
        }
        switch (nodes[i].kind, value) {
        case (.object, .object(let object)):
            let parentStruct = goStruct, structName = nodes[i].goStructName
            for k in 0..<object.keys.count {
                let key = object.keys[k]
                let memberPath = parentPath.isEmpty ? key : parentPath + "." + key
                guard let child = nodes[i].fields[key] else {
                    result.unknown.append(memberPath)
                    if mode != .strategicMergePatch { strict.add("unknown field " + GoText.quote(memberPath)) }
                    continue
                }
                path = memberPath
                plainPath = parentPlain.isEmpty ? key : parentPlain + "." + key
                goFields.append(key)
                goStruct = structName
                visit(object.values[k], child)
                goFields.removeLast()
                goStruct = parentStruct
                placeDuplicate()
            }
        case (.map, .object(let object)):
            let child = nodes[i].child
            for k in 0..<object.keys.count {
                let key = object.keys[k]
                // The converter does not put map keys into its paths; the decoder does.
                if mode != .strategicMergePatch { path = parentPath.isEmpty ? key : parentPath + "." + key }
                plainPath = parentPlain.isEmpty ? key : parentPlain + "." + key
                visit(object.values[k], child)
                placeDuplicate()
            }
        case (.array, .array(let array)):
            let child = nodes[i].child
            for (n, element) in array.enumerated() {
                path = parentPath + "[\(n)]"
                visit(element, child)
            }
        default:
            break
        }
    }

    /// Upstream reports a duplicate key when it meets the second one; the parsed object keeps
    /// the key where it first appeared, so the closest place is right after its value.
    private mutating func placeDuplicate() {
        guard mode == .body, !pendingDuplicates.isEmpty else { return }
        for candidate in [plainPath, path] {
            if let count = pendingDuplicates[candidate], count > 0 {
                pendingDuplicates[candidate] = count - 1
                result.duplicates.append(path)
                strict.add("duplicate field " + GoText.quote(path))
                return
            }
        }
    }

    private mutating func record(_ problem: TypeProblem) {
        let message: String
        let fatal: Bool
        switch problem {
        case .unmarshal(let value, let type, let isFatal):
            if goStruct != nil || !goFields.isEmpty {
                message = "json: cannot unmarshal \(value) into Go struct field \(goStruct ?? "").\(goFields.joined(separator: ".")) of type \(type)"
            } else {
                message = "json: cannot unmarshal \(value) into Go value of type \(type)"
            }
            fatal = isFatal
        case .plain(let text, let isFatal):
            message = text
            fatal = isFatal
        }
        result.typeErrors.append(message)
        if fatal {
            if firstFatal == nil { firstFatal = message }
        } else if firstSaved == nil {
            firstSaved = message
        }
    }
}

/// `value` without unknown fields at `index`, or nil when it has none, so unchanged parents
/// are not rebuilt.
private func pruned(_ value: JSONValue, _ index: Int32, _ nodes: [SchemaTable.Node]) -> JSONValue? {
    let i = Int(index)
    switch (nodes[i].kind, value) {
    case (.object, .object(let object)):
        var rebuilt: JSONObject?
        for k in 0..<object.keys.count {
            let key = object.keys[k]
            guard let child = nodes[i].fields[key] else {
                if rebuilt == nil { rebuilt = prefix(of: object, upTo: k) }
                continue
            }
            let replacement = pruned(object.values[k], child, nodes)
            if rebuilt == nil, replacement != nil { rebuilt = prefix(of: object, upTo: k) }
            rebuilt?[key] = replacement ?? object.values[k]
        }
        return rebuilt.map(JSONValue.object)
    case (.map, .object(let object)):
        var rebuilt: JSONObject?
        for k in 0..<object.keys.count {
            let replacement = pruned(object.values[k], nodes[i].child, nodes)
            if rebuilt == nil, replacement != nil { rebuilt = object }
            if let replacement { rebuilt?[object.keys[k]] = replacement }
        }
        return rebuilt.map(JSONValue.object)
    case (.array, .array(let array)):
        var rebuilt: [JSONValue]?
        for (n, element) in array.enumerated() {
            guard let replacement = pruned(element, nodes[i].child, nodes) else { continue }
            if rebuilt == nil { rebuilt = array }
            rebuilt?[n] = replacement
        }
        return rebuilt.map(JSONValue.array)
    default:
        return nil
    }
}

private func prefix(of object: JSONObject, upTo end: Int) -> JSONObject {
    var out = JSONObject()
    for k in 0..<end { out[object.keys[k]] = object.values[k] }
    return out
}
