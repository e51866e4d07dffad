import SwiftletMachinery
import Testing

/// Parses JSON text written in a test.
func jsonFixture(_ text: String) throws -> JSONValue {
    try JSONParser.parse(text)
}

/// A hand-built strategic merge schema: named fields, a value schema for free-form maps,
/// an element schema for lists, and the field's patch metadata.
final class PatchTestSchema: StrategicMergeSchema {
    let fields: [String: PatchTestSchema]
    let mapValue: PatchTestSchema?
    let element: PatchTestSchema?
    let patchStrategies: Set<String>
    let patchMergeKey: String?

    init(_ fields: [String: PatchTestSchema] = [:], mapValue: PatchTestSchema? = nil, elements: PatchTestSchema? = nil,
         strategies: Set<String> = [], mergeKey: String? = nil) {
        self.fields = fields
        self.mapValue = mapValue
        self.element = elements
        self.patchStrategies = strategies
        self.patchMergeKey = mergeKey
    }

    func member(_ name: String) -> (any StrategicMergeSchema)? { fields[name] ?? mapValue }
    var elements: (any StrategicMergeSchema)? { element }

    /// A list merged by `key` (or by value when nil) whose elements follow `element`.
    static func mergeList(_ key: String?, of element: PatchTestSchema = PatchTestSchema(), retainKeys: Bool = false) -> PatchTestSchema {
        PatchTestSchema(elements: element, strategies: retainKeys ? ["merge", "retainKeys"] : ["merge"], mergeKey: key)
    }

    /// An atomic list: replaced whole by a patch.
    static let atomicList = PatchTestSchema(elements: PatchTestSchema())
    static let stringMap = PatchTestSchema(mapValue: PatchTestSchema())
}

/// The Kubernetes merge metadata the tests need, as the API's OpenAPI extensions give it.
enum PatchTestK8s {
    static let objectMeta = PatchTestSchema([
        "labels": .stringMap,
        "annotations": .stringMap,
        "ownerReferences": .mergeList("uid"),
        "finalizers": .mergeList(nil),
    ])

    static let container = PatchTestSchema([
        "ports": .mergeList("containerPort"),
        "env": .mergeList("name"),
        "volumeMounts": .mergeList("mountPath"),
        "command": .atomicList,
        "args": .atomicList,
        "resources": PatchTestSchema(["limits": .stringMap, "requests": .stringMap]),
    ])

    static let podSpec = PatchTestSchema([
        "containers": .mergeList("name", of: container),
        "initContainers": .mergeList("name", of: container),
        "volumes": .mergeList("name", retainKeys: true),
        "tolerations": .atomicList,
        "nodeSelector": .stringMap,
    ])

    static let conditions = PatchTestSchema.mergeList("type")

    static let pod = PatchTestSchema([
        "metadata": objectMeta,
        "spec": podSpec,
        "status": PatchTestSchema(["conditions": conditions]),
    ])

    static let deployment = PatchTestSchema([
        "metadata": objectMeta,
        "spec": PatchTestSchema([
            "selector": PatchTestSchema(["matchLabels": .stringMap]),
            "strategy": PatchTestSchema(["rollingUpdate": PatchTestSchema()], strategies: ["retainKeys"]),
            "template": PatchTestSchema(["metadata": objectMeta, "spec": podSpec]),
        ]),
        "status": PatchTestSchema(["conditions": conditions]),
    ])

    static let service = PatchTestSchema([
        "metadata": objectMeta,
        "spec": PatchTestSchema(["ports": .mergeList("port"), "selector": .stringMap]),
    ])
}

/// The keys a strategic merge patch steers with; none may appear in a merged object.
func directiveKeys(in value: JSONValue, at path: String = "") -> [String] {
    switch value {
    case .object(let o):
        return o.flatMap { key, member -> [String] in
            let here = path + "/" + key
            let isDirective = key == "$patch" || key == "$retainKeys"
                || key.hasPrefix("$setElementOrder") || key.hasPrefix("$deleteFromPrimitiveList")
            return (isDirective ? [here] : []) + directiveKeys(in: member, at: here)
        }
    case .array(let a):
        return a.enumerated().flatMap { directiveKeys(in: $1, at: path + "/\($0)") }
    default:
        return []
    }
}

/// Applies a strategic merge patch and checks that no directive leaked into the result.
func strategicMerge(_ patch: String, into original: String, schema: (any StrategicMergeSchema)?,
                    sourceLocation: SourceLocation = #_sourceLocation) throws -> JSONValue {
    let result = try StrategicMergePatch.apply(jsonFixture(patch), to: jsonFixture(original), schema: schema)
    #expect(directiveKeys(in: result) == [], "directives leaked into the result", sourceLocation: sourceLocation)
    return result
}

/// The error a strategic merge patch fails with, or nil when it applies.
func strategicMergeError(_ patch: String, into original: String,
                         schema: (any StrategicMergeSchema)?) throws -> PatchError? {
    let patchValue = try jsonFixture(patch)
    let originalValue = try jsonFixture(original)
    do {
        _ = try StrategicMergePatch.apply(patchValue, to: originalValue, schema: schema)
        return nil
    } catch {
        return error
    }
}
