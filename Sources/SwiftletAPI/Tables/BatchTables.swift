import Foundation
import SwiftletMachinery

/// Jobs and cron jobs.
enum BatchTables {
    static let job = TablePrinter(
        columns: [
            TableFormat.name,
            TableFormat.column("Status", "string", "Status of the job."),
            TableFormat.column(
                "Completions", "string",
                "The number of pods which reached phase Succeeded. The value increases monotonically for a given spec. However, it may decrease in reaction to scale down of elastic indexed jobs."
            ),
            TableFormat.column("Duration", "string", "Time required to complete the job."),
            TableFormat.age, TableFormat.containers, TableFormat.images,
            TableFormat.column("Selector", "string", jobSelectorDescription, priority: 1),
        ],
        cells: { job, now in
            [
                TableFormat.objectName(job), .string(jobStatus(job)), .string(completions(job)),
                .string(duration(job, now: now)), TableFormat.creationAge(job, now: now),
            ] + TableFormat.containerCells(job[path: "spec", "template", "spec"])
                + [.string(TableFormat.labelSelector(job[path: "spec", "selector"]))]
        })

    static let cronJob = TablePrinter(
        columns: [
            TableFormat.name,
            TableFormat.column("Schedule", "string", "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron."),
            TableFormat.column(
                "Timezone", "string",
                "The time zone name for the given schedule, see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones. If not specified, this will default to the time zone of the kube-controller-manager process. The set of valid time zone names and the time zone offset is loaded from the system-wide time zone database by the API server during CronJob validation and the controller manager during execution. If no system-wide time zone database can be found a bundled version of the database is used instead. If the time zone name becomes invalid during the lifetime of a CronJob or due to a change in host configuration, the controller will stop creating new new Jobs and will create a system event with the reason UnknownTimeZone. More information can be found in https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/#time-zones"
            ),
            TableFormat.column(
                "Suspend", "boolean",
                "This flag tells the controller to suspend subsequent executions, it does not apply to already started executions.  Defaults to false."
            ),
            TableFormat.column("Active", "integer", "A list of pointers to currently running jobs."),
            TableFormat.column(
                "Last Schedule", "string", "Information when was the last time the job was successfully scheduled."),
            TableFormat.age, TableFormat.containers, TableFormat.images,
            TableFormat.column("Selector", "string", jobSelectorDescription, priority: 1),
        ],
        cells: { cronJob, now in
            let spec = cronJob["spec"]
            let lastSchedule = TableFormat.present(cronJob[path: "status", "lastScheduleTime"])
            let suspend: String
            switch spec?["suspend"]?.boolValue {
            case true?: suspend = "True"
            case false?: suspend = "False"
            case nil: suspend = "<unset>"
            }
            return [
                TableFormat.objectName(cronJob), .string(TableFormat.text(spec?["schedule"])),
                .string(TableFormat.present(spec?["timeZone"])?.stringValue ?? "<none>"), .string(suspend),
                .int(Int64(TableFormat.array(cronJob[path: "status", "active"]).count)),
                .string(lastSchedule.map { TableFormat.age($0, now: now) } ?? "<none>"),
                TableFormat.creationAge(cronJob, now: now),
            ] + TableFormat.containerCells(spec?[path: "jobTemplate", "spec", "template", "spec"])
                + [.string(TableFormat.labelSelector(spec?[path: "jobTemplate", "spec", "selector"]))]
        })

    private static let jobSelectorDescription =
        "A label query over pods that should match the pod count. Normally, the system sets this field for you. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors"

    /// The first matching condition decides; terminal states outrank deletion.
    private static func jobStatus(_ job: JSONValue) -> String {
        func holds(_ type: String) -> Bool {
            TableFormat.text(TableFormat.condition(job[path: "status", "conditions"], type: type)?["status"]) == "True"
        }
        if holds("Complete") { return "Complete" }
        if holds("Failed") { return "Failed" }
        if TableFormat.present(job[path: "metadata", "deletionTimestamp"]) != nil { return "Terminating" }
        if holds("Suspended") { return "Suspended" }
        if holds("FailureTarget") { return "FailureTarget" }
        if holds("SuccessCriteriaMet") { return "SuccessCriteriaMet" }
        return "Running"
    }

    private static func completions(_ job: JSONValue) -> String {
        let succeeded = TableFormat.int(job[path: "status", "succeeded"])
        if let completions = TableFormat.present(job[path: "spec", "completions"]) {
            return "\(succeeded)/\(TableFormat.int(completions))"
        }
        let parallelism = TableFormat.int(job[path: "spec", "parallelism"])
        return parallelism > 1 ? "\(succeeded)/1 of \(parallelism)" : "\(succeeded)/1"
    }

    /// Empty until the job starts; running time so far until it completes.
    private static func duration(_ job: JSONValue, now: Date) -> String {
        guard let start = TableFormat.timestamp(job[path: "status", "startTime"]) else { return "" }
        let end = TableFormat.timestamp(job[path: "status", "completionTime"]) ?? now
        return HumanDuration.string(end.timeIntervalSince(start))
    }
}
