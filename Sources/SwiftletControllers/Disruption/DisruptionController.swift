import Foundation
import SwiftletAPI
import SwiftletClient
import SwiftletMachinery

/// The disruption controller: keeps each PodDisruptionBudget's status (how many of its pods
/// are healthy, how many must be, and so how many may be evicted now), which the eviction
/// subresource reads and decrements, as upstream's `pkg/controller/disruption`.
public final class DisruptionController: Controller {
    public let name = "disruption"
    /// How long an evicted pod counts as disrupted while it has not yet gone.
    static let disruptionTimeout: TimeInterval = 120

    private let client: APIClient
    private let log: LogSink
    private let clock: any Clock
    private let budgets: SharedInformer
    private let pods: SharedInformer
    private let replicaSets: SharedInformer
    private let replicationControllers: SharedInformer
    private let queue: WorkQueue<ObjectKey>

    public init(context: ControllerContext) {
        client = context.client(for: "disruption-controller")
        log = context.log
        clock = context.clock
        budgets = context.informers.informer(for: Resources.poddisruptionbudgets)
        pods = context.informers.informer(for: Resources.pods)
        replicaSets = context.informers.informer(for: Resources.replicasets)
        replicationControllers = context.informers.informer(for: Resources.replicationcontrollers)
        queue = WorkQueue(clock: context.clock)
        let queue = self.queue, budgets = self.budgets
        let enqueue: @Sendable (JSONValue) -> Void = { pdb in if let key = ObjectKey(pdb) { queue.add(key) } }
        budgets.addEventHandler(EventHandler(onAdd: enqueue, onUpdate: { _, pdb in enqueue(pdb) }))
        // A pod's change can change any budget of its namespace.
        let enqueueNamespace: @Sendable (JSONValue) -> Void = { pod in
            let namespace = pod[path: "metadata", "namespace"]?.stringValue
            for pdb in budgets.list() where pdb[path: "metadata", "namespace"]?.stringValue == namespace { enqueue(pdb) }
        }
        pods.addEventHandler(EventHandler(onAdd: enqueueNamespace, onUpdate: { _, pod in enqueueNamespace(pod) }, onDelete: enqueueNamespace))
    }

    public func run(workers: Int) async {
        await ControllerRunner(name: name, queue: queue, workers: workers, log: log) { [self] key in
            try await self.sync(key)
        }.run()
    }

    func sync(_ key: ObjectKey) async throws {
        guard let pdb = budgets.get(key) else { return }
        let status = status(of: pdb, now: clock.now)
        guard status != pdb["status"] else { return }
        _ = try await client.patch(Resources.poddisruptionbudgets, namespace: key.namespace, name: key.name,
                                   .json([["op": "add", "path": "/status", "value": status]]), subresource: "status")
    }

    /// The budget's status from the pods it selects: `updatePdbStatus` of upstream.
    func status(of pdb: JSONValue, now: Date) -> JSONValue {
        let namespace = pdb[path: "metadata", "namespace"]?.stringValue
        let selector: LabelSelector? = pdb[path: "spec", "selector"].flatMap { $0.isNull ? nil : try? LabelSelector.fromJSON($0) }
        let selected = pods.list().filter { pod in
            guard pod[path: "metadata", "namespace"]?.stringValue == namespace, let selector else { return false }
            return selector.matches(PodState.labels(pod))
        }.filter { pod in
            let phase = pod[path: "status", "phase"]?.stringValue
            return phase != "Succeeded" && phase != "Failed"
        }

        // Evicted pods count as disrupted until they go, for at most two minutes.
        var disrupted = JSONObject()
        let live = Dictionary(selected.map { ($0[path: "metadata", "name"]?.stringValue ?? "", $0) }, uniquingKeysWith: { a, _ in a })
        for (name, time) in (pdb[path: "status", "disruptedPods"]?.objectValue ?? JSONObject()) {
            guard let pod = live[name], pod[path: "metadata", "deletionTimestamp"] == nil,
                  let at = time.stringValue.flatMap(RFC3339.date(from:)), now.timeIntervalSince(at) < Self.disruptionTimeout else { continue }
            disrupted[name] = time
        }
        let healthy = selected.filter {
            PodState.isReady($0) && $0[path: "metadata", "deletionTimestamp"] == nil
                && disrupted[$0[path: "metadata", "name"]?.stringValue ?? ""] == nil
        }.count

        let (expected, desired) = expectedAndDesired(pdb, selected: selected)
        let allowed = max(0, healthy - desired)
        var status: JSONValue = [
            "observedGeneration": pdb[path: "metadata", "generation"] ?? 0,
            "disruptionsAllowed": .int(Int64(allowed)), "currentHealthy": .int(Int64(healthy)),
            "desiredHealthy": .int(Int64(desired)), "expectedPods": .int(Int64(expected)),
        ]
        if !disrupted.isEmpty { status["disruptedPods"] = .object(disrupted) }
        let previous = pdb[path: "status", "conditions"]?.arrayValue?.first { $0["type"] == "DisruptionAllowed" }
        let conditionStatus = allowed > 0 ? "True" : "False"
        status["conditions"] = [[
            "type": "DisruptionAllowed", "status": .string(conditionStatus),
            "reason": .string(allowed > 0 ? "SufficientPods" : "InsufficientPods"), "message": "",
            "observedGeneration": pdb[path: "metadata", "generation"] ?? 0,
            "lastTransitionTime": previous?["status"]?.stringValue == conditionStatus
                ? previous?["lastTransitionTime"] ?? .string(RFC3339.string(from: now)) : .string(RFC3339.string(from: now)),
        ]]
        return status
    }

    /// How many pods the budget expects and how many must be healthy. A count in minAvailable
    /// needs no more; a percentage or maxUnavailable is taken of the pods' controllers' scale.
    private func expectedAndDesired(_ pdb: JSONValue, selected: [JSONValue]) -> (Int, Int) {
        let minAvailable = pdb[path: "spec", "minAvailable"], maxUnavailable = pdb[path: "spec", "maxUnavailable"]
        if let count = minAvailable?.intValue, maxUnavailable == nil {
            return (selected.count, Int(count))
        }
        let expected = controllersScale(selected)
        if let maxUnavailable, !maxUnavailable.isNull {
            let unavailable = DeploymentUtil.scaledValue(maxUnavailable, total: expected, roundUp: true)
            return (expected, max(0, expected - unavailable))
        }
        return (expected, DeploymentUtil.scaledValue(minAvailable, total: expected, roundUp: true))
    }

    /// The desired replicas of the controllers owning the pods, each counted once; a pod
    /// without a known controller counts as one.
    private func controllersScale(_ pods: [JSONValue]) -> Int {
        var seen = Set<String>()
        var total = 0
        for pod in pods {
            guard let owner = Indexer.controllerReference(of: pod), let uid = owner["uid"]?.stringValue else {
                total += 1
                continue
            }
            guard seen.insert(uid).inserted else { continue }
            let namespace = pod[path: "metadata", "namespace"]?.stringValue
            let name = owner["name"]?.stringValue ?? ""
            let informer = owner["kind"] == "ReplicationController" ? replicationControllers : replicaSets
            if let controller = informer.get(ObjectKey(namespace: namespace, name: name)),
               controller[path: "metadata", "uid"]?.stringValue == uid {
                total += Int(controller[path: "spec", "replicas"]?.intValue ?? 1)
            } else {
                total += pods.filter { Indexer.controllerReference(of: $0)?["uid"]?.stringValue == uid }.count
            }
        }
        return total
    }
}
