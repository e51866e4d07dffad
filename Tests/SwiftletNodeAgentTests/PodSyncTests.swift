import Foundation
import Testing
import SwiftletAPI
import SwiftletClient
import SwiftletImages
import SwiftletMachinery
@testable import SwiftletNodeAgent
import SwiftletRuntime
import SwiftletTestSupport

/// The node agent's decisions for a pod, on a fake runtime and image service: pulls that run
/// beside the sync, pull back-off, pull policies, init container order and restarts.
@Suite struct PodSyncTests {
    static let image = "registry.example/app:1.0"

    @Test func aPullRunsBesideTheSyncAndTheContainerStartsWhenItIsDone() async throws {
        let harness = try AgentHarness()
        defer { harness.stop() }
        #expect(await harness.start())
        harness.images.hold()
        harness.images.willPull(Self.image, .success(FakeImages.image("registry.example/app:1.0")))
        try await harness.createPod("web", containers: [AgentHarness.container("app")])

        // The sync returns while the pull waits: the container shows ContainerCreating.
        try await harness.sync("web")
        #expect(try await harness.waiting("web", "app").reason == "ContainerCreating")
        #expect(harness.runtime.started.isEmpty)
        #expect(try await harness.events("web", reason: "Pulling") == ["Pulling image \"\(Self.image)\""])
        // Another sync meanwhile does not pull again.
        try await harness.sync("web")
        #expect(harness.images.pulls.count == 1)

        harness.images.release()
        await eventually("the container to start") {
            try? await harness.sync("web")
            return !harness.runtime.started.isEmpty
        }
        let status = try #require(try await harness.containerStatus("web", "app"))
        #expect(status[path: "state", "running"] != nil)
        #expect(status["image"] == "registry.example/app:1.0")
        #expect(status["imageID"]?.stringValue?.hasPrefix("registry.example/app:1.0@sha256:") == true)
        let pulled = try await harness.events("web", reason: "Pulled")
        #expect(pulled.count == 1)
        #expect(pulled.first?.hasPrefix("Successfully pulled image \"\(Self.image)\" in ") == true, "\(pulled)")
        #expect(pulled.first?.hasSuffix("Image size: 1234 bytes.") == true)
        #expect(harness.images.used == ["registry.example/app:1.0"])
    }

    @Test func aFailedPullBacksOffTenSecondsThenTwentyAsTheKubeletDoes() async throws {
        let harness = try AgentHarness()
        defer { harness.stop() }
        #expect(await harness.start())
        try await harness.createPod("web", containers: [AgentHarness.container("app")])

        // First try: the registry knows no such tag.
        try await harness.sync("web")
        await eventually("the failed pull to be recorded") {
            try? await harness.sync("web")
            return (try? await harness.waiting("web", "app").reason) == "ErrImagePull"
        }
        let failed = try await harness.waiting("web", "app")
        #expect(failed.message == "rpc error: code = NotFound desc = failed to pull and unpack image \"registry.example/app:1.0\": failed to resolve image: registry.example/app:1.0: not found")
        #expect(try await harness.events("web", reason: "Failed").contains("Error: ErrImagePull"))

        // Within the back-off: ImagePullBackOff, the last error kept in the message, no new pull.
        try await harness.sync("web")
        let backingOff = try await harness.waiting("web", "app")
        #expect(backingOff.reason == "ImagePullBackOff")
        #expect(backingOff.message == "Back-off pulling image \"\(Self.image)\": ErrImagePull: " + (failed.message ?? ""))
        #expect(try await harness.events("web", reason: "BackOff").contains("Back-off pulling image \"\(Self.image)\""))
        #expect(harness.images.pulls.count == 1)

        // After 10 s it pulls again; a second failure backs off for 20 s.
        harness.clock.advance(by: .seconds(10))
        try await harness.sync("web")
        await eventually("the second pull") { harness.images.pulls.count == 2 }
        await eventually("the second failure to be recorded") {
            try? await harness.sync("web")
            return (try? await harness.waiting("web", "app").reason) == "ErrImagePull"
        }
        harness.clock.advance(by: .seconds(15))
        try await harness.sync("web")
        #expect(try await harness.waiting("web", "app").reason == "ImagePullBackOff")
        #expect(harness.images.pulls.count == 2)
        harness.clock.advance(by: .seconds(5))
        try await harness.sync("web")
        await eventually("the third pull") { harness.images.pulls.count == 3 }
    }

    @Test func pullPolicies() async throws {
        let harness = try AgentHarness()
        defer { harness.stop() }
        #expect(await harness.start())
        harness.images.store("registry.example/present:1.0", FakeImages.image("registry.example/present:1.0"))

        // IfNotPresent with the image there: no pull, and the kubelet's "already present".
        try await harness.createPod("present", containers: [AgentHarness.container("app", image: "registry.example/present:1.0", policy: "IfNotPresent")])
        try await harness.sync("present")
        #expect(harness.runtime.started.count == 1)
        #expect(harness.images.pulls.isEmpty)
        #expect(try await harness.events("present", reason: "Pulled") == ["Container image \"registry.example/present:1.0\" already present on machine"])

        // Always pulls even so.
        harness.images.willPull("registry.example/present:1.0", .success(FakeImages.image("registry.example/present:1.0")))
        try await harness.createPod("always", containers: [AgentHarness.container("app", image: "registry.example/present:1.0", policy: "Always")])
        try await harness.sync("always")
        await eventually("the Always pull") { harness.images.pulls.count == 1 }

        // Never without the image: ErrImageNeverPull, and no pull at all.
        try await harness.createPod("never", containers: [AgentHarness.container("app", image: "registry.example/absent:1.0", policy: "Never")])
        try await harness.sync("never")
        let never = try await harness.waiting("never", "app")
        #expect(never.reason == "ErrImageNeverPull")
        #expect(never.message == "Container image \"registry.example/absent:1.0\" is not present with pull policy of Never")
        #expect(harness.images.pulls.count == 1)
    }

    @Test func anInvalidImageNameIsReportedAndNeverPulled() async throws {
        let harness = try AgentHarness()
        defer { harness.stop() }
        #expect(await harness.start())
        try await harness.createPod("bad", containers: [AgentHarness.container("app", image: "Registry.Example/App")])
        try await harness.sync("bad")
        let waiting = try await harness.waiting("bad", "app")
        #expect(waiting.reason == "InvalidImageName")
        #expect(waiting.message == "Failed to apply default image tag \"Registry.Example/App\": couldn't parse image name \"Registry.Example/App\": invalid reference format")
        #expect(harness.images.pulls.isEmpty)
    }

    @Test func initContainersRunOneAfterAnotherBeforeTheContainers() async throws {
        let harness = try AgentHarness()
        defer { harness.stop() }
        #expect(await harness.start())
        harness.images.store(Self.image, FakeImages.image(Self.image))
        try await harness.createPod("ordered", containers: [AgentHarness.container("main", policy: "IfNotPresent")],
                                    initContainers: [AgentHarness.container("first", policy: "IfNotPresent"),
                                                     AgentHarness.container("second", policy: "IfNotPresent")])
        func names() -> [String] { harness.runtime.started.compactMap { ContainerLauncher.parse(runtimeID: $0.id)?.container } }

        try await harness.sync("ordered")
        #expect(names() == ["first"])
        try await harness.sync("ordered")
        #expect(names() == ["first"])
        harness.runtime.exit("first", code: 0)
        try await harness.sync("ordered")
        #expect(names() == ["first", "second"])
        harness.runtime.exit("second", code: 0)
        try await harness.sync("ordered")
        #expect(names() == ["first", "second", "main"])
        let initStatus = try #require(try await harness.containerStatus("ordered", "first", init: true))
        #expect(initStatus[path: "state", "terminated", "reason"] == "Completed")
    }

    @Test func aFailingInitContainerIsRestartedAfterItsBackOffAndTheContainersWait() async throws {
        let harness = try AgentHarness()
        defer { harness.stop() }
        #expect(await harness.start())
        harness.images.store(Self.image, FakeImages.image(Self.image))
        try await harness.createPod("retry", containers: [AgentHarness.container("main", policy: "IfNotPresent")],
                                    initContainers: [AgentHarness.container("setup", policy: "IfNotPresent")])
        try await harness.sync("retry")
        // The first failure is retried at once, as the kubelet does; the second backs off 10 s.
        harness.runtime.exit("setup", code: 1)
        try await harness.sync("retry")
        #expect(harness.runtime.started.count == 2)
        harness.runtime.exit("setup", code: 1)
        try await harness.sync("retry")
        #expect(try await harness.waiting("retry", "setup", init: true).reason == "CrashLoopBackOff")
        try await harness.sync("retry")
        // Nothing starts meanwhile, the main container least of all.
        #expect(harness.runtime.started.count == 2)
        harness.clock.advance(by: .seconds(10))
        try await harness.sync("retry")
        #expect(harness.runtime.started.map { ContainerLauncher.parse(runtimeID: $0.id)?.container } == ["setup", "setup", "setup"])
        #expect(try await harness.containerStatus("retry", "setup", init: true)?["restartCount"] == 2)
    }

    @Test func aContainerThatExitsIsRestartedWithTheCrashLoopBackOff() async throws {
        let harness = try AgentHarness()
        defer { harness.stop() }
        #expect(await harness.start())
        harness.images.store(Self.image, FakeImages.image(Self.image))
        try await harness.createPod("crash", containers: [AgentHarness.container("app", policy: "IfNotPresent")])
        try await harness.sync("crash")
        // The first exit is restarted at once; the second waits 10 s.
        harness.runtime.exit("app", code: 2)
        try await harness.sync("crash")
        #expect(harness.runtime.started.count == 2)
        harness.runtime.exit("app", code: 2)
        try await harness.sync("crash")
        let waiting = try await harness.waiting("crash", "app")
        #expect(waiting.reason == "CrashLoopBackOff")
        #expect(waiting.message?.hasPrefix("back-off 10s restarting failed container=app pod=crash_default(") == true)
        let status = try #require(try await harness.containerStatus("crash", "app"))
        #expect(status[path: "lastState", "terminated", "exitCode"] == 2)
        harness.clock.advance(by: .seconds(10))
        try await harness.sync("crash")
        #expect(harness.runtime.started.count == 3)
        // Each run has its own runtime id: this is attempt 2.
        #expect(harness.runtime.started.last.flatMap { ContainerLauncher.parse(runtimeID: $0.id)?.attempt } == 2)
    }

    @Test func runAsNonRootIsCheckedAgainstTheImagesUser() async throws {
        let harness = try AgentHarness()
        defer { harness.stop() }
        #expect(await harness.start())
        harness.images.store("registry.example/root:1", FakeImages.image("registry.example/root:1"))
        harness.images.store("registry.example/named:1", FakeImages.image("registry.example/named:1", user: "nginx"))
        harness.images.store("registry.example/numeric:1", FakeImages.image("registry.example/numeric:1", user: "1000:1000"))
        let nonRoot: JSONValue = ["runAsNonRoot": true]

        let root = try await harness.createPod("root", containers: [AgentHarness.container("app", image: "registry.example/root:1", securityContext: nonRoot)])
        try await harness.sync("root")
        let refused = try await harness.waiting("root", "app")
        #expect(refused.reason == "CreateContainerConfigError")
        let uid = root[path: "metadata", "uid"]?.stringValue ?? ""
        #expect(refused.message == "container has runAsNonRoot and image will run as root (pod: \"root_default(\(uid))\", container: app)")
        #expect(try await harness.events("root", reason: "Failed").contains("Error: " + (refused.message ?? "")))

        try await harness.createPod("named", containers: [AgentHarness.container("app", image: "registry.example/named:1", securityContext: nonRoot)])
        try await harness.sync("named")
        #expect(try await harness.waiting("named", "app").message?.hasPrefix("container has runAsNonRoot and image has non-numeric user (nginx), cannot verify user is non-root") == true)

        try await harness.createPod("explicit", containers: [AgentHarness.container("app", image: "registry.example/root:1",
                                                                                    securityContext: ["runAsNonRoot": true, "runAsUser": 0])])
        try await harness.sync("explicit")
        #expect(try await harness.waiting("explicit", "app").message?.hasPrefix("container's runAsUser breaks non-root policy") == true)

        try await harness.createPod("numeric", containers: [AgentHarness.container("app", image: "registry.example/numeric:1", securityContext: nonRoot)])
        try await harness.sync("numeric")
        let started = try #require(harness.runtime.started.last)
        #expect(started.uid == 1000 && started.gid == 1000)
        #expect(harness.runtime.started.count == 1)
    }

    @Test func thePodsPullSecretsAreTheCredentialsOfItsPull() async throws {
        let harness = try AgentHarness()
        defer { harness.stop() }
        #expect(await harness.start())
        let config = #"{"auths":{"registry.example":{"auth":"\#(Data("robot:s3cret".utf8).base64EncodedString())"},"other.example":{"username":"x","password":"y"}}}"#
        _ = try await harness.client.create(Resources.secrets, namespace: "default", [
            "apiVersion": "v1", "kind": "Secret", "metadata": ["name": "regcred", "namespace": "default"],
            "type": "kubernetes.io/dockerconfigjson",
            "data": [".dockerconfigjson": .string(Data(config.utf8).base64EncodedString())],
        ])
        try await harness.createPod("private", containers: [AgentHarness.container("app")],
                                    extra: ["imagePullSecrets": [["name": "regcred"], ["name": "missing"]]])
        try await harness.sync("private")
        await eventually("the pull") { !harness.images.pulls.isEmpty }
        #expect(harness.images.pulls.first?.credentials == [RegistryCredential(username: "robot", password: "s3cret")])
        #expect(try await harness.events("private", reason: "FailedToRetrieveImagePullSecret")
            == ["Unable to retrieve some image pull secrets (missing); attempting to pull the image may not succeed."])
    }

    @Test func theImagesConfigurationMakesTheProcess() async throws {
        let harness = try AgentHarness()
        defer { harness.stop() }
        #expect(await harness.start())
        var image = FakeImages.image(Self.image, entrypoint: ["/entry"])
        image.config.Cmd = ["default-arg"]
        image.config.WorkingDir = "/work"
        image.config.StopSignal = "SIGQUIT"
        image.config.Env = ["PATH=/image/bin", "FROM_IMAGE=yes"]
        harness.images.store(Self.image, image)
        var container = AgentHarness.container("app", policy: "IfNotPresent")
        container["args"] = ["given"]
        container["env"] = [["name": "PATH", "value": "/pod/bin"]]
        try await harness.createPod("config", containers: [container])
        try await harness.sync("config")
        let spec = try #require(harness.runtime.started.first)
        #expect(spec.args == ["/entry", "given"])
        #expect(spec.workingDirectory == "/work")
        #expect(spec.stopSignal == 3)
        #expect(spec.env.contains("PATH=/pod/bin") && spec.env.contains("FROM_IMAGE=yes") && !spec.env.contains("PATH=/image/bin"))
        #expect(spec.rootfsLowerDirectories == ["/layers/1"])
    }

    @Test func seccompProfilesComeFromTheNodesProfileDirectory() async throws {
        let harness = try AgentHarness()
        defer { harness.stop() }
        #expect(await harness.start())
        harness.images.store(Self.image, FakeImages.image(Self.image))
        let directory = harness.agent.config.seccompProfileDirectory
        try FileManager.default.createDirectory(atPath: directory + "/profiles", withIntermediateDirectories: true)
        try #"{"defaultAction":"SCMP_ACT_LOG"}"#.write(toFile: directory + "/profiles/audit.json", atomically: true, encoding: .utf8)
        func pod(_ name: String, _ profile: JSONValue) -> JSONValue {
            AgentHarness.container("app", policy: "IfNotPresent", securityContext: ["seccompProfile": profile])
        }

        try await harness.createPod("audited", containers: [pod("audited", ["type": "Localhost", "localhostProfile": "profiles/audit.json"])])
        try await harness.sync("audited")
        #expect(harness.runtime.started.last?.seccomp == .profile(["defaultAction": "SCMP_ACT_LOG"]))

        try await harness.createPod("missing", containers: [pod("missing", ["type": "Localhost", "localhostProfile": "profiles/none.json"])])
        try await harness.sync("missing")
        let waiting = try await harness.waiting("missing", "app")
        #expect(waiting.reason == "CreateContainerError")
        #expect(waiting.message == "failed to create containerd container: cannot load seccomp profile \"\(directory)/profiles/none.json\": open \(directory)/profiles/none.json: no such file or directory")

        // A profile path may not leave the profile directory.
        try await harness.createPod("escape", containers: [pod("escape", ["type": "Localhost", "localhostProfile": "../../etc/passwd"])])
        try await harness.sync("escape")
        #expect(try await harness.waiting("escape", "app").reason == "CreateContainerError")

        try await harness.createPod("default", containers: [pod("default", ["type": "RuntimeDefault"])])
        try await harness.sync("default")
        #expect(harness.runtime.started.last?.seccomp == .runtimeDefault)
        #expect(harness.runtime.started.count == 2)
    }
}
