import Foundation
import SwiftletMachinery

/// How one resource turns into table rows: upstream's column definitions and print function.
public struct TablePrinter: Sendable {
    public var columns: [TableColumn]
    /// One cell per column, wide columns included: the API server always prints wide and
    /// leaves hiding priority-1 columns to kubectl.
    public var cells: @Sendable (_ object: JSONValue, _ now: Date) -> [JSONValue]
    /// Row conditions; only pods have any (`Completed` once they succeed or fail).
    public var conditions: @Sendable (_ object: JSONValue) -> [JSONValue] = { _ in [] }

    public init(columns: [TableColumn], cells: @escaping @Sendable (_ object: JSONValue, _ now: Date) -> [JSONValue],
                conditions: @escaping @Sendable (_ object: JSONValue) -> [JSONValue] = { _ in [] }) {
        self.columns = columns
        self.cells = cells
        self.conditions = conditions
    }
}

/// Server-side printing: what the API server returns when kubectl asks for
/// `application/json;as=Table;v=v1;g=meta.k8s.io`, which is what `kubectl get` shows.
///
/// Columns and cells reproduce Kubernetes 1.34's pkg/printers/internalversion/printers.go; each
/// resource's printer is its `ResourceType`'s `table`, and resources without one (nil) get
/// apiserver's default convertor (Name, Created At).
public enum TableConverter {
    /// The scale subresource of any resource, which is served as an autoscaling/v1 Scale.
    public static let scale: TablePrinter = AutoscalingTables.scale

    /// The column definitions a printer gives.
    public static func columns(_ printer: TablePrinter?) -> [TableColumn] {
        (printer ?? DefaultTable.printer).columns
    }

    /// The cells of one object's row, one per column.
    public static func cells(_ printer: TablePrinter?, object: JSONValue, now: Date = Date()) -> [JSONValue] {
        (printer ?? DefaultTable.printer).cells(object, now)
    }

    /// The includeObject values the API server accepts; it answers anything else with
    /// 400 `unrecognized includeObject value: "…"`. Empty means Metadata.
    public static func acceptsIncludeObject(_ value: String) -> Bool {
        ["", "None", "Metadata", "Object"].contains(value)
    }

    /// One `TableRow`: `{"cells":[…],"object":…}`. The object is a PartialObjectMetadata by
    /// default (kubectl reads names and namespaces from it), the whole object for `Object`
    /// (kubectl asks for that when sorting), and null for `None`.
    public static func row(
        _ printer: TablePrinter?, object: JSONValue, includeObject: String = "Metadata", now: Date = Date()
    ) -> JSONValue {
        row(printer ?? DefaultTable.printer, object: object, includeObject: includeObject, now: now)
    }

    /// A whole `meta.k8s.io/v1` Table for a list (or a single object: pass its resourceVersion).
    /// `noHeaders` drops the column definitions, as the API server does for every watch event
    /// after the first.
    public static func table(
        _ registered: TablePrinter?, objects: [JSONValue], resourceVersion: String,
        continueToken: String? = nil, remainingItemCount: Int64? = nil, includeObject: String = "Metadata",
        noHeaders: Bool = false, now: Date = Date()
    ) -> JSONValue {
        var metadata = JSONObject()
        if !resourceVersion.isEmpty { metadata["resourceVersion"] = .string(resourceVersion) }
        if let continueToken, !continueToken.isEmpty { metadata["continue"] = .string(continueToken) }
        if let remainingItemCount { metadata["remainingItemCount"] = .int(remainingItemCount) }

        let printer = registered ?? DefaultTable.printer
        let rows = objects.map { row(printer, object: $0, includeObject: includeObject, now: now) }

        var table = JSONObject()
        table["kind"] = "Table"
        table["apiVersion"] = "meta.k8s.io/v1"
        table["metadata"] = .object(metadata)
        table["columnDefinitions"] = noHeaders ? .null : .array(printer.columns.map(\.json))
        // The default convertor appends to a nil slice, so an empty list encodes as null there.
        table["rows"] = rows.isEmpty && registered == nil ? .null : .array(rows)
        return .object(table)
    }

    private static func row(_ printer: TablePrinter, object: JSONValue, includeObject: String, now: Date) -> JSONValue {
        var row = JSONObject()
        row["cells"] = .array(printer.cells(object, now))
        let conditions = printer.conditions(object)
        if !conditions.isEmpty { row["conditions"] = .array(conditions) }
        row["object"] = rowObject(object, includeObject: includeObject)
        return .object(row)
    }

    private static func rowObject(_ object: JSONValue, includeObject: String) -> JSONValue {
        switch includeObject {
        case "Object": return object
        case "None": return .null
        default:
            var metadata = object["metadata"]?.objectValue ?? JSONObject()
            // Go writes a zero creationTimestamp as null rather than leaving it out.
            if metadata["creationTimestamp"] == nil { metadata["creationTimestamp"] = .null }
            return ["kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": .object(metadata)]
        }
    }
}

/// k8s.io/apiserver's defaultTableConvertor, for resources without a printer.
enum DefaultTable {
    /// Created At is the timestamp itself, re-rendered in UTC; Go's zero time when unset.
    static let printer = TablePrinter(
        columns: [
            TableFormat.name,
            TableColumn(name: "Created At", type: "date", description: TableFormat.creationTimestampDescription),
        ],
        cells: { object, _ in
            let created = TableFormat.timestamp(object[path: "metadata", "creationTimestamp"]) ?? RFC3339.goZero
            return [TableFormat.objectName(object), .string(RFC3339.string(from: created))]
        })
}
