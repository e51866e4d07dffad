import SwiftletMachinery

/// One decoded watch event: `{"type": ..., "object": ...}`.
public struct WatchedEvent: Sendable, Equatable {
    public enum EventType: Sendable, Equatable {
        case added, modified, deleted
        /// Only `object.metadata.resourceVersion` is meaningful: how far the server has got.
        case bookmark
        /// The start revision has left the server's window (410): the watcher must relist,
        /// because the changes in between can no longer be replayed.
        case expired
        /// Any other ERROR event; `object` is the Status.
        case error
    }

    public var type: EventType
    public var object: JSONValue

    public init(type: EventType, object: JSONValue) {
        self.type = type
        self.object = object
    }

    public var resourceVersion: String? { object[path: "metadata", "resourceVersion"]?.stringValue }

    /// The server's error, for `.expired` and `.error` events.
    public var error: APIError? {
        switch type {
        case .expired, .error: return APIError(status: object, httpCode: 500)
        default: return nil
        }
    }

    /// Nil for lines that are not events (a network transport may deliver keep-alive blanks).
    init?(line: ArraySlice<UInt8>) {
        guard let value = try? JSONParser.parse(Array(line)).value, let object = value["object"] else { return nil }
        switch value["type"]?.stringValue {
        case "ADDED": type = .added
        case "MODIFIED": type = .modified
        case "DELETED": type = .deleted
        case "BOOKMARK": type = .bookmark
        case "ERROR": type = object["code"]?.intValue == 410 ? .expired : .error
        default: return nil
        }
        self.object = object
    }
}
