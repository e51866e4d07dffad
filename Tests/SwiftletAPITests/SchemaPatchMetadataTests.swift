import SwiftletAPI
import SwiftletMachinery
import Testing

/// The strategic merge patch metadata of the schema, against the patchStrategy and
/// patchMergeKey struct tags of k8s.io/api 1.34.
@Suite struct SchemaPatchMetadataTests {
    static func node(_ group: String, _ version: String, _ kind: String, _ path: String...) throws -> SchemaNode {
        var node = try #require(KubernetesSchema.schema(group: group, version: version, kind: kind))
        for name in path {
            // Lists are passed through: the path names fields, as in `spec.containers.ports`.
            if let element = node.elementNode { node = element }
            node = try #require(node.memberNode(name), "\(name)")
        }
        return node
    }

    @Test func containersMergeOnName() throws {
        let containers = try Self.node("apps", "v1", "Deployment", "spec", "template", "spec", "containers")
        #expect(containers.patchStrategies == ["merge"])
        #expect(containers.patchMergeKey == "name")
        #expect(containers.goType == "[]v1.Container")
        let ports = try #require(containers.elementNode?.memberNode("ports"))
        #expect(ports.patchStrategies == ["merge"])
        #expect(ports.patchMergeKey == "containerPort")
    }

    @Test func volumesMergeAndRetainKeys() throws {
        let volumes = try Self.node("", "v1", "Pod", "spec", "volumes")
        #expect(volumes.patchStrategies == ["merge", "retainKeys"])
        #expect(volumes.patchMergeKey == "name")
    }

    @Test func servicePortsMergeOnPort() throws {
        let ports = try Self.node("", "v1", "Service", "spec", "ports")
        #expect(ports.patchStrategies == ["merge"])
        #expect(ports.patchMergeKey == "port")
    }

    @Test func tolerationsAreReplacedWhole() throws {
        let tolerations = try Self.node("apps", "v1", "DaemonSet", "spec", "template", "spec", "tolerations")
        #expect(tolerations.patchStrategies.isEmpty)
        #expect(tolerations.patchMergeKey == nil)
        #expect(tolerations.elementNode?.memberNode("key") != nil)
    }

    @Test func objectMetaLists() throws {
        let finalizers = try Self.node("", "v1", "ConfigMap", "metadata", "finalizers")
        #expect(finalizers.patchStrategies == ["merge"])
        #expect(finalizers.patchMergeKey == nil)
        let owners = try Self.node("", "v1", "ConfigMap", "metadata", "ownerReferences")
        #expect(owners.patchStrategies == ["merge"])
        #expect(owners.patchMergeKey == "uid")
    }

    @Test func deploymentStrategyRetainsKeysButItsTypeDoesNot() throws {
        // The field carries retainKeys; the DeploymentStrategy type it refers to does not.
        let strategy = try Self.node("apps", "v1", "Deployment", "spec", "strategy")
        #expect(strategy.patchStrategies == ["retainKeys"])
        #expect(strategy.memberNode("rollingUpdate") != nil)
        let daemonStrategy = try Self.node("apps", "v1", "DaemonSet", "spec", "updateStrategy")
        #expect(daemonStrategy.patchStrategies.isEmpty)
    }

    @Test func mapsGiveTheirValueSchemaForAnyKey() throws {
        let limits = try Self.node("", "v1", "Pod", "spec", "containers", "resources", "limits")
        #expect(limits.goType == "v1.ResourceList")
        #expect(limits.memberNode("cpu")?.goType == "resource.Quantity")
        #expect(limits.memberNode("example.com/anything")?.goType == "resource.Quantity")
        let labels = try Self.node("", "v1", "Pod", "metadata", "labels")
        #expect(labels.memberNode("app")?.goType == "string")
    }

    @Test func unknownFieldsAndScalarsHaveNoSchema() throws {
        let spec = try Self.node("apps", "v1", "Deployment", "spec")
        #expect(spec.memberNode("nope") == nil)
        #expect(spec.memberNode("replicas")?.memberNode("x") == nil)
        #expect(spec.elementNode == nil)
    }

    @Test func worksThroughTheProtocol() throws {
        let schema: any StrategicMergeSchema = try #require(KubernetesSchema.schema(group: "", version: "v1", kind: "Pod"))
        let containers = schema.member("spec")?.member("containers")
        #expect(containers?.patchMergeKey == "name")
        #expect(containers?.elements?.member("env")?.patchMergeKey == "name")
    }
}
