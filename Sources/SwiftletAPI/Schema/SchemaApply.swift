import SwiftletMachinery

/// Server-side apply's view of the built-in schema. The generated table keeps the strategic
/// merge metadata, from which the list types follow as upstream's Go markers give them: a
/// list with a merge key is a map keyed by it, a merged list without one is a set, any other
/// list is atomic. Two kinds of list are keyed by more than their merge key upstream
/// (`+listMapKey=protocol`): container ports and service ports.
extension SchemaNode: ApplySchema {
    static let extraListMapKeys: [String: [String]] = [
        "[]v1.ContainerPort": ["containerPort", "protocol"],
        "[]v1.ServicePort": ["port", "protocol"],
    ]

    public func applyMember(_ name: String) -> (any ApplySchema)? { memberNode(name) }
    public var applyElements: (any ApplySchema)? { elementNode }

    public var listType: ListType {
        if let key = patchMergeKey { return .map(keys: Self.extraListMapKeys[goType] ?? [key]) }
        return patchStrategies.contains("merge") ? .set : .atomic
    }

    public var isAtomicMap: Bool { false }
}
