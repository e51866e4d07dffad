import Foundation
import Testing
import SwiftletAPI
import SwiftletMachinery

/// The tests name kinds and resources as upstream's tests do; these find their entries among
/// every kind Swiftlet has written, served or not.
enum Catalogue {
    static let types = ResourceTypes.builtIn + ResourceTypes.awaitingControllers

    static func type(group: String, kind: String) -> ResourceType? {
        types.first { $0.info.group == group && $0.info.kind == kind }
    }

    static func defaults(group: String, kind: String, to object: inout JSONValue) {
        type(group: group, kind: kind)?.defaults(&object)
    }

    static func validate(group: String, kind: String, object: JSONValue, old: JSONValue? = nil) -> [FieldError] {
        guard let type = type(group: group, kind: kind) else {
            Issue.record("no entry for \(kind).\(group)")
            return []
        }
        return type.validate(object, old)
    }

    /// The printer `kubectl get` sees: the resource's own, the Scale printer for the scale
    /// subresource, nil (the default) for anything else.
    static func printer(group: String, resource: String) -> TablePrinter? {
        if group == "autoscaling", resource == "scale" { return TableConverter.scale }
        return types.first { $0.info.group == group && $0.info.resource == resource }?.table
    }
}

extension TableConverter {
    static func columns(group: String, resource: String) -> [TableColumn] {
        columns(Catalogue.printer(group: group, resource: resource))
    }

    static func cells(group: String, resource: String, object: JSONValue, now: Date) -> [JSONValue] {
        cells(Catalogue.printer(group: group, resource: resource), object: object, now: now)
    }

    static func row(group: String, resource: String, object: JSONValue, includeObject: String = "Metadata", now: Date) -> JSONValue {
        row(Catalogue.printer(group: group, resource: resource), object: object, includeObject: includeObject, now: now)
    }

    static func table(group: String, resource: String, objects: [JSONValue], resourceVersion: String,
                      continueToken: String? = nil, remainingItemCount: Int64? = nil, includeObject: String = "Metadata", noHeaders: Bool = false, now: Date) -> JSONValue {
        table(Catalogue.printer(group: group, resource: resource), objects: objects, resourceVersion: resourceVersion,
              continueToken: continueToken, remainingItemCount: remainingItemCount, includeObject: includeObject, noHeaders: noHeaders, now: now)
    }
}
