import Foundation
import SwiftletMachinery

/// Horizontal pod autoscalers and the Scale subresource.
enum AutoscalingTables {
    static let horizontalPodAutoscaler = TablePrinter(
        columns: [
            TableFormat.name,
            TableFormat.column(
                "Reference", "string",
                "scaleTargetRef points to the target resource to scale, and is used to the pods for which metrics should be collected, as well as to actually change the replica count."
            ),
            TableFormat.column(
                "Targets", "string",
                "metrics contains the specifications for which to use to calculate the desired replica count (the maximum replica count across all metrics will be used).  The desired replica count is calculated multiplying the ratio between the target value and the current value by the current number of pods.  Ergo, metrics used must decrease as the pod count is increased, and vice-versa.  See the individual metric source types for more information about how each type of metric must respond."
            ),
            TableFormat.column(
                "MinPods", "string",
                "minReplicas is the lower limit for the number of replicas to which the autoscaler can scale down.  It defaults to 1 pod.  minReplicas is allowed to be 0 if the alpha feature gate HPAScaleToZero is enabled and at least one Object or External metric is configured.  Scaling is active as long as at least one metric value is available."
            ),
            TableFormat.column(
                "MaxPods", "string",
                "maxReplicas is the upper limit for the number of replicas to which the autoscaler can scale up. It cannot be less that minReplicas."
            ),
            TableFormat.column(
                "Replicas", "string",
                "currentReplicas is current number of replicas of pods managed by this autoscaler, as last seen by the autoscaler."
            ),
            TableFormat.age,
        ],
        cells: { hpa, now in
            let spec = hpa["spec"]
            let reference =
                "\(TableFormat.text(spec?[path: "scaleTargetRef", "kind"]))/\(TableFormat.text(spec?[path: "scaleTargetRef", "name"]))"
            let minPods = TableFormat.present(spec?["minReplicas"]).map { "\(TableFormat.int($0))" } ?? "<unset>"
            return [
                TableFormat.objectName(hpa), .string(reference), .string(targets(hpa)), .string(minPods),
                .int(TableFormat.int(spec?["maxReplicas"])), .int(TableFormat.int(hpa[path: "status", "currentReplicas"])),
                TableFormat.creationAge(hpa, now: now),
            ]
        })

    /// Upstream's Name column here lacks the "name" format, unlike every other table.
    static let scale = TablePrinter(
        columns: [
            TableColumn(name: "Name", type: "string", description: TableFormat.nameDescription),
            TableFormat.column("Desired", "integer", "replicas is the desired number of instances for the scaled object."),
            TableFormat.column(
                "Available", "integer", "replicas is the actual number of observed instances of the scaled object."),
            TableFormat.age,
        ],
        cells: { scale, now in
            [
                TableFormat.objectName(scale), .int(TableFormat.int(scale[path: "spec", "replicas"])),
                .int(TableFormat.int(scale[path: "status", "replicas"])), TableFormat.creationAge(scale, now: now),
            ]
        })

    /// formatHPAMetrics: "current/target" per metric, at most two, then "+ N more...".
    private static func targets(_ hpa: JSONValue) -> String {
        let (specs, statuses) = metrics(hpa)
        guard !specs.isEmpty else { return "<none>" }
        let list = specs.enumerated().map { index, spec in
            describe(spec, status: index < statuses.count ? statuses[index] : nil)
        }
        if list.count > 2 { return list.prefix(2).joined(separator: ", ") + " + \(list.count - 2) more..." }
        return list.joined(separator: ", ")
    }

    private static func describe(_ spec: JSONValue, status: JSONValue?) -> String {
        func quantity(_ value: JSONValue?) -> String {
            switch TableFormat.present(value) {
            case .string(let text)?: return text
            case .int(let number)?: return "\(number)"
            case .double(let number)?: return "\(number)"
            default: return "<nil>"
            }
        }
        func percent(_ value: JSONValue?) -> String? { TableFormat.present(value).map { "\(TableFormat.int($0))%" } }

        switch TableFormat.text(spec["type"]) {
        case "External", "Object":
            let key = TableFormat.text(spec["type"]) == "External" ? "external" : "object"
            let target = spec[path: key, "target"]
            let current = TableFormat.present(status?[key])
            if let average = TableFormat.present(target?["averageValue"]) {
                let now =
                    current.flatMap { TableFormat.present($0[path: "current", "averageValue"]) }.map { quantity($0) }
                    ?? "<unknown>"
                return "\(now)/\(quantity(average)) (avg)"
            }
            let now = current.map { quantity($0[path: "current", "value"]) } ?? "<unknown>"
            return "\(now)/\(quantity(target?["value"]))"
        case "Pods":
            let now = TableFormat.present(status?["pods"]).map { quantity($0[path: "current", "averageValue"]) } ?? "<unknown>"
            return "\(now)/\(quantity(spec[path: "pods", "target", "averageValue"]))"
        case "Resource", "ContainerResource":
            let key = TableFormat.text(spec["type"]) == "Resource" ? "resource" : "containerResource"
            let name = TableFormat.text(spec[path: key, "name"])
            let target = spec[path: key, "target"]
            let current = TableFormat.present(status?[key])
            if let average = TableFormat.present(target?["averageValue"]) {
                let now = current.map { quantity($0[path: "current", "averageValue"]) } ?? "<unknown>"
                return "\(name): \(now)/\(quantity(average))"
            }
            let now = current.flatMap { percent($0[path: "current", "averageUtilization"]) } ?? "<unknown>"
            return "\(name): \(now)/\(percent(target?["averageUtilization"]) ?? "<auto>")"
        default:
            return "<unknown type>"
        }
    }

    /// Metric specs and statuses in autoscaling/v2 form. An autoscaling/v1 object's CPU target
    /// converts to a Resource metric, and with no metrics at all v2 defaulting adds CPU at 80%.
    private static func metrics(_ hpa: JSONValue) -> (specs: [JSONValue], statuses: [JSONValue]) {
        let specs = TableFormat.array(hpa[path: "spec", "metrics"])
        if !specs.isEmpty { return (specs, TableFormat.array(hpa[path: "status", "currentMetrics"])) }
        let target = TableFormat.present(hpa[path: "spec", "targetCPUUtilizationPercentage"]) ?? 80
        let cpu: JSONValue = [
            "type": "Resource", "resource": ["name": "cpu", "target": ["type": "Utilization", "averageUtilization": target]],
        ]
        guard let current = TableFormat.present(hpa[path: "status", "currentCPUUtilizationPercentage"]) else {
            return ([cpu], [])
        }
        return ([cpu], [["type": "Resource", "resource": ["name": "cpu", "current": ["averageUtilization": current]]]])
    }
}
