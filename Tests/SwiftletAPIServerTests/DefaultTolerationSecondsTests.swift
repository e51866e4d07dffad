import Foundation
import Testing
import SwiftletMachinery
@testable import SwiftletAPIServer

@Suite struct DefaultTolerationSecondsTests {
    static let podsURI = "/api/v1/namespaces/default/pods"

    static func pod(_ name: String, tolerations: JSONValue? = nil) -> JSONValue {
        var pod: JSONValue = ["apiVersion": "v1", "kind": "Pod", "metadata": ["name": .string(name)],
                              "spec": ["containers": [["name": "c", "image": "nginx"]]]]
        if let tolerations { pod[path: "spec", "tolerations"] = tolerations }
        return pod
    }

    static func defaultToleration(_ key: String, _ seconds: Int64) -> JSONValue {
        ["key": .string(key), "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": .int(seconds)]
    }

    static let notReady = "node.kubernetes.io/not-ready"
    static let unreachable = "node.kubernetes.io/unreachable"

    @Test func aPodWithoutTolerationsGetsBoth() async throws {
        let t = try TestServer()
        let created = await t.request(.POST, Self.podsURI, body: Self.pod("p"))
        #expect(created.status == 201)
        #expect(created.json[path: "spec", "tolerations"] == [Self.defaultToleration(Self.notReady, 300),
                                                              Self.defaultToleration(Self.unreachable, 300)])
        let stored = await t.request(.GET, Self.podsURI + "/p")
        #expect(stored.json[path: "spec", "tolerations"] == created.json[path: "spec", "tolerations"])
    }

    @Test func theSecondsComeFromTheConfiguration() async throws {
        let t = try TestServer(defaultTolerationSeconds: 30)
        let created = await t.request(.POST, Self.podsURI, body: Self.pod("p"))
        #expect(created.json[path: "spec", "tolerations"] == [Self.defaultToleration(Self.notReady, 30),
                                                              Self.defaultToleration(Self.unreachable, 30)])
    }

    @Test func aPodsOwnTolerationIsKeptAndOnlyTheMissingOneAdded() async throws {
        let t = try TestServer()
        let own: JSONValue = ["key": .string(Self.unreachable), "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 10]
        let created = await t.request(.POST, Self.podsURI, body: Self.pod("p", tolerations: [own]))
        #expect(created.status == 201)
        #expect(created.json[path: "spec", "tolerations"] == [own, Self.defaultToleration(Self.notReady, 300)])
    }

    @Test func tolerationsThatAlreadyCoverTheTaintsAreEnough() async throws {
        let t = try TestServer()
        // Empty key with Exists: every taint.
        let everything: JSONValue = [["operator": "Exists"]]
        var r = await t.request(.POST, Self.podsURI, body: Self.pod("all", tolerations: everything))
        #expect(r.json[path: "spec", "tolerations"] == everything)
        // Empty effect: every effect of that key; forever, so no seconds are added either.
        let anyEffect: JSONValue = [["key": .string(Self.notReady), "operator": "Exists"]]
        r = await t.request(.POST, Self.podsURI, body: Self.pod("any-effect", tolerations: anyEffect))
        #expect(r.json[path: "spec", "tolerations"] == [anyEffect[0]!, Self.defaultToleration(Self.unreachable, 300)])
        // Another effect of the same key does not count.
        let noSchedule: JSONValue = [["key": .string(Self.notReady), "operator": "Exists", "effect": "NoSchedule"]]
        r = await t.request(.POST, Self.podsURI, body: Self.pod("no-schedule", tolerations: noSchedule))
        #expect(r.json[path: "spec", "tolerations"] == [noSchedule[0]!, Self.defaultToleration(Self.notReady, 300),
                                                        Self.defaultToleration(Self.unreachable, 300)])
    }

    @Test func updatesAreAdmittedButNeverDuplicateAndSubresourcesAreNot() async throws {
        let t = try TestServer()
        _ = await t.request(.POST, Self.podsURI, body: Self.pod("p"))
        let defaults: JSONValue = [Self.defaultToleration(Self.notReady, 300), Self.defaultToleration(Self.unreachable, 300)]

        // An update that keeps them changes nothing about them.
        var pod = await t.request(.GET, Self.podsURI + "/p").json
        pod[path: "metadata", "labels"] = ["a": "b"]
        var r = await t.request(.PUT, Self.podsURI + "/p", body: pod)
        #expect(r.status == 200)
        #expect(r.json[path: "spec", "tolerations"] == defaults)

        // Upstream admits updates too (before validation): a PUT that leaves them out gets them
        // back, rather than failing validation for removing tolerations.
        pod = r.json
        pod[path: "spec", "tolerations"] = nil
        r = await t.request(.PUT, Self.podsURI + "/p", body: pod)
        #expect(r.status == 200)
        #expect(r.json[path: "spec", "tolerations"] == defaults)

        // A status write is not admitted: the spec it carries is ignored anyway.
        pod = r.json
        pod[path: "status", "phase"] = "Running"
        r = await t.request(.PUT, Self.podsURI + "/p/status", body: pod)
        #expect(r.status == 200)
        #expect(r.json[path: "spec", "tolerations"] == defaults)
    }

    @Test func onlyPodsAreAdmitted() async throws {
        let t = try TestServer()
        let deployment = await t.request(.POST, "/apis/apps/v1/namespaces/default/deployments", body: TestServer.deployment("web"))
        #expect(deployment.status == 201)
        #expect(deployment.json[path: "spec", "template", "spec", "tolerations"] == nil)
    }
}
