import SwiftletMachinery

/// Jobs and CronJobs: counts, and pods that run to completion.
enum BatchValidation {
    static func job(_ object: JSONValue) -> [FieldError] {
        ObjectMetaValidation.validate(object, rule: .subdomain) + jobSpec(object["spec"], ValidationPath("spec"))
    }

    static func cronJob(_ object: JSONValue) -> [FieldError] {
        var errors = ObjectMetaValidation.validate(object, rule: .subdomain)
        let name = FieldRead.string(object[path: "metadata", "name"])
        // Job names get an 11-character suffix and must stay DNS-1035 labels.
        if name.utf8.count > 52 { errors.append(.invalid("metadata.name", .string(name), "must be no more than 52 characters")) }
        let spec = object["spec"] ?? .object(JSONObject())
        let specPath = ValidationPath("spec")
        if FieldRead.string(spec["schedule"]).isEmpty { errors.append(.required(specPath.child("schedule").description)) }
        let policy = FieldRead.string(spec["concurrencyPolicy"])
        if !["Allow", "Forbid", "Replace"].contains(policy) {
            errors.append(.notSupported(specPath.child("concurrencyPolicy").description, .string(policy), ["Allow", "Forbid", "Replace"]))
        }
        for field in ["startingDeadlineSeconds", "successfulJobsHistoryLimit", "failedJobsHistoryLimit"] {
            errors += CommonRules.nonNegative(spec[field], specPath.child(field))
        }
        let jobPath = specPath.child("jobTemplate", "spec")
        return errors + jobSpec(spec[path: "jobTemplate", "spec"], jobPath)
    }

    static func jobSpec(_ spec: JSONValue?, _ path: ValidationPath) -> [FieldError] {
        var errors: [FieldError] = []
        for field in ["parallelism", "completions", "activeDeadlineSeconds", "backoffLimit"] {
            errors += CommonRules.nonNegative(spec?[field], path.child(field))
        }
        let template = spec?["template"]
        errors += PodSpecValidation.template(template, path.child("template"))
        let restartPolicy = FieldRead.string(template?[path: "spec", "restartPolicy"])
        if restartPolicy != "OnFailure" && restartPolicy != "Never" {
            errors.append(.notSupported(path.child("template", "spec", "restartPolicy").description, .string(restartPolicy), ["OnFailure", "Never"]))
        }
        return errors
    }
}
