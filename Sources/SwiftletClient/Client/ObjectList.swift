import SwiftletMachinery

/// The items of a list and the revision it was taken at, which is where a watch that must
/// not miss anything starts.
public struct ObjectList: Sendable {
    public var items: [JSONValue]
    public var resourceVersion: String

    public init(items: [JSONValue], resourceVersion: String) {
        self.items = items
        self.resourceVersion = resourceVersion
    }
}
