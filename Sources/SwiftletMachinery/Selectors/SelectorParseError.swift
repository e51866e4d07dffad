/// A label or field selector that does not parse or does not validate. `message` is the text
/// kube-apiserver puts in its 400 BadRequest, so the server returns it unchanged, unprefixed.
public struct SelectorParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}

/// The aggregate of field errors as k8s.io/apimachinery prints it: one message alone, several
/// as `[a, b]`, repeats dropped.
func aggregateMessage(_ errors: [FieldError]) -> String {
    var seen: [String] = []
    for message in errors.map(\.message) where !seen.contains(message) { seen.append(message) }
    return seen.count == 1 ? seen[0] : "[" + seen.joined(separator: ", ") + "]"
}

extension String {
    /// Go orders strings bytewise; Swift's `<` follows Unicode rules.
    func goPrecedes(_ other: String) -> Bool { utf8.lexicographicallyPrecedes(other.utf8) }
}
