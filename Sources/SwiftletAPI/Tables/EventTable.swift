import Foundation
import SwiftletMachinery

/// `kubectl get events`. Both event APIs share one printer upstream, because events.k8s.io/v1
/// objects are stored as core events; the events.k8s.io field names are mapped back here.
enum EventTable {
    static let core = TablePrinter(columns: columns, cells: cells)

    static let eventsAPI = TablePrinter(columns: columns, cells: { event, now in cells(coreFields(event), now: now) })

    private static let columns = [
        TableFormat.column("Last Seen", "string", "The time at which the most recent occurrence of this event was recorded."),
        TableFormat.column("Type", "string", "Type of this event (Normal, Warning), new types could be added in the future"),
        TableFormat.column(
            "Reason", "string",
            "This should be a short, machine understandable string that gives the reason for the transition into the object's current status."
        ),
        TableFormat.column("Object", "string", "The object that this event is about."),
        TableFormat.column(
            "Subobject", "string",
            "If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2]. For example, if the object reference is to a container within a pod, this would take on a value like: \"spec.containers{name}\" (where \"name\" refers to the name of the container that triggered the event) or if no container name is specified \"spec.containers[2]\" (container with index 2 in this pod). This syntax is chosen only to have some well-defined way of referencing a part of an object.",
            priority: 1),
        TableFormat.column(
            "Source", "string", "The component reporting this event. Should be a short machine understandable string.",
            priority: 1),
        TableFormat.column("Message", "string", "A human-readable description of the status of this operation."),
        TableFormat.column(
            "First Seen", "string", "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)",
            priority: 1),
        TableFormat.column("Count", "string", "The number of times this event has occurred.", priority: 1),
        TableColumn(name: "Name", type: "string", format: "name", description: TableFormat.nameDescription, priority: 1),
    ]

    /// Events of the newer API record only eventTime (and a series when they repeat); the
    /// deprecated timestamps and count are what older recorders set.
    private static func cells(_ event: JSONValue, now: Date) -> [JSONValue] {
        var firstSeen = TableFormat.age(event["firstTimestamp"], now: now)
        if TableFormat.timestamp(event["firstTimestamp"]) == nil { firstSeen = TableFormat.age(event["eventTime"], now: now) }
        var lastSeen = TableFormat.age(event["lastTimestamp"], now: now)
        if TableFormat.timestamp(event["lastTimestamp"]) == nil { lastSeen = firstSeen }

        var count = TableFormat.int(event["count"])
        if let series = TableFormat.present(event["series"]) {
            lastSeen = TableFormat.age(series["lastObservedTime"], now: now)
            count = TableFormat.int(series["count"])
        } else if count == 0 {
            count = 1
        }

        let kind = TableFormat.text(event[path: "involvedObject", "kind"]).lowercased()
        let name = TableFormat.text(event[path: "involvedObject", "name"])
        let component = firstNonEmpty(event[path: "source", "component"], event["reportingComponent"])
        let instance = firstNonEmpty(event[path: "source", "host"], event["reportingInstance"])
        return [
            .string(lastSeen), .string(TableFormat.text(event["type"])), .string(TableFormat.text(event["reason"])),
            .string(name.isEmpty ? kind : "\(kind)/\(name)"),
            .string(TableFormat.text(event[path: "involvedObject", "fieldPath"])),
            .string(instance.isEmpty ? component : "\(component), \(instance)"),
            .string(TableFormat.text(event["message"]).trimmingCharacters(in: .whitespacesAndNewlines)),
            .string(firstSeen), .int(count), TableFormat.objectName(event),
        ]
    }

    private static func firstNonEmpty(_ values: JSONValue?...) -> String {
        values.lazy.map { TableFormat.text($0) }.first { !$0.isEmpty } ?? ""
    }

    /// The conversion from events.k8s.io/v1 to the core Event the printer reads.
    private static func coreFields(_ event: JSONValue) -> JSONValue {
        var core = event
        let renames = [
            ("regarding", "involvedObject"), ("note", "message"), ("deprecatedSource", "source"),
            ("deprecatedFirstTimestamp", "firstTimestamp"), ("deprecatedLastTimestamp", "lastTimestamp"),
            ("deprecatedCount", "count"), ("reportingController", "reportingComponent"),
        ]
        for (from, to) in renames { core[to] = event[from] }
        return core
    }
}
