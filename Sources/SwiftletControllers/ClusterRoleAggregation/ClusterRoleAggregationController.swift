import SwiftletAPI
import SwiftletClient
import SwiftletMachinery

/// Upstream's clusterrole-aggregation controller: a ClusterRole with an `aggregationRule`
/// gets as its rules the rules of every ClusterRole its selectors match, each once, in the
/// order of the matching roles' names. That is how `admin`, `edit` and `view` grow when a
/// CRD's chart adds a role labelled `rbac.authorization.k8s.io/aggregate-to-view: "true"`.
public final class ClusterRoleAggregationController: Controller {
    public let name = "clusterrole-aggregation"
    private let client: APIClient
    private let log: LogSink
    private let roles: SharedInformer
    private let queue: WorkQueue<ObjectKey>

    public init(context: ControllerContext) {
        client = context.client(for: "clusterrole-aggregation-controller")
        log = context.log
        roles = context.informers.informer(for: Resources.clusterroles)
        queue = WorkQueue(clock: context.clock)
        let queue = self.queue, roles = self.roles
        // Any change may change what an aggregated role collects: queue every aggregated role.
        let enqueueAggregated: @Sendable (JSONValue) -> Void = { _ in
            for role in roles.list() where role["aggregationRule"] != nil {
                if let key = ObjectKey(role) { queue.add(key) }
            }
        }
        roles.addEventHandler(EventHandler(onAdd: enqueueAggregated, onUpdate: { _, role in enqueueAggregated(role) },
                                           onDelete: enqueueAggregated))
    }

    public func run(workers: Int) async {
        await ControllerRunner(name: name, queue: queue, workers: workers, log: log) { [self] key in
            try await self.sync(key)
        }.run()
    }

    func sync(_ key: ObjectKey) async throws {
        guard let role = roles.get(key), let rule = role["aggregationRule"], !rule.isNull else { return }
        let rules = Self.aggregatedRules(rule, of: key.name, from: roles.list())
        guard PolicyRule.rules(of: role) != rules else { return }
        // A merge patch of the rules alone, not an update of what the cache held: the cache may
        // not have caught up with this controller's previous write, and the rules are computed
        // afresh on every change of any ClusterRole anyway.
        _ = try await client.patch(Resources.clusterroles, namespace: nil, name: key.name, .merge(["rules": .array(rules.map(\.json))]))
    }

    /// For each selector in turn, the rules of the roles it matches (but the aggregating role
    /// itself), roles in name order, without repeats.
    static func aggregatedRules(_ aggregationRule: JSONValue, of name: String, from all: [JSONValue]) -> [PolicyRule] {
        let byName = all.sorted { FieldRead.string($0[path: "metadata", "name"]) < FieldRead.string($1[path: "metadata", "name"]) }
        var rules: [PolicyRule] = []
        for selectorJSON in FieldRead.objects(aggregationRule["clusterRoleSelectors"]) {
            guard let selector = try? LabelSelector.fromJSON(selectorJSON) else { continue }
            for role in byName where FieldRead.string(role[path: "metadata", "name"]) != name
                && selector.matches(role[path: "metadata", "labels"]?.objectValue) {
                for rule in PolicyRule.rules(of: role) where !rules.contains(rule) { rules.append(rule) }
            }
        }
        return rules
    }
}
