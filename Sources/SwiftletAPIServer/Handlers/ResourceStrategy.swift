import SwiftletAPI
import SwiftletMachinery

/// Per-resource behaviour on top of the generic storage, as upstream's registry strategies.
/// Defaults fit most resources; services, pods and namespaces override parts.
protocol ResourceStrategy: Sendable {
    /// Mutating admission: called on create and on update of the object itself (not of a
    /// subresource), after defaulting and before validation, as upstream's admission chain.
    func admit(_ object: inout JSONValue)
    /// Called after defaulting and validation, before the object is stored.
    func prepareForCreate(_ object: inout JSONValue, context: StrategyContext) throws(APIError)
    /// Called on update of the main resource after defaulting, before validation: drops what
    /// the change makes meaningless, as upstream strategies' PrepareForUpdate does.
    func normalizeUpdate(_ object: inout JSONValue, old: JSONValue)
    /// Called on every update of the main resource (not of a subresource).
    func prepareForUpdate(_ object: inout JSONValue, old: JSONValue, context: StrategyContext) throws(APIError)
    /// Called after the object is gone from storage (also after a dry run would have deleted it: no).
    func afterDelete(_ object: JSONValue, context: StrategyContext)
    /// Called after a create or update is stored, with the object as stored (not on dry runs).
    func afterWrite(_ object: JSONValue)
    /// Whether a bound object waits for its node before it goes (pods).
    func gracefulDeletion(_ object: JSONValue, requested: Int64?) -> Int64?
    /// Whether a deleted object must stay, marked, although no metadata finalizer holds it
    /// (namespaces wait for their `spec.finalizers`).
    func holdsDeletion(_ object: JSONValue) -> Bool
    /// Changes an object when its deletion begins (a namespace becomes Terminating).
    func prepareForDeletion(_ object: inout JSONValue)
    /// Refuses a delete before anything else is looked at (the system namespaces).
    func checkDelete(name: String) throws(APIError)
}

extension ResourceStrategy {
    func admit(_ object: inout JSONValue) {}
    func prepareForCreate(_ object: inout JSONValue, context: StrategyContext) throws(APIError) {}
    func normalizeUpdate(_ object: inout JSONValue, old: JSONValue) {}
    func prepareForUpdate(_ object: inout JSONValue, old: JSONValue, context: StrategyContext) throws(APIError) {}
    func afterDelete(_ object: JSONValue, context: StrategyContext) {}
    func afterWrite(_ object: JSONValue) {}
    func gracefulDeletion(_ object: JSONValue, requested: Int64?) -> Int64? { nil }
    func holdsDeletion(_ object: JSONValue) -> Bool { false }
    func prepareForDeletion(_ object: inout JSONValue) {}
    func checkDelete(name: String) throws(APIError) {}
}

/// What strategies may need while preparing an object.
struct StrategyContext: Sendable {
    var dryRun: Bool
    var allocators: ServiceAllocators
}

struct DefaultStrategy: ResourceStrategy {}
