import Foundation
import SwiftletMachinery

/// Whether an Event reports routine progress or something a person may need to look at.
public enum EventType: String, Sendable {
    case normal = "Normal", warning = "Warning"
}

/// One call to `EventRecorder.event`, captured when it was made.
struct EventRecord: Sendable {
    /// The `involvedObject` reference: kind, apiVersion, namespace, name, uid, resourceVersion.
    var involvedObject: JSONValue
    var type: EventType
    var reason: String
    var message: String
    /// Wall time, for the Event's timestamps.
    var time: Date
    /// Monotonic time, for the aggregation window.
    var elapsed: Duration

    init(object: JSONValue, type: EventType, reason: String, message: String, time: Date, elapsed: Duration) {
        var reference = JSONValue.object(JSONObject())
        reference["kind"] = object["kind"]
        reference["namespace"] = object[path: "metadata", "namespace"]
        reference["name"] = object[path: "metadata", "name"]
        reference["uid"] = object[path: "metadata", "uid"]
        reference["apiVersion"] = object["apiVersion"]
        reference["resourceVersion"] = object[path: "metadata", "resourceVersion"]
        self.involvedObject = reference
        self.type = type
        self.reason = reason
        self.message = message
        self.time = time
        self.elapsed = elapsed
    }

    var objectName: String { involvedObject["name"]?.stringValue ?? "" }

    /// Events live in their object's namespace; those about cluster-scoped objects in "default".
    var namespace: String {
        let ns = involvedObject["namespace"]?.stringValue ?? ""
        return ns.isEmpty ? "default" : ns
    }

    /// What makes two records "the same event" for aggregation, as client-go's
    /// `getEventKey`: the source, the object (without its resourceVersion, which changes
    /// with every write to it), type, reason and message.
    func aggregationKey(source: JSONValue) -> [String] {
        let fields = ["kind", "namespace", "name", "uid", "apiVersion"].map { involvedObject[$0]?.stringValue ?? "" }
        return [source["component"]?.stringValue ?? "", source["host"]?.stringValue ?? ""] + fields
            + [type.rawValue, reason, message]
    }
}
