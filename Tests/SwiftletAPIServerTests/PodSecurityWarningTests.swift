import Testing
import SwiftletMachinery
@testable import SwiftletAPIServer

/// Pod Security's warnings on updates: a namespace's stricter enforce level names the pods it
/// would refuse, grouped as upstream groups them; a workload's changed template is warned about.
@Suite struct PodSecurityWarningTests {
    static func warnings(_ reply: TestServer.Reply) -> [String] {
        reply.headers["Warning"].map { String($0.dropFirst(#"299 - ""#.count).dropLast()).replacingOccurrences(of: #"\""#, with: #"""#) }
    }

    @Test func aStricterEnforceLevelNamesTheExistingPodsItRefuses() async throws {
        let t = try TestServer()
        for (name, privileged) in [("b-web", false), ("a-web", false), ("c-root", true)] {
            let container: JSONValue = privileged ? ["name": "c", "image": "app:1", "securityContext": ["privileged": true]] : ["name": "c", "image": "app:1"]
            #expect(await t.request(.POST, "/api/v1/namespaces/default/pods", body: [
                "metadata": ["name": .string(name)], "spec": ["containers": [container]]]).status == 201)
        }
        let patch: JSONValue = ["metadata": ["labels": ["pod-security.kubernetes.io/enforce": "baseline"]]]
        let labelled = await t.request(.PATCH, "/api/v1/namespaces/default", body: patch, contentType: "application/merge-patch+json")
        #expect(Self.warnings(labelled) == [
            #"existing pods in namespace "default" violate the new PodSecurity enforce level "baseline:latest""#,
            "c-root: privileged",
        ])
        let restricted: JSONValue = ["metadata": ["labels": ["pod-security.kubernetes.io/enforce": "restricted"]]]
        let tightened = await t.request(.PATCH, "/api/v1/namespaces/default", body: restricted, contentType: "application/merge-patch+json")
        #expect(Self.warnings(tightened) == [
            #"existing pods in namespace "default" violate the new PodSecurity enforce level "restricted:latest""#,
            "a-web (and 1 other pod): allowPrivilegeEscalation != false, unrestricted capabilities, runAsNonRoot != true, seccompProfile",
            "c-root: privileged, allowPrivilegeEscalation != false, unrestricted capabilities, runAsNonRoot != true, seccompProfile",
        ])
        // The same level again says nothing.
        let again = await t.request(.PATCH, "/api/v1/namespaces/default", body: restricted, contentType: "application/merge-patch+json")
        #expect(Self.warnings(again).isEmpty)
    }

    @Test func aWorkloadsChangedTemplateIsWarnedAboutAndAnUnchangedOneIsNot() async throws {
        let t = try TestServer()
        #expect(await t.request(.POST, "/api/v1/namespaces", body: ["metadata": ["name": "locked", "labels": ["pod-security.kubernetes.io/warn": "baseline"]]]).status == 201)
        let deployment: JSONValue = ["metadata": ["name": "web"], "spec": [
            "selector": ["matchLabels": ["app": "web"]],
            "template": ["metadata": ["labels": ["app": "web"]], "spec": ["containers": [["name": "c", "image": "app:1"]]]]]]
        #expect(await t.request(.POST, "/apis/apps/v1/namespaces/locked/deployments", body: deployment).status == 201)
        let scaled = await t.request(.PATCH, "/apis/apps/v1/namespaces/locked/deployments/web", body: ["spec": ["replicas": 3]],
                                     contentType: "application/merge-patch+json")
        #expect(Self.warnings(scaled).isEmpty)
        let hostNetwork = await t.request(.PATCH, "/apis/apps/v1/namespaces/locked/deployments/web",
                                          body: ["spec": ["template": ["spec": ["hostNetwork": true]]]], contentType: "application/merge-patch+json")
        #expect(Self.warnings(hostNetwork) == [#"would violate PodSecurity "baseline:latest": host namespaces (hostNetwork=true)"#])
    }
}
