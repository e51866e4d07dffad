import Foundation
import Synchronization
import SwiftletAPI
import SwiftletClient
import SwiftletMachinery
import SwiftletProxy

/// A port on the host that a LoadBalancer Service asks this node to serve.
struct HostPort: Hashable, CustomStringConvertible {
    var port: Int
    var transport: String
    var description: String { "\(port)/\(transport)" }
}

struct HostPortClaim: Hashable {
    var service: String  // namespace/name
    var hostPort: HostPort
}

/// LoadBalancer ports the node cannot serve, because another process on the host or an older
/// Service has them, are reported instead of failing silently: a Warning event on the Service
/// and its `LoadBalancerPortsAvailable` condition, as k3s's ServiceLB leaves its pod pending.
final class HostPortReporter: Sendable {
    static let conditionType = "LoadBalancerPortsAvailable"
    let client: APIClient
    let events: EventRecorder
    let nodeName: String
    let clock: any Clock
    let log: LogSink
    /// What was last reported per Service, so a retry every few seconds does not repeat the event.
    private let reported = Mutex<[String: String]>([:])

    init(client: APIClient, events: EventRecorder, nodeName: String, clock: any Clock, log: @escaping LogSink) {
        self.client = client
        self.events = events
        self.nodeName = nodeName
        self.clock = clock
        self.log = log
    }

    /// The claims that cannot be served, with why. The oldest Service claiming a port keeps it;
    /// a port this node does not serve yet must be free on the host. Ports already served are
    /// not probed again: no process can be listening behind our own rules' backs and matter.
    static func portsInUse(_ claims: [HostPortClaim], served: Set<HostPort>,
                           inUse: (HostPort) -> Bool = { HostPortCheck.inUse(port: $0.port, transport: ProxyTransport(rawValue: $0.transport.lowercased()) ?? .tcp) })
        -> [HostPortClaim: String] {
        var owner: [HostPort: String] = [:]
        var refused: [HostPortClaim: String] = [:]
        for claim in claims {
            if let first = owner[claim.hostPort] {
                if first != claim.service {
                    refused[claim] = "port \(claim.hostPort) is already served for Service \(first)"
                }
                continue
            }
            if !served.contains(claim.hostPort), inUse(claim.hostPort) {
                refused[claim] = "port \(claim.hostPort) is already in use on the host by a process outside the cluster"
                continue
            }
            owner[claim.hostPort] = claim.service
        }
        return refused
    }

    /// Events and conditions for the Services whose ports were refused, and the condition set
    /// back to True on those that were refused before by this node and no longer are.
    func report(refused: [HostPortClaim: String], claims: [HostPortClaim], services: SharedInformer) async {
        var messages: [String: [String]] = [:]
        for (claim, reason) in refused { messages[claim.service, default: []].append(reason) }
        let claimed = Set(claims.map(\.service))
        for key in claimed {
            let parts = key.split(separator: "/", maxSplits: 1).map(String.init)
            guard parts.count == 2, let service = services.get(namespace: parts[0], name: parts[1]) else { continue }
            let message = messages[key].map { "node \(nodeName): " + $0.sorted().joined(separator: "; ") }
            let last = reported.withLock { $0[key] }
            guard message != last else { continue }
            reported.withLock { $0[key] = message }
            if let message { events.event(service, type: .warning, reason: "HostPortInUse", message: message) }
            await setCondition(on: service, namespace: parts[0], name: parts[1], message: message)
        }
        reported.withLock { state in state = state.filter { claimed.contains($0.key) } }
    }

    private func setCondition(on service: JSONValue, namespace: String, name: String, message: String?) async {
        let conditions = service[path: "status", "conditions"]?.arrayValue ?? []
        let current = conditions.first { $0["type"]?.stringValue == Self.conditionType }
        let mine = current?["message"]?.stringValue?.hasPrefix("node \(nodeName):") ?? false
        // Another node's report stands until that node clears it.
        if message == nil && (current == nil || !mine) { return }
        let status = message == nil ? "True" : "False"
        var condition: JSONValue = [
            "type": .string(Self.conditionType), "status": .string(status),
            "reason": message == nil ? "PortsServed" : "PortInUse",
            "message": .string(message ?? "node \(nodeName): every port is served on the host"),
            "lastTransitionTime": .string(RFC3339.string(from: clock.now)),
        ]
        if let generation = service[path: "metadata", "generation"] { condition["observedGeneration"] = generation }
        if current?["status"]?.stringValue == status, let since = current?["lastTransitionTime"] {
            condition["lastTransitionTime"] = since
        }
        let updated = conditions.filter { $0["type"]?.stringValue != Self.conditionType } + [condition]
        do {
            _ = try await client.patch(Resources.services, namespace: namespace, name: name,
                                       .merge(["status": ["conditions": .array(updated)]]), subresource: "status")
        } catch {
            log("node agent: reporting host ports of Service \(namespace)/\(name) failed: \(error)")
        }
    }
}
