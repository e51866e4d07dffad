/// What server-side apply needs to know about a position in an object: how lists merge and
/// whether a map or struct is replaced whole. Upstream reads `x-kubernetes-list-type`,
/// `x-kubernetes-list-map-keys` and `x-kubernetes-map-type` from the OpenAPI schema.
public protocol ApplySchema: Sendable {
    /// The schema of member `name` of a struct, or of every value of a map.
    func applyMember(_ name: String) -> (any ApplySchema)?
    /// The schema of a list's items.
    var applyElements: (any ApplySchema)? { get }
    var listType: ListType { get }
    /// A map or struct owned and replaced as one value (`x-kubernetes-map-type: atomic`).
    var isAtomicMap: Bool { get }
}

/// How a list merges: replaced whole, a set of scalars, or items identified by key fields.
public enum ListType: Sendable, Equatable {
    case atomic
    case set
    case map(keys: [String])
}

/// Values a list-map key field takes when an item leaves it out, as upstream's defaults do
/// (`protocol: TCP` on ports), so that an applied port without a protocol is the live one.
enum ListMapKeyDefaults {
    static let values: [String: JSONValue] = ["protocol": "TCP"]
}
