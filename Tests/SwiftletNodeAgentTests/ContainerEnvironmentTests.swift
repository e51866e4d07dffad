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

    @Test func servicesGiveTheirVariablesAndTheAPIsAlways() throws {
        let master: JSONValue = ["metadata": ["name": "kubernetes", "namespace": "default"],
                                 "spec": ["clusterIP": "10.43.0.1", "ports": [["name": "https", "port": 443, "protocol": "TCP"]]]]
        let services: [JSONValue] = [
            ["metadata": ["name": "web-api", "namespace": "prod"],
             "spec": ["clusterIP": "10.43.7.7", "ports": [["port": 80], ["name": "dns", "port": 53, "protocol": "UDP"]]]],
            ["metadata": ["name": "headless", "namespace": "prod"], "spec": ["clusterIP": "None", "ports": [["port": 80]]]],
        ]
        let variables = ServiceEnvironment.variables(for: pod, namespaceServices: services, masterService: master)
        let values = Dictionary(uniqueKeysWithValues: variables.map { ($0.name, $0.value) })
        #expect(values["KUBERNETES_SERVICE_HOST"] == "10.43.0.1")
        #expect(values["KUBERNETES_SERVICE_PORT"] == "443")
        #expect(values["KUBERNETES_SERVICE_PORT_HTTPS"] == "443")
        #expect(values["KUBERNETES_PORT"] == "tcp://10.43.0.1:443")
        #expect(values["KUBERNETES_PORT_443_TCP_ADDR"] == "10.43.0.1")
        #expect(values["WEB_API_SERVICE_HOST"] == "10.43.7.7")
        #expect(values["WEB_API_SERVICE_PORT"] == "80")
        #expect(values["WEB_API_SERVICE_PORT_DNS"] == "53")
        #expect(values["WEB_API_PORT"] == "tcp://10.43.7.7:80")
        #expect(values["WEB_API_PORT_53_UDP"] == "udp://10.43.7.7:53")
        #expect(values["WEB_API_PORT_53_UDP_PROTO"] == "udp")
        #expect(values["WEB_API_PORT_53_UDP_PORT"] == "53")
        #expect(!values.keys.contains { $0.hasPrefix("HEADLESS") })
        #expect(variables.count == 8 + 12)

        // Without service links only the API's remain; the pod's own variables win and may use them.
        var quiet = pod
        quiet[path: "spec", "enableServiceLinks"] = false
        let remaining = ServiceEnvironment.variables(for: quiet, namespaceServices: services, masterService: master)
        #expect(remaining.allSatisfy { $0.name.hasPrefix("KUBERNETES_") })
        var environment = self.environment()
        environment.serviceVariables = remaining
        let container: JSONValue = ["env": [["name": "KUBERNETES_SERVICE_PORT", "value": "6443"],
                                            ["name": "API", "value": "https://$(KUBERNETES_SERVICE_HOST):$(KUBERNETES_SERVICE_PORT)"]]]
        let own = Dictionary(uniqueKeysWithValues: try environment.variables(for: container).map { ($0.name, $0.value) })
        #expect(own["API"] == "https://10.43.0.1:6443")
    }
}
