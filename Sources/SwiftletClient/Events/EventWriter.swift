import Foundation
import SwiftletAPI
import SwiftletMachinery

/// Writes recorded events, one at a time, aggregating repeats: the same event within
/// `window` of its last occurrence bumps `count` and `lastTimestamp` on the existing Event
/// rather than adding another, so a controller retrying every few seconds leaves one Event
/// that reads "x42 over 3m" in `kubectl describe`, not 42 objects.
///
/// Owned by the recorder's single writer task, so it needs no lock.
struct EventWriter {
    private struct Seen {
        var name: String
        var namespace: String
        var count: Int64
        var lastSeen: Duration
    }

    let client: APIClient
    let source: JSONValue
    let component: String
    let window: Duration
    let log: LogSink
    /// Bounds the aggregation memory, as client-go's LRU of 4096 does.
    private let maxRemembered = 4096
    private var seen: [[String]: Seen] = [:]
    private var lastNanos: Int64 = 0

    init(client: APIClient, source: JSONValue, component: String, window: Duration, log: @escaping LogSink) {
        self.client = client
        self.source = source
        self.component = component
        self.window = window
        self.log = log
    }

    mutating func write(_ record: EventRecord) async {
        let key = record.aggregationKey(source: source)
        if let previous = seen[key], record.elapsed < previous.lastSeen + window {
            let count = previous.count + 1
            let patch: JSONValue = ["count": .int(count), "lastTimestamp": .string(RFC3339.string(from: record.time))]
            do {
                _ = try await client.patch(Resources.events, namespace: previous.namespace, name: previous.name, .merge(patch))
                seen[key] = Seen(name: previous.name, namespace: previous.namespace, count: count, lastSeen: record.elapsed)
                return
            } catch where error.code == 404 {
                // The Event expired or was deleted: start a new one.
            } catch {
                log("event \(previous.namespace)/\(previous.name) not updated: \(error.message)")
                return
            }
        }
        let event = newEvent(record)
        do {
            let created = try await client.create(Resources.events, namespace: record.namespace, event)
            remember(key, Seen(name: created[path: "metadata", "name"]?.stringValue ?? "", namespace: record.namespace,
                               count: 1, lastSeen: record.elapsed))
        } catch {
            log("event \(record.reason) for \(record.namespace)/\(record.objectName) not written: \(error.message)")
        }
    }

    private mutating func newEvent(_ record: EventRecord) -> JSONValue {
        let timestamp = JSONValue.string(RFC3339.string(from: record.time))
        return [
            "apiVersion": "v1", "kind": "Event",
            "metadata": ["name": .string(eventName(record)), "namespace": .string(record.namespace)],
            "involvedObject": record.involvedObject,
            "reason": .string(record.reason), "message": .string(record.message), "type": .string(record.type.rawValue),
            "source": source, "firstTimestamp": timestamp, "lastTimestamp": timestamp, "count": 1,
            "reportingComponent": .string(component), "reportingInstance": source["host"] ?? "",
        ]
    }

    /// `<object name>.<unix nanoseconds in hex>`, as upstream names events. The time is bumped
    /// when it has not moved since the last name (a coarse or manual clock), so names stay unique.
    private mutating func eventName(_ record: EventRecord) -> String {
        let nanos = max(Int64(record.time.timeIntervalSince1970 * 1e9), lastNanos + 1)
        lastNanos = nanos
        let hex = String(UInt64(bitPattern: nanos), radix: 16)
        return "\(record.objectName).\(String(repeating: "0", count: max(0, 16 - hex.count)))\(hex)"
    }

    private mutating func remember(_ key: [String], _ entry: Seen) {
        seen[key] = entry
        guard seen.count > maxRemembered else { return }
        let oldestFirst = seen.sorted { $0.value.lastSeen < $1.value.lastSeen }
        for (key, _) in oldestFirst.prefix(seen.count - maxRemembered * 3 / 4) { seen[key] = nil }
    }
}
