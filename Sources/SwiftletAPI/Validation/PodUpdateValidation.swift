import SwiftletMachinery

/// ValidatePodUpdate's spec rule: a running pod's spec is fixed, except for container images,
/// a shorter activeDeadlineSeconds, added tolerations and removed scheduling gates.
enum PodUpdateValidation {
    static let updatableFields = "`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"

    static func validate(_ pod: JSONValue, old: JSONValue) -> [FieldError] {
        let spec = pod["spec"] ?? .object(JSONObject()), oldSpec = old["spec"] ?? .object(JSONObject())
        for key in ["containers", "initContainers"] where FieldRead.objects(spec[key]).count != FieldRead.objects(oldSpec[key]).count {
            return [.forbidden("spec.\(key)", "pod updates may not add or remove containers")]
        }
        var errors: [FieldError] = []
        if let deadline = spec["activeDeadlineSeconds"]?.intValue {
            if deadline < 0 || deadline > Int64(Int32.max) {
                return [.invalid("spec.activeDeadlineSeconds", .int(deadline), NameFormat.inclusiveRangeError(0, Int64(Int32.max)))]
            }
            if let previous = oldSpec["activeDeadlineSeconds"]?.intValue, previous < deadline {
                return [.invalid("spec.activeDeadlineSeconds", .int(deadline), "must be less than or equal to previous value")]
            }
        } else if FieldRead.isSet(oldSpec["activeDeadlineSeconds"]) {
            errors.append(.invalid("spec.activeDeadlineSeconds", .null, "must not update from a positive integer to nil value"))
        }
        let oldTolerations = FieldRead.objects(oldSpec["tolerations"]), newTolerations = FieldRead.objects(spec["tolerations"])
        for toleration in oldTolerations {
            var withoutSeconds = toleration
            withoutSeconds["tolerationSeconds"] = nil
            let kept = newTolerations.contains { candidate in
                var other = candidate
                other["tolerationSeconds"] = nil
                return other == withoutSeconds
            }
            if !kept {
                errors.append(.forbidden("spec.tolerations", "existing toleration can not be modified except its tolerationSeconds"))
                break
            }
        }
        let changed = differences(munged(spec, old: oldSpec), oldSpec)
        if !changed.isEmpty {
            let diff = changed.map { "  \($0): \(text(oldSpec[$0])) -> \(text(spec[$0]))" }
            errors.append(.forbidden("spec", "pod updates may not change fields other than \(updatableFields)\n" + diff.joined(separator: "\n")))
        }
        return errors
    }

    /// The new spec with the updatable fields taken from the old one. Binding a pod to a node
    /// (nodeName from empty to set) is the binding subresource's change and also allowed.
    static func munged(_ spec: JSONValue, old: JSONValue) -> JSONValue {
        var spec = spec
        for key in ["containers", "initContainers"] {
            guard var containers = spec[key]?.arrayValue, let oldContainers = old[key]?.arrayValue, containers.count == oldContainers.count else { continue }
            for i in containers.indices where containers[i].objectValue != nil { containers[i]["image"] = oldContainers[i]["image"] }
            spec[key] = .array(containers)
        }
        for key in ["activeDeadlineSeconds", "tolerations", "schedulingGates"] { spec[key] = old[key] }
        if FieldRead.string(old["nodeName"]).isEmpty { spec["nodeName"] = old["nodeName"] }
        if let grace = old["terminationGracePeriodSeconds"]?.intValue, grace < 0, spec["terminationGracePeriodSeconds"] == 1 {
            spec["terminationGracePeriodSeconds"] = old["terminationGracePeriodSeconds"]
        }
        return spec
    }

    /// Upstream appends a go-cmp diff, which cannot be reproduced; this lists old and new values.
    static func text(_ value: JSONValue?) -> String { value.map(JSONWriter.string) ?? "<nil>" }

    /// The top-level spec fields that differ.
    static func differences(_ new: JSONValue, _ old: JSONValue) -> [String] {
        let keys = Set(FieldRead.map(new).keys).union(FieldRead.map(old).keys)
        return keys.filter { new[$0] != old[$0] }.sorted()
    }
}
