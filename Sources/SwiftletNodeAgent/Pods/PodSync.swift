import Foundation
import Dispatch
import SwiftletAPI
import SwiftletClient
import SwiftletImages
import SwiftletMachinery
import SwiftletOffload
import SwiftletPodNetwork
import SwiftletRuntime

extension NodeAgent {
    /// Makes what runs for one pod match the pod, then reports its status.
    func sync(_ key: ObjectKey) async throws {
        let pod = pods.get(key)
        let uid = pod?[path: "metadata", "uid"]?.stringValue
        let mine = pod?[path: "spec", "nodeName"]?.stringValue == config.nodeName

        // Gone from the API, or replaced by a pod of the same name: stop what ran for it.
        let stale = records.withLock { records in records.values.filter { $0.key == key && ($0.uid != uid || !mine) } }
        for record in stale { await tearDown(record) }
        guard let pod, let uid, mine else { return }

        var record = records.withLock { $0[uid] } ?? PodRecord(
            key: key, uid: uid,
            startTime: pod[path: "status", "startTime"]?.stringValue.flatMap(RFC3339.date(from:)) ?? clock.now)
        record.pod = pod

        if pod[path: "metadata", "deletionTimestamp"] != nil {
            records.withLock { $0[uid] = record }
            await nodeServices.withdraw(podUID: uid)
            await nodeServices.awaitOtherNodesDrained(podUID: uid, limit: min(gracePeriod(pod), .seconds(1)))
            await tearDown(record)
            // The kubelet's last word: the containers are gone, so the API may forget the pod.
            do {
                try await client.delete(Resources.pods, namespace: key.namespace, name: key.name,
                                        options: DeleteOptions(gracePeriodSeconds: 0, preconditionUID: uid))
            } catch {
                // Already gone, or a new pod took the name: nothing left to do either way.
                if error.code != 404 && error.code != 409 { throw error }
            }
            return
        }

        if record.finalPhase == nil {
            await run(&record, pod: pod)
        }
        records.withLock { $0[uid] = record }
        try await postStatus(pod: pod, record: &record)
        records.withLock { $0[uid] = record }
    }

    /// Sandbox, files and volumes, then init containers in order, then the containers.
    private func run(_ record: inout PodRecord, pod: JSONValue) async {
        let key = record.key
        let directory = PodDirectory(podsDirectory: podsDirectory, uid: record.uid)
        if pod[path: "spec", "hostNetwork"]?.boolValue == true {
            record.hostNetworkIP = config.nodeIP
        } else if record.sandbox == nil {
            do {
                guard let network = network.withLock({ $0 }) else { throw AgentError("the pod network is not set up yet") }
                let uid = record.uid
                record.sandbox = try await Offload.run { Result { () throws(PodNetworkError) in try network.setUp(podID: uid) } }.get()
            } catch {
                fail(&record, pod: pod, reason: "FailedCreatePodSandBox",
                     message: "Failed to create pod sandbox: \(error)")
                return
            }
        }
        let podIP = record.podIP
        do {
            try directory.write(PodFiles.hosts(pod: pod, podIP: podIP ?? ""), to: directory.etcHosts)
            try directory.write(PodFiles.hostName(pod) + "\n", to: directory.etcHostname)
            try directory.write(PodFiles.resolvConf(pod: pod, clusterDNS: config.clusterDNS, clusterDomain: config.clusterDomain),
                                to: directory.resolvConf)
        } catch {
            fail(&record, pod: pod, reason: "FailedCreatePodSandBox", message: "Failed to write the pod's files: \(error)")
            return
        }
        await referencedObjects.track(pod: pod)
        let tokens: ServiceAccountTokenManager.PodTokens
        do {
            tokens = try await serviceAccountTokens.tokens(for: pod)
        } catch {
            fail(&record, pod: pod, reason: "FailedMount", message: error.description)
            return
        }
        do {
            record.volumePaths = try volumeManager.setUp(pod: pod, podDirectory: directory.path, hostIP: config.nodeIP,
                                                         podIP: podIP, allocatable: allocatable, tokens: tokens.tokens)
        } catch {
            fail(&record, pod: pod, reason: "FailedMount", message: error.description)
            return
        }
        // The next refresh rewrites the token file in place, as the kubelet's does.
        if let refreshAt = tokens.refreshAt {
            queue.addAfter(key, .seconds(max(0, refreshAt.timeIntervalSince(clock.now))))
        }
        record.setUpError = nil

        let launcher = ContainerLauncher(
            nodeName: config.nodeName, pod: pod, uid: record.uid, directory: directory,
            netnsPath: record.sandbox?.netnsPath, volumePaths: record.volumePaths,
            environment: ContainerEnvironment(pod: pod, hostIP: config.nodeIP, podIP: podIP, allocatable: allocatable,
                                              lookup: lookup, serviceVariables: serviceVariables(for: pod)),
            seccompProfileDirectory: config.seccompProfileDirectory)
        for container in pod[path: "spec", "initContainers"]?.arrayValue ?? [] {
            let name = container["name"]?.stringValue ?? ""
            var c = record.initContainers[name] ?? ContainerRecord(name: name)
            if c.terminated?.exitCode == 0 { continue }
            await syncContainer(&c, spec: container, pod: pod, key: key, launcher: launcher, isInit: true)
            record.initContainers[name] = c
            if c.terminated?.exitCode != 0 || c.terminated == nil { return }
        }
        for container in pod[path: "spec", "containers"]?.arrayValue ?? [] {
            let name = container["name"]?.stringValue ?? ""
            var c = record.containers[name] ?? ContainerRecord(name: name)
            await syncContainer(&c, spec: container, pod: pod, key: key, launcher: launcher, isInit: false)
            record.containers[name] = c
        }
    }

    /// Reports a pod that cannot start (yet): an event when the reason is new, and a retry.
    private func fail(_ record: inout PodRecord, pod: JSONValue, reason: String, message: String) {
        if record.setUpError != message {
            events.event(pod, type: .warning, reason: reason, message: message)
        }
        record.setUpError = message
        queue.addAfter(record.key, .seconds(2))
    }

    /// One container: notice how its run ended, restart it as the policy and back-off say, or
    /// start it for the first time.
    private func syncContainer(_ c: inout ContainerRecord, spec: JSONValue, pod: JSONValue, key: ObjectKey,
                               launcher: ContainerLauncher, isInit: Bool) async {
        if let id = c.runtimeID {
            var state = runtime.state(id: id)
            if case .running = state, let reason = probes.results(runtimeID: id)?.restartReason {
                events.event(pod, type: .normal, reason: "Killing", message: reason)
                await stopContainer(id: id, spec: spec, pod: pod, podIP: launcher.environment.podIP, gracePeriod: gracePeriod(pod))
                state = runtime.state(id: id)
            }
            switch state {
            case .running(_, let startedAt):
                if c.startedAt == nil { c.startedAt = startedAt }
                probes.start(runtimeID: id, pod: key, container: spec, podIP: launcher.environment.podIP)
                return
            case .created:
                return
            case .exited(let code, let startedAt, let finishedAt, let oomKilled):
                let reason = oomKilled ? "OOMKilled" : (code == 0 ? "Completed" : "Error")
                ended(&c, pod: pod, key: key, isInit: isInit, termination: Termination(
                    exitCode: code, reason: reason, message: terminationMessage(spec: spec, launcher: launcher, c: c, exitCode: code),
                    startedAt: startedAt ?? c.startedAt, finishedAt: finishedAt, containerID: "runc://\(id)"))
            case .unknown:
                ended(&c, pod: pod, key: key, isInit: isInit, termination: Termination(
                    exitCode: 137, reason: "ContainerStatusUnknown",
                    message: "The container could not be located when the pod was terminated",
                    startedAt: c.startedAt, finishedAt: clock.now, containerID: "runc://\(id)"))
            }
        }
        guard c.runtimeID == nil, c.terminated == nil else { return }
        if let notBefore = c.notBefore, clock.elapsed < notBefore {
            queue.addAfter(key, notBefore - clock.elapsed)
            return
        }
        await start(&c, spec: spec, pod: pod, key: key, launcher: launcher, isInit: isInit)
    }

    /// Records how a run ended and decides on a restart (after the back-off) or the end.
    private func ended(_ c: inout ContainerRecord, pod: JSONValue, key: ObjectKey, isInit: Bool, termination: Termination) {
        if let id = c.runtimeID {
            probes.stop(runtimeID: id)
            // The bundle goes in the background: the exit is recorded, nothing waits on its removal.
            DispatchQueue.global().async { [runtime] in runtime.remove(id: id) }
        }
        c.runtimeID = nil
        c.startedAt = nil
        let policy = pod[path: "spec", "restartPolicy"]?.stringValue ?? "Always"
        let restart = isInit ? (termination.exitCode != 0 && policy != "Never")
                             : (policy == "Always" || (policy == "OnFailure" && termination.exitCode != 0))
        guard restart else {
            c.terminated = termination
            return
        }
        c.lastTermination = termination
        let lastRun = termination.startedAt.map { termination.finishedAt.timeIntervalSince($0) } ?? 0
        let delay = c.backoff.delay(lastRun: .seconds(lastRun))
        c.notBefore = clock.elapsed + delay
        if delay > .zero {
            let podName = "\(key.name)_\(key.namespace ?? "default")(\(pod[path: "metadata", "uid"]?.stringValue ?? ""))"
            c.waiting = ("CrashLoopBackOff", "back-off \(Self.goDuration(delay)) restarting failed container=\(c.name) pod=\(podName)")
            events.event(pod, type: .warning, reason: "BackOff", message: "Back-off restarting failed container \(c.name) in pod \(podName)")
            queue.addAfter(key, delay)
        }
    }

    private func start(_ c: inout ContainerRecord, spec: JSONValue, pod: JSONValue, key: ObjectKey,
                       launcher: ContainerLauncher, isInit: Bool) async {
        let image: ResolvedImage
        switch imagePulls.ensureImage(pod: pod, key: key, container: spec, credentials: { [self] in pullCredentials(pod: pod, for: $0) }) {
        case .ready(let ready):
            image = ready
        case .waiting(let reason, let message):
            c.waiting = (reason, message)
            return
        }
        c.image = image.name
        c.imageID = image.imageID
        let attempt = c.everStarted ? c.restartCount + 1 : 0
        let containerSpec: ContainerSpec
        do {
            containerSpec = try launcher.spec(container: spec, image: image, attempt: attempt)
        } catch {
            if c.waiting?.message != error.description {
                events.event(pod, type: .warning, reason: "Failed", message: "Error: \(error.description)")
            }
            c.waiting = (error.reason, error.description)
            c.notBefore = clock.elapsed + .seconds(2)
            queue.addAfter(key, .seconds(2))
            return
        }
        try? launcher.directory.write("", to: launcher.directory.terminationLog(container: c.name, attempt: attempt))
        launcher.directory.pruneRuns(container: c.name, keepFrom: attempt - 1)
        c.everStarted = true
        c.restartCount = attempt
        c.waiting = nil
        c.notBefore = nil
        do {
            let state = try await Offload.run { [runtime, images] () throws(RuntimeError) in
                // Held while the root is mounted, so no image garbage collection removes its layers meanwhile.
                let hold = images.holdContent()
                defer { hold?.release() }
                return try runtime.start(containerSpec)
            }
            images.markUsed(image)
            c.runtimeID = containerSpec.id
            if case .running(_, let startedAt) = state { c.startedAt = startedAt } else { c.startedAt = clock.now }
            events.event(pod, type: .normal, reason: "Created", message: "Created container: \(c.name)")
            events.event(pod, type: .normal, reason: "Started", message: "Started container \(c.name)")
            probes.start(runtimeID: containerSpec.id, pod: key, container: spec, podIP: launcher.environment.podIP)
        } catch {
            // As containerd reports a process that could not start: a run that ended with 128.
            events.event(pod, type: .warning, reason: "Failed", message: "Error: \(error)")
            c.runtimeID = containerSpec.id
            ended(&c, pod: pod, key: key, isInit: isInit, termination: Termination(
                exitCode: 128, reason: "StartError", message: "\(error)", startedAt: nil, finishedAt: clock.now,
                containerID: "runc://\(containerSpec.id)"))
            if c.terminated == nil, c.waiting == nil { queue.add(key) }
        }
    }

    /// The termination message: the file the container wrote, or with FallbackToLogsOnError
    /// the end of its log when it failed and wrote none.
    private func terminationMessage(spec: JSONValue, launcher: ContainerLauncher, c: ContainerRecord, exitCode: Int32) -> String? {
        let file = launcher.directory.terminationLog(container: c.name, attempt: c.restartCount)
        if let data = FileManager.default.contents(atPath: file), !data.isEmpty {
            return String(decoding: data.prefix(4096), as: UTF8.self)
        }
        guard exitCode != 0, spec["terminationMessagePolicy"]?.stringValue == "FallbackToLogsOnError" else { return nil }
        let log = ContainerLogReader(path: launcher.directory.logFile(container: c.name, attempt: c.restartCount))
            .read(ContainerLogOptions(tailLines: 80))
        return log.isEmpty ? nil : String(decoding: log.suffix(2048), as: UTF8.self)
    }

    func gracePeriod(_ pod: JSONValue) -> Duration {
        .seconds(pod[path: "metadata", "deletionGracePeriodSeconds"]?.intValue
            ?? pod[path: "spec", "terminationGracePeriodSeconds"]?.intValue ?? 30)
    }

    var volumeManager: VolumeManager { VolumeManager(lookup: lookup) }

    /// The Services' variables for the pod's containers, from the agent's Service cache.
    func serviceVariables(for pod: JSONValue) -> [(name: String, value: String)] {
        let services = nodeServices.services
        let namespace = FieldRead.string(pod[path: "metadata", "namespace"])
        return ServiceEnvironment.variables(
            for: pod, namespaceServices: services.byIndex(name: Indexer.namespace.name, value: namespace),
            masterService: services.get(namespace: ServiceEnvironment.masterNamespace, name: ServiceEnvironment.masterService))
    }

    /// ConfigMaps and Secrets from the agent's watches of what its pods name.
    var lookup: VolumeManager.Lookup {
        { [referencedObjects] kind, namespace, name in
            referencedObjects.get(kind == "secret" ? .secret : .configMap, namespace: namespace, name: name)
        }
    }

    /// The pod's image pull secrets matched to an image, as the kubelet's keyring matches them.
    /// Secrets that cannot be found are reported, and the pull goes on without them.
    func pullCredentials(pod: JSONValue, for reference: ImageReference) -> [RegistryCredential] {
        let namespace = pod[path: "metadata", "namespace"]?.stringValue ?? "default"
        var keyring = DockerKeyring()
        var missing: [String] = []
        for entry in pod[path: "spec", "imagePullSecrets"]?.arrayValue ?? [] {
            guard let name = entry["name"]?.stringValue, !name.isEmpty else { continue }
            guard let secret = referencedObjects.get(.secret, namespace: namespace, name: name) else {
                missing.append(name)
                continue
            }
            let data = secret["data"]?.objectValue ?? JSONObject()
            switch secret["type"]?.stringValue {
            case "kubernetes.io/dockerconfigjson":
                if let encoded = data[".dockerconfigjson"]?.stringValue, let bytes = Data(base64Encoded: encoded) {
                    keyring.add(dockerConfigJSON: Array(bytes))
                }
            case "kubernetes.io/dockercfg":
                if let encoded = data[".dockercfg"]?.stringValue, let bytes = Data(base64Encoded: encoded) {
                    keyring.add(dockerConfigJSON: Array(bytes), legacy: true)
                }
            default:
                break
            }
        }
        if !missing.isEmpty {
            events.event(pod, type: .warning, reason: "FailedToRetrieveImagePullSecret",
                         message: "Unable to retrieve some image pull secrets (\(missing.joined(separator: ", "))); attempting to pull the image may not succeed.")
        }
        return keyring.credentials(for: reference)
    }

    /// Writes the pod's status when it differs from what was last written.
    private func postStatus(pod: JSONValue, record: inout PodRecord) async throws {
        var readiness: [String: PodStatusBuilder.Readiness] = [:]
        for (name, c) in record.containers {
            guard let id = c.runtimeID, c.isRunning else { continue }
            let results = probes.results(runtimeID: id)
            readiness[name] = .init(ready: results?.ready ?? true, started: results?.started ?? true)
        }
        let status = PodStatusBuilder(hostIP: config.nodeIP, now: clock.now).status(pod: pod, record: record, readiness: readiness)
        let phase = status["phase"]?.stringValue
        if phase == "Succeeded" || phase == "Failed", record.finalPhase == nil {
            record.finalPhase = phase
        }
        guard status != record.postedStatus else { return }
        var updated = pod
        updated["status"] = status
        do {
            _ = try await client.update(Resources.pods, updated, subresource: "status")
        } catch {
            if error.code == 404 { return }
            guard error.code == 409 else { throw error }
            // Someone else wrote the pod since the cache saw it: once more on a fresh copy.
            var fresh = try await client.get(Resources.pods, namespace: record.key.namespace, name: record.key.name)
            guard fresh[path: "metadata", "uid"]?.stringValue == record.uid else { return }
            fresh["status"] = PodStatusBuilder(hostIP: config.nodeIP, now: clock.now).status(pod: fresh, record: record, readiness: readiness)
            _ = try await client.update(Resources.pods, fresh, subresource: "status")
        }
        record.postedStatus = status
    }

    /// Go's time.Duration formatting for whole seconds and minutes ("10s", "1m20s", "5m0s").
    static func goDuration(_ d: Duration) -> String {
        let seconds = d.components.seconds
        return seconds >= 60 ? "\(seconds / 60)m\(seconds % 60)s" : "\(seconds)s"
    }
}
