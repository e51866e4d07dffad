import SwiftletMachinery

/// Workload defaulting: pkg/apis/apps/v1, batch/v1 and the ReplicationController part of core/v1.
enum WorkloadDefaults {
    typealias Edit = DefaultingEdit

    static func deployment(_ object: inout JSONValue) {
        Edit.editObject(&object, "spec", create: true) { spec in
            Edit.setIfUnset(&spec, "replicas", 1)
            var strategy = spec["strategy"]?.objectValue.map(JSONValue.object) ?? .object(JSONObject())
            Edit.setIfEmpty(&strategy, "type", "RollingUpdate")
            if strategy["type"] == "RollingUpdate" {
                Edit.setIfUnset(&strategy, "rollingUpdate", .object(JSONObject()))
                Edit.editObject(&strategy, "rollingUpdate") { rollingUpdate in
                    Edit.setIfUnset(&rollingUpdate, "maxUnavailable", "25%")
                    Edit.setIfUnset(&rollingUpdate, "maxSurge", "25%")
                }
            }
            spec["strategy"] = strategy
            Edit.setIfUnset(&spec, "revisionHistoryLimit", 10)
            Edit.setIfUnset(&spec, "progressDeadlineSeconds", 600)
            Edit.editObject(&spec, "template", create: true, PodDefaults.applyToTemplate)
        }
    }

    static func replicaSet(_ object: inout JSONValue) {
        Edit.editObject(&object, "spec", create: true) { spec in
            Edit.setIfUnset(&spec, "replicas", 1)
            Edit.editObject(&spec, "template", create: true, PodDefaults.applyToTemplate)
        }
    }

    static func daemonSet(_ object: inout JSONValue) {
        Edit.editObject(&object, "spec", create: true) { spec in
            var strategy = spec["updateStrategy"]?.objectValue.map(JSONValue.object) ?? .object(JSONObject())
            Edit.setIfEmpty(&strategy, "type", "RollingUpdate")
            if strategy["type"] == "RollingUpdate" {
                Edit.setIfUnset(&strategy, "rollingUpdate", .object(JSONObject()))
                Edit.editObject(&strategy, "rollingUpdate") { rollingUpdate in
                    Edit.setIfUnset(&rollingUpdate, "maxUnavailable", 1)
                    Edit.setIfUnset(&rollingUpdate, "maxSurge", 0)
                }
            }
            spec["updateStrategy"] = strategy
            Edit.setIfUnset(&spec, "revisionHistoryLimit", 10)
            Edit.editObject(&spec, "template", create: true, PodDefaults.applyToTemplate)
        }
    }

    static func statefulSet(_ object: inout JSONValue) {
        Edit.editObject(&object, "spec", create: true) { spec in
            Edit.setIfEmpty(&spec, "podManagementPolicy", "OrderedReady")
            var strategy = spec["updateStrategy"]?.objectValue.map(JSONValue.object) ?? .object(JSONObject())
            if Edit.isUnset(strategy["type"]) || strategy["type"] == "" {
                strategy["type"] = "RollingUpdate"
                Edit.setIfUnset(&strategy, "rollingUpdate", .object(JSONObject()))
            }
            if strategy["type"] == "RollingUpdate" {
                Edit.editObject(&strategy, "rollingUpdate") { Edit.setIfUnset(&$0, "partition", 0) }
            }
            spec["updateStrategy"] = strategy
            Edit.setIfUnset(&spec, "persistentVolumeClaimRetentionPolicy", .object(JSONObject()))
            Edit.editObject(&spec, "persistentVolumeClaimRetentionPolicy") { policy in
                Edit.setIfEmpty(&policy, "whenDeleted", "Retain")
                Edit.setIfEmpty(&policy, "whenScaled", "Retain")
            }
            Edit.setIfUnset(&spec, "replicas", 1)
            Edit.setIfUnset(&spec, "revisionHistoryLimit", 10)
            Edit.editObject(&spec, "template", create: true, PodDefaults.applyToTemplate)
            Edit.editEach(&spec, "volumeClaimTemplates") { claim in
                Edit.setIfEmpty(&claim, "apiVersion", "v1")
                Edit.setIfEmpty(&claim, "kind", "PersistentVolumeClaim")
                Edit.editObject(&claim, "spec", create: true, VolumeDefaults.claimSpec)
                var status = claim["status"]?.objectValue.map(JSONValue.object) ?? .object(JSONObject())
                Edit.setIfEmpty(&status, "phase", "Pending")
                claim["status"] = status
            }
        }
    }

    /// SetDefaults_ReplicationController: an RC without a selector selects its template's labels.
    static func replicationController(_ object: inout JSONValue) {
        if let labels = object[path: "spec", "template", "metadata", "labels"], case .object = labels {
            if (object[path: "spec", "selector"]?.objectValue ?? JSONObject()).isEmpty { object[path: "spec", "selector"] = labels }
            if (object[path: "metadata", "labels"]?.objectValue ?? JSONObject()).isEmpty { object[path: "metadata", "labels"] = labels }
        }
        Edit.editObject(&object, "spec", create: true) { spec in
            Edit.setIfUnset(&spec, "replicas", 1)
            // The RC template is a pointer: only a present one is defaulted.
            Edit.editObject(&spec, "template", PodDefaults.applyToTemplate)
        }
    }

    static func job(_ object: inout JSONValue) {
        if let labels = object[path: "spec", "template", "metadata", "labels"], case .object = labels,
           (object[path: "metadata", "labels"]?.objectValue ?? JSONObject()).isEmpty {
            object[path: "metadata", "labels"] = labels
        }
        Edit.editObject(&object, "spec", create: true) { spec in
            if Edit.isUnset(spec["completions"]) && Edit.isUnset(spec["parallelism"]) {
                spec["completions"] = 1
                spec["parallelism"] = 1
            }
            Edit.setIfUnset(&spec, "parallelism", 1)
            Edit.setIfUnset(&spec, "backoffLimit", Edit.isUnset(spec["backoffLimitPerIndex"]) ? 6 : .int(Int64(Int32.max)))
            Edit.setIfUnset(&spec, "completionMode", "NonIndexed")
            Edit.setIfUnset(&spec, "suspend", false)
            Edit.setIfUnset(&spec, "podReplacementPolicy", Edit.isUnset(spec["podFailurePolicy"]) ? "TerminatingOrFailed" : "Failed")
            Edit.setIfUnset(&spec, "manualSelector", false)
            Edit.editObject(&spec, "template", create: true, PodDefaults.applyToTemplate)
        }
    }

    /// A CronJob's job template gets pod defaults only: SetDefaults_Job applies to Jobs.
    static func cronJob(_ object: inout JSONValue) {
        Edit.editObject(&object, "spec", create: true) { spec in
            Edit.setIfEmpty(&spec, "concurrencyPolicy", "Allow")
            Edit.setIfUnset(&spec, "suspend", false)
            Edit.setIfUnset(&spec, "successfulJobsHistoryLimit", 3)
            Edit.setIfUnset(&spec, "failedJobsHistoryLimit", 1)
            Edit.editObject(&spec, "jobTemplate", create: true) { template in
                Edit.editObject(&template, "spec", create: true) { Edit.editObject(&$0, "template", create: true, PodDefaults.applyToTemplate) }
            }
        }
    }
}
