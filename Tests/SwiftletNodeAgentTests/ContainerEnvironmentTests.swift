import Testing
@testable import SwiftletNodeAgent
import SwiftletMachinery

@Suite struct ContainerEnvironmentTests {
    let pod: JSONValue = [
        "metadata": ["name": "api", "namespace": "prod", "uid": "u-1", "labels": ["app": "api", "tier": "web"]],
        "spec": ["nodeName": "n1"],
    ]
    let objects: [String: JSONValue] = [
        "configmap/prod/settings": ["data": ["MODE": "fast", "LEVEL": "3"]],
        "secret/prod/creds": ["data": ["PASSWORD": "czNjcjN0"]],  // "s3cr3t"
    ]

    func environment() -> ContainerEnvironment {
        let objects = self.objects
        return ContainerEnvironment(pod: pod, hostIP: "192.0.2.2", podIP: "10.42.0.5", allocatable: ["cpu": "2", "memory": "4Gi"],
                                    lookup: { kind, ns, name in objects["\(kind)/\(ns)/\(name)"] })
    }

    @Test func envFromThenEnvWithReferencesExpanded() throws {
        let container: JSONValue = [
            "envFrom": [["configMapRef": ["name": "settings"], "prefix": "CFG_"]],
            "env": [
                ["name": "CFG_MODE", "value": "slow"],
                ["name": "GREETING", "value": "mode $(CFG_MODE) level $(CFG_LEVEL) $$(KEPT) $(MISSING)"],
                ["name": "POD", "valueFrom": ["fieldRef": ["fieldPath": "metadata.name"]]],
                ["name": "TIER", "valueFrom": ["fieldRef": ["fieldPath": "metadata.labels['tier']"]]],
                ["name": "IP", "valueFrom": ["fieldRef": ["fieldPath": "status.podIP"]]],
                ["name": "PASSWORD", "valueFrom": ["secretKeyRef": ["name": "creds", "key": "PASSWORD"]]],
                ["name": "CPUS", "valueFrom": ["resourceFieldRef": ["resource": "limits.cpu"]]],
                ["name": "MEM_MI", "valueFrom": ["resourceFieldRef": ["resource": "limits.memory", "divisor": "1Mi"]]],
            ],
            "resources": ["limits": ["memory": "64Mi"]],
        ]
        let vars = try environment().variables(for: container)
        let values = Dictionary(uniqueKeysWithValues: vars.map { ($0.name, $0.value) })
        #expect(values["CFG_MODE"] == "slow")
        #expect(values["GREETING"] == "mode slow level 3 $(KEPT) $(MISSING)")
        #expect(values["POD"] == "api")
        #expect(values["TIER"] == "web")
        #expect(values["IP"] == "10.42.0.5")
        #expect(values["PASSWORD"] == "s3cr3t")
        #expect(values["CPUS"] == "2")  // no limit: the node's allocatable
        #expect(values["MEM_MI"] == "64")
        #expect(vars.first?.name == "CFG_MODE" || vars.first?.name == "CFG_LEVEL")
    }

    @Test func missingReferencesFailUnlessOptional() {
        let missingMap: JSONValue = ["env": [["name": "X", "valueFrom": ["configMapKeyRef": ["name": "nope", "key": "k"]]]]]
        #expect(throws: ContainerEnvironment.ConfigError.self) { try environment().variables(for: missingMap) }
        do {
            _ = try environment().variables(for: ["env": [["name": "X", "valueFrom": ["configMapKeyRef": ["name": "settings", "key": "k"]]]]])
            Issue.record("a missing key must fail")
        } catch {
            #expect(error.description == "couldn't find key k in ConfigMap prod/settings")
        }
        let optional: JSONValue = ["env": [["name": "X", "valueFrom": ["configMapKeyRef": ["name": "nope", "key": "k", "optional": true]]]]]
        #expect((try? environment().variables(for: optional))?.isEmpty == true)
    }
}
