import Foundation
import SwiftletMachinery

/// One resource as the API server serves it, described once: its names and scope
/// (`ResourceInfo`), how its objects are defaulted, validated and printed, which fields
/// selectors may name, and the storage rules that differ between resources. Upstream spreads
/// the same facts over a resource's `pkg/registry/<group>/<resource>/strategy.go`, its
/// `SetDefaults_*`, its `validation.go` and its printer; here they sit in one value, so that a
/// resource is added by writing one entry (see docs/adding-a-resource.md), and so that entries
/// can be made at run time, as CustomResourceDefinitions need.
///
/// What needs the server itself (allocators, caches of other resources) is the server's
/// `ResourceStrategy`, attached where the server registers the entry.
public struct ResourceType: Sendable {
    public var info: ResourceInfo
    /// Fills what a client left out, as upstream's defaulting functions do.
    public var defaults: @Sendable (inout JSONValue) -> Void
    /// Upstream's `ValidateX` on create (`old` nil) and `ValidateXUpdate` on update.
    public var validate: @Sendable (_ object: JSONValue, _ old: JSONValue?) -> [FieldError]
    /// The schema that decoding, field validation and strategic merge patches follow; nil
    /// when the resource has none and takes any fields.
    public var schema: SchemaNode?
    /// A CustomResourceDefinition version's schema, for custom resources (`schema` is then nil):
    /// pruning, defaults and validation follow it.
    public var structuralSchema: StructuralSchema?
    /// The version objects are stored in, when it is not this one (a CRD's other served
    /// versions, converted with `None`: only apiVersion changes).
    public var storageVersion: String?
    /// Server-side printing (`kubectl get`); nil prints Name and Created At, as upstream's
    /// default table convertor.
    public var table: TablePrinter?
    /// The fields, beyond `metadata.name` and `metadata.namespace`, that field selectors may use.
    public var selectableFields: [SelectableField]
    /// Whether `metadata.generation` counts changes to the object outside metadata and status.
    public var tracksGeneration: Bool
    /// Whether a create keeps the status the client sent. Upstream's strategies reset it for
    /// most resources with a status subresource; nodes report theirs when they register.
    public var keepsStatusOnCreate: Bool
    /// Whether a finished delete answers with the deleted object rather than a Status, as
    /// upstream's stores with `ReturnDeletedObject` do (pods, services).
    public var returnsDeletedObject: Bool
    /// Whether a PUT without `metadata.resourceVersion` replaces whatever is stored, as
    /// upstream's `AllowUnconditionalUpdate` lets built-in resources (custom resources refuse).
    public var allowsUnconditionalUpdate: Bool
    /// Where the scale subresource reads and writes replicas and finds the selector.
    public var scale: ScaleFields

    public init(
        _ info: ResourceInfo,
        defaults: @escaping @Sendable (inout JSONValue) -> Void = { _ in },
        validate: (@Sendable (_ object: JSONValue, _ old: JSONValue?) -> [FieldError])? = nil,
        table: TablePrinter? = nil,
        selectableFields: [SelectableField] = [],
        tracksGeneration: Bool = false,
        keepsStatusOnCreate: Bool = false,
        returnsDeletedObject: Bool = false,
        allowsUnconditionalUpdate: Bool = true,
        scale: ScaleFields = .workload
    ) {
        self.info = info
        self.defaults = defaults
        self.validate = validate ?? { object, _ in ObjectMetaValidation.validate(object, rule: .subdomain) }
        self.schema = KubernetesSchema.schema(group: info.group, version: info.version, kind: info.kind)
        self.table = table
        self.selectableFields = selectableFields
        self.tracksGeneration = tracksGeneration
        self.keepsStatusOnCreate = keepsStatusOnCreate
        self.returnsDeletedObject = returnsDeletedObject
        self.allowsUnconditionalUpdate = allowsUnconditionalUpdate
        self.scale = scale
    }

    /// What server-side apply merges and records ownership by: the CRD schema's list and map
    /// types for custom resources, the built-in schema's merge metadata otherwise.
    public var applySchema: (any ApplySchema)? {
        if let structuralSchema { return StructuralApplySchema(node: structuralSchema.root) }
        return schema
    }

    /// The apiVersion stored objects carry.
    public var storageAPIVersion: String {
        guard let storageVersion else { return info.apiVersion }
        return info.group.isEmpty ? storageVersion : "\(info.group)/\(storageVersion)"
    }

    /// Whether a field selector may name `field`.
    public func selects(_ field: String) -> Bool {
        field == "metadata.name" || (info.namespaced && field == "metadata.namespace")
            || selectableFields.contains { $0.name == field }
    }

    /// The values field selectors compare, as upstream's `GetAttrs` gives them.
    public func fieldValues(of object: JSONValue) -> [String: String] {
        var values: [String: String] = [:]
        values["metadata.name"] = object[path: "metadata", "name"]?.stringValue ?? ""
        if info.namespaced { values["metadata.namespace"] = object[path: "metadata", "namespace"]?.stringValue ?? "" }
        for field in selectableFields {
            switch object[keyPath: field.path] {
            case .string(let s): values[field.name] = s
            case .bool(let b): values[field.name] = String(b)
            case .int(let i): values[field.name] = String(i)
            default: values[field.name] = field.unsetValue
            }
        }
        return values
    }
}

/// A field a field selector may name, and where it is in the object.
public struct SelectableField: Sendable {
    public var name: String
    public var path: [String]
    /// What an unset field compares as: "false" for booleans, as upstream's field sets
    /// convert them, and "" otherwise.
    public var unsetValue: String

    public init(_ name: String, unset: String = "") {
        self.name = name
        self.path = name.split(separator: ".").map(String.init)
        self.unsetValue = unset
    }

    public init(_ name: String, path: [String]) {
        self.name = name
        self.path = path
        self.unsetValue = ""
    }
}

/// The fields behind a resource's `autoscaling/v1` Scale: desired replicas, observed replicas,
/// and the pods' selector. Built-in workloads keep them at `spec.replicas`, `status.replicas`
/// and `spec.selector`; a custom resource names them in its CRD's `subresources.scale`.
public struct ScaleFields: Sendable {
    public var specReplicas: [String]
    public var statusReplicas: [String]
    public var selector: Selector

    public enum Selector: Sendable {
        /// A label selector object (Deployments, ReplicaSets, StatefulSets).
        case labelSelector([String])
        /// A plain label map (ReplicationControllers).
        case labelMap([String])
        /// A selector already in text form, as a CRD's `labelSelectorPath` points to; nil
        /// when the CRD names none, and the Scale then carries no selector.
        case text([String]?)
    }

    public init(specReplicas: [String], statusReplicas: [String], selector: Selector) {
        self.specReplicas = specReplicas
        self.statusReplicas = statusReplicas
        self.selector = selector
    }

    public static let workload = ScaleFields(specReplicas: ["spec", "replicas"], statusReplicas: ["status", "replicas"],
                                             selector: .labelSelector(["spec", "selector"]))
    public static let replicationController = ScaleFields(specReplicas: ["spec", "replicas"], statusReplicas: ["status", "replicas"],
                                                          selector: .labelMap(["spec", "selector"]))

    /// The field names of a CRD's simple JSON path (`.spec.replicas`).
    public static func fields(ofPath path: String) -> [String] {
        path.split(separator: ".", omittingEmptySubsequences: true).map(String.init)
    }
}
