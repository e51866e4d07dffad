/// What a strategic merge patch needs to know about one position in an object: the patch
/// strategy and merge key of the field there (from the `x-kubernetes-patch-strategy` and
/// `x-kubernetes-patch-merge-key` schema extensions), and how to descend.
///
/// The Kubernetes schema implements this (see `SwiftletAPI`'s schema registry); tests can
/// build small ones by hand. A nil schema means "nothing known": maps merge, lists replace.
public protocol StrategicMergeSchema: Sendable {
    /// The schema of the value of member `name` of the object here. For a map (a JSON object
    /// with free-form keys, e.g. labels) every key gives the map's value schema.
    func member(_ name: String) -> (any StrategicMergeSchema)?
    /// The schema of the elements of the list here.
    var elements: (any StrategicMergeSchema)? { get }
    /// The field's patch strategies: any of "merge", "retainKeys", "replace".
    var patchStrategies: Set<String> { get }
    /// The key that identifies list elements for the "merge" strategy (e.g. "name").
    var patchMergeKey: String? { get }
}
