/// An RFC 6901 JSON Pointer, resolved the way gopkg.in/evanphx/json-patch.v4 resolves it,
/// because that library is what Kubernetes applies JSON patches with and clients are written
/// against its behaviour: negative array indices count from the end, and reading a missing
/// object member gives null instead of failing (only `remove` and `move` insist the member
/// exists).
struct JSONPointer: Sendable, CustomStringConvertible {
    /// The decoded reference tokens; empty for the whole document.
    let tokens: [String]
    let description: String

    /// Nil when `string` is neither empty nor starts with "/": such a pointer names nothing.
    init?(_ string: String) {
        description = string
        if string.isEmpty {
            tokens = []
            return
        }
        guard string.hasPrefix("/") else { return nil }
        tokens = string.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map(JSONPointer.unescape)
    }

    /// One left-to-right pass, so "~01" becomes "~1" and not "/" (RFC 6901 section 4).
    static func unescape(_ token: Substring) -> String {
        guard token.contains("~") else { return String(token) }
        var out = ""
        var iterator = token.makeIterator()
        while let c = iterator.next() {
            guard c == "~" else { out.append(c); continue }
            switch iterator.next() {
            case "0": out.append("~")
            case "1": out.append("/")
            case let other?: out.append("~"); out.append(other)
            case nil: out.append("~")
            }
        }
        return out
    }
}

/// Why a pointer could not be followed; each patch operation words it into its own message.
enum PointerFailure: Error {
    /// Some container on the way to the target is missing, null or a scalar.
    case noParent
    /// The target's container exists but the last token does not select anything in it.
    case badTarget(String)
}

extension JSONPointer {
    /// Maps an index token to a position in `0..<count`. Swift's `Int(String)` accepts what
    /// Go's strconv.Atoi (used by v4) accepts, so "01" and "+1" work like upstream; negative
    /// indices count from the end.
    static func existingIndex(_ token: String, count: Int) throws(PointerFailure) -> Int {
        guard let i = Int(token) else {
            throw .badTarget("strconv.Atoi: parsing \"\(token)\": invalid syntax")
        }
        let resolved = i < 0 ? i + count : i
        guard resolved >= 0, resolved < count else {
            throw .badTarget("Unable to access invalid index: \(i): invalid index referenced")
        }
        return resolved
    }

    /// The value at this pointer. A missing object member reads as null, as in v4.
    func value(in document: JSONValue) throws(PointerFailure) -> JSONValue {
        guard let last = tokens.last else { return document }
        var container = document
        for token in tokens.dropLast() {
            guard let next = JSONPointer.child(token, of: container) else { throw .noParent }
            container = next
        }
        switch container {
        case .object(let o): return o[last] ?? .null
        case .array(let a): return a[try JSONPointer.existingIndex(last, count: a.count)]
        default: throw .noParent
        }
    }

    /// Runs `body` on the container that holds this pointer's target and the target's token.
    /// The root has no container, so it gives `noParent`.
    func modifyParent(of document: inout JSONValue,
                      _ body: (inout JSONValue, String) throws(PointerFailure) -> Void) throws(PointerFailure) {
        guard !tokens.isEmpty else { throw .noParent }
        try JSONPointer.modify(&document, tokens[...], body)
    }

    /// A container on the path: present and itself an object or an array.
    private static func child(_ token: String, of container: JSONValue) -> JSONValue? {
        let next: JSONValue?
        switch container {
        case .object(let o): next = o[token]
        case .array(let a): next = (try? existingIndex(token, count: a.count)).map { a[$0] }
        default: next = nil
        }
        switch next {
        case .object?, .array?: return next
        default: return nil
        }
    }

    private static func modify(_ node: inout JSONValue, _ tokens: ArraySlice<String>,
                               _ body: (inout JSONValue, String) throws(PointerFailure) -> Void) throws(PointerFailure) {
        let head = tokens[tokens.startIndex]
        if tokens.count == 1 {
            switch node {
            case .object, .array: try body(&node, head)
            default: throw .noParent
            }
            return
        }
        guard var next = child(head, of: node) else { throw .noParent }
        // Detach the child before changing it so its storage is not shared and copied.
        switch node {
        case .object(var o):
            node = .null
            o[head] = .null
            defer { o[head] = next; node = .object(o) }
            try modify(&next, tokens.dropFirst(), body)
        case .array(var a):
            let i = try existingIndex(head, count: a.count)
            node = .null
            a[i] = .null
            defer { a[i] = next; node = .array(a) }
            try modify(&next, tokens.dropFirst(), body)
        default:
            throw .noParent
        }
    }
}
