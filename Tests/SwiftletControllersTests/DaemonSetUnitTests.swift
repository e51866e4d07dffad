import Foundation
import Testing
@testable import SwiftletControllers
import SwiftletMachinery

@Suite struct DaemonSetUnitTests {
    typealias P = DaemonSetController.Placement

    static func node(_ name: String, labels: JSONValue = [:], taints: [JSONValue] = []) -> JSONValue {
        ["metadata": ["name": .string(name), "labels": labels], "spec": ["taints": .array(taints)]]
    }

    @Test func daemonTolerationsAreAddedOnceAndNetworkOnlyForHostNetwork() {
        var spec: JSONValue = ["tolerations": [["key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"]]]
        P.addDaemonTolerations(&spec)
        P.addDaemonTolerations(&spec)
        let keys = (spec["tolerations"]?.arrayValue ?? []).compactMap { $0["key"]?.stringValue }
        #expect(keys.count == 6 && Set(keys).count == 6)
        #expect(!keys.contains("node.kubernetes.io/network-unavailable"))
        var host: JSONValue = ["hostNetwork": true]
        P.addDaemonTolerations(&host)
        #expect(host["tolerations"]?.arrayValue?.contains { $0["key"] == "node.kubernetes.io/network-unavailable" } == true)
    }

    @Test func bindAffinityReplacesTheRequiredTermsAndKeepsPreferred() {
        var spec: JSONValue = ["affinity": ["nodeAffinity": [
            "requiredDuringSchedulingIgnoredDuringExecution": ["nodeSelectorTerms": [
                ["matchFields": [["key": "metadata.name", "operator": "In", "values": ["old"]]]],
                ["matchExpressions": [["key": "zone", "operator": "In", "values": ["a"]]]],
            ]],
            "preferredDuringSchedulingIgnoredDuringExecution": [["weight": 1, "preference": ["matchExpressions": []]]],
        ]]]
        P.bindAffinity(&spec, to: "n7")
        #expect(spec[path: "affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution"] == ["nodeSelectorTerms": [
            ["matchFields": [["key": "metadata.name", "operator": "In", "values": ["n7"]]]]]])
        #expect(spec[path: "affinity", "nodeAffinity", "preferredDuringSchedulingIgnoredDuringExecution"] != nil)
        #expect(P.targetNode(of: ["spec": spec]) == "n7")
        #expect(P.targetNode(of: ["spec": ["nodeName": "bound"]]) == "bound")
        #expect(P.targetNode(of: ["spec": [:]]) == nil)
    }

    @Test func nodeSelectorAndRequiredAffinityTermsAreMatched() {
        let template: JSONValue = ["spec": [
            "nodeSelector": ["disk": "ssd"],
            "affinity": ["nodeAffinity": ["requiredDuringSchedulingIgnoredDuringExecution": ["nodeSelectorTerms": [
                ["matchExpressions": [["key": "zone", "operator": "In", "values": ["a", "b"]]]],
                ["matchFields": [["key": "metadata.name", "operator": "In", "values": ["special"]]]],
            ]]]],
        ]]
        #expect(P.shouldRun(template, on: Self.node("x", labels: ["disk": "ssd", "zone": "a"])) == (true, true))
        #expect(P.shouldRun(template, on: Self.node("x", labels: ["disk": "ssd", "zone": "c"])) == (false, false))
        #expect(P.shouldRun(template, on: Self.node("special", labels: ["disk": "ssd"])) == (true, true))
        #expect(P.shouldRun(template, on: Self.node("special", labels: ["zone": "a"])) == (false, false))
        let empty: JSONValue = ["spec": ["affinity": ["nodeAffinity": ["requiredDuringSchedulingIgnoredDuringExecution": ["nodeSelectorTerms": [[:]]]]]]]
        #expect(P.shouldRun(empty, on: Self.node("x")) == (false, false))
    }

    @Test func taintsDecideWhetherToRunAndWhetherToStay() {
        let plain: JSONValue = ["spec": [:]]
        #expect(P.shouldRun(plain, on: Self.node("n", taints: [["key": "k", "effect": "NoSchedule"]])) == (false, true))
        #expect(P.shouldRun(plain, on: Self.node("n", taints: [["key": "k", "effect": "NoExecute"]])) == (false, false))
        #expect(P.shouldRun(plain, on: Self.node("n", taints: [["key": "k", "effect": "PreferNoSchedule"]])) == (true, true))
        #expect(P.shouldRun(plain, on: Self.node("n", taints: [["key": "node.kubernetes.io/unreachable", "effect": "NoExecute"]])) == (true, true))
        #expect(P.shouldRun(plain, on: Self.node("n", taints: [["key": "node.kubernetes.io/network-unavailable", "effect": "NoSchedule"]])) == (false, true))
        let host: JSONValue = ["spec": ["hostNetwork": true]]
        #expect(P.shouldRun(host, on: Self.node("n", taints: [["key": "node.kubernetes.io/network-unavailable", "effect": "NoSchedule"]])) == (true, true))
        let tolerant: JSONValue = ["spec": ["tolerations": [["key": "k", "operator": "Equal", "value": "v"]]]]
        #expect(P.shouldRun(tolerant, on: Self.node("n", taints: [["key": "k", "value": "v", "effect": "NoExecute"]])) == (true, true))
        #expect(P.shouldRun(tolerant, on: Self.node("n", taints: [["key": "k", "value": "w", "effect": "NoExecute"]])) == (false, false))
        let everything: JSONValue = ["spec": ["tolerations": [["operator": "Exists"]]]]
        #expect(P.shouldRun(everything, on: Self.node("n", taints: [["key": "any", "effect": "NoExecute"]])) == (true, true))
    }

    @Test func maxUnavailableResolvesPercentagesRoundingUp() {
        func ds(_ rolling: JSONValue) -> JSONValue { ["spec": ["updateStrategy": ["type": "RollingUpdate", "rollingUpdate": rolling]]] }
        #expect(DaemonSetController.maxUnavailable(ds(["maxUnavailable": 1, "maxSurge": 0]), desired: 10) == 1)
        #expect(DaemonSetController.maxUnavailable(ds(["maxUnavailable": "25%", "maxSurge": 0]), desired: 10) == 3)
        #expect(DaemonSetController.maxUnavailable(ds(["maxUnavailable": 0, "maxSurge": 0]), desired: 10) == 1)
        #expect(DaemonSetController.maxUnavailable(["spec": [:]], desired: 3) == 1)
    }

    @Test func theTemplateHashIsDeterministic() {
        let template: JSONValue = ["metadata": ["labels": ["app": "a"]], "spec": ["containers": [["name": "c", "image": "x"]]]]
        let a = DeploymentUtil.podTemplateHash(template, collisionCount: nil)
        #expect(a == DeploymentUtil.podTemplateHash(template, collisionCount: nil))
        #expect(a != DeploymentUtil.podTemplateHash(template, collisionCount: 1))
        let data = DaemonSetController.revisionData(["spec": ["template": template]])
        #expect(data[path: "spec", "template", "$patch"] == "replace")
        #expect(DaemonSetController.revisionHash(["metadata": ["name": "ds-abc"]]) == "abc")
    }
}
