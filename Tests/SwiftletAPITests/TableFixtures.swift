import Foundation
import SwiftletAPI
import SwiftletMachinery

/// A fixed clock for the table tests, so AGE cells are exact.
enum TableFixtures {
    static let now = Date(timeIntervalSince1970: 1_795_544_400)  // 2026-11-24T18:20:00Z

    /// A timestamp `seconds` before `now`, as the API server would have written it.
    static func ago(_ seconds: TimeInterval) -> JSONValue { .string(RFC3339.string(from: now.addingTimeInterval(-seconds))) }

    static func microAgo(_ seconds: TimeInterval) -> JSONValue {
        .string(RFC3339.microString(from: now.addingTimeInterval(-seconds)))
    }

    static func metadata(_ name: String, age seconds: TimeInterval, namespace: String? = "default") -> JSONValue {
        var metadata: JSONValue = ["name": .string(name)]
        if let namespace { metadata["namespace"] = .string(namespace) }
        metadata["uid"] = "0b7c1f5e-8f59-4b8e-9d53-5c2a61e0f7a1"
        metadata["resourceVersion"] = "42"
        metadata["creationTimestamp"] = ago(seconds)
        return metadata
    }

    static func cells(_ group: String, _ resource: String, _ object: JSONValue) -> [JSONValue] {
        TableConverter.cells(group: group, resource: resource, object: object, now: now)
    }
}
