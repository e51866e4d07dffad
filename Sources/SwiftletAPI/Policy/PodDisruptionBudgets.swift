import Foundation
import SwiftletMachinery

extension Resources {
    public static let poddisruptionbudgets = ResourceInfo(
        group: "policy", version: "v1", resource: "poddisruptionbudgets", singular: "poddisruptionbudget",
        kind: "PodDisruptionBudget", namespaced: true, shortNames: ["pdb"], verbs: allVerbs,
        subresources: [.init(name: "status", group: "policy", version: "v1", kind: "PodDisruptionBudget", verbs: statusVerbs)])
}

extension ResourceTypes {
    public static let podDisruptionBudgets = ResourceType(
        Resources.poddisruptionbudgets, validate: { o, _ in PodDisruptionBudgets.validate(o) },
        table: PodDisruptionBudgets.printer, tracksGeneration: true)
}

/// `policy/v1` PodDisruptionBudget: validation and printing as upstream's.
enum PodDisruptionBudgets {
    static func validate(_ pdb: JSONValue) -> [FieldError] {
        var errors = ObjectMetaValidation.validate(pdb, rule: .subdomain)
        let spec = pdb["spec"] ?? .object(JSONObject())
        let minAvailable = spec["minAvailable"], maxUnavailable = spec["maxUnavailable"]
        if FieldRead.isSet(minAvailable) && FieldRead.isSet(maxUnavailable) {
            errors.append(.invalid("spec", nil, "minAvailable and maxUnavailable cannot be both set"))
        }
        for (name, value) in [("minAvailable", minAvailable), ("maxUnavailable", maxUnavailable)] {
            guard let value, !value.isNull else { continue }
            let path = ValidationPath("spec").child(name)
            errors += IntOrPercent.positive(value, path) + IntOrPercent.notMoreThan100Percent(value, path)
        }
        return errors
    }

    static let printer = TablePrinter(
        columns: [
            TableFormat.name,
            TableFormat.column("Min Available", "string", "The minimum number of pods that must be available."),
            TableFormat.column("Max Unavailable", "string", "The maximum number of pods that may be unavailable."),
            TableFormat.column("Allowed Disruptions", "integer", "Calculated number of pods that may be disrupted at this time."),
            TableFormat.age,
        ],
        cells: { pdb, now in
            func intOrString(_ value: JSONValue?) -> JSONValue {
                guard let value, !value.isNull else { return "N/A" }
                return .string(value.stringValue ?? value.intValue.map(String.init) ?? "N/A")
            }
            return [
                TableFormat.objectName(pdb), intOrString(pdb[path: "spec", "minAvailable"]),
                intOrString(pdb[path: "spec", "maxUnavailable"]), .int(TableFormat.int(pdb[path: "status", "disruptionsAllowed"])),
                TableFormat.creationAge(pdb, now: now),
            ]
        })
}
