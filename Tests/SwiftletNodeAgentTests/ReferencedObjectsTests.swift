import Synchronization
import Testing
import SwiftletAPI
import SwiftletClient
import SwiftletMachinery
@testable import SwiftletNodeAgent
import SwiftletTestSupport

/// The node watches the ConfigMaps and Secrets its pods name, and nothing else.
@Suite struct ReferencedObjectsTests {
    static let pod: JSONValue = [
        "metadata": ["namespace": "default", "name": "web", "uid": "u-1"],
        "spec": [
            "imagePullSecrets": [["name": "regcred"]],
            "volumes": [
                ["name": "conf", "configMap": ["name": "settings"]],
                ["name": "all", "projected": ["sources": [["secret": ["name": "tls"]], ["configMap": ["name": "extra"]]]]],
            ],
            "initContainers": [["name": "init", "envFrom": [["secretRef": ["name": "init-env"]]]]],
            "containers": [["name": "app", "env": [
                ["name": "A", "valueFrom": ["secretKeyRef": ["name": "creds", "key": "a"]]],
                ["name": "B", "valueFrom": ["configMapKeyRef": ["name": "flags", "key": "b"]]],
            ]]],
            "ephemeralContainers": [["name": "debug", "envFrom": [["configMapRef": ["name": "debug-env"]]]]],
        ],
    ]

    @Test func aPodNamesItsSecretsAndConfigMapsWhereverItReadsThem() {
        #expect(PodReferences.secretNames(Self.pod) == ["regcred", "tls", "init-env", "creds"])
        #expect(PodReferences.configMapNames(Self.pod) == ["settings", "extra", "flags", "debug-env"])
    }

    @Test func onlyWhatPodsNameIsWatchedUntilTheyGo() async throws {
        let api = try InProcessAPI()
        for (name, value) in [("settings", "one"), ("unrelated", "x")] {
            _ = try await api.client.create(Resources.configmaps, namespace: "default", [
                "apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": .string(name)], "data": ["k": .string(value)],
            ])
        }
        let changed = Mutex<[String]>([])
        let objects = ReferencedObjects(client: api.client, clock: SystemClock(), log: ClientLog.discard) { reference in
            changed.withLock { $0.append(reference.name) }
        }
        defer { objects.stop() }
        await objects.track(pod: Self.pod)
        // Listed before `track` returns: present is present, absent is absent.
        #expect(objects.get(.configMap, namespace: "default", name: "settings")?[path: "data", "k"] == "one")
        #expect(objects.get(.secret, namespace: "default", name: "creds") == nil)
        #expect(objects.get(.configMap, namespace: "default", name: "unrelated") == nil)

        _ = try await api.client.patch(Resources.configmaps, namespace: "default", name: "settings",
                                       ObjectPatch.merge(["data": ["k": "two"]]))
        _ = try await api.client.patch(Resources.configmaps, namespace: "default", name: "unrelated",
                                       ObjectPatch.merge(["data": ["k": "y"]]))
        await eventually("the change to reach the watch") {
            objects.get(.configMap, namespace: "default", name: "settings")?[path: "data", "k"] == "two"
        }
        #expect(changed.withLock { $0 }.contains("settings"))
        #expect(!changed.withLock { $0 }.contains("unrelated"))

        objects.forget(podUID: "u-1")
        #expect(objects.get(.configMap, namespace: "default", name: "settings") == nil)
    }
}
