import Foundation
import SwiftletMachinery
import SwiftletClient
import SwiftletOffload
import SwiftletRuntime

extension NodeAgent {
    /// Stops a pod's containers (SIGTERM, the grace period, then SIGKILL) and removes
    /// everything made for it: containers, network namespace and address, volumes, files.
    func tearDown(_ record: PodRecord) async {
        let grace = gracePeriod(record.pod)
        let running = (Array(record.initContainers.values) + Array(record.containers.values)).compactMap { c in
            c.runtimeID.map { (c.name, $0) }
        }
        await withDiscardingTaskGroup { group in
            for (name, id) in running {
                probes.stop(runtimeID: id)
                if case .running = runtime.state(id: id) {
                    events.event(record.pod, type: .normal, reason: "Killing", message: "Stopping container \(name)")
                }
                let spec = Self.containerSpec(named: name, in: record.pod)
                group.addTask { [self] in
                    await stopContainer(id: id, spec: spec, pod: record.pod, podIP: record.podIP, gracePeriod: grace)
                    await Offload.run { [runtime] in runtime.remove(id: id) }
                }
            }
        }
        let network = self.network.withLock { $0 }
        let uid = record.uid
        let directory = PodDirectory(podsDirectory: podsDirectory, uid: uid)
        let volumes = volumeManager
        let failure = await Offload.run { () -> String? in
            defer {
                volumes.tearDown(podDirectory: directory.path)
                try? FileManager.default.removeItem(atPath: directory.path)
            }
            do { try network?.tearDown(podID: uid) } catch { return "\(error)" }
            return nil
        }
        if let failure { log("node agent: releasing the network of pod \(record.key) failed: \(failure)") }
        records.withLock { _ = $0.removeValue(forKey: record.uid) }
        imagePulls.forget(podUID: record.uid)
        serviceAccountTokens.forget(podUID: record.uid)
        referencedObjects.forget(podUID: record.uid)
    }

    /// Stops a running container as the kubelet's killContainer does: its preStop hook first, within the grace
    /// period (none when there is no grace, as on a forced deletion), then SIGTERM with what is left of it (at
    /// least 2 s, upstream's minimum), then SIGKILL. A failed
    /// hook is reported with upstream's words, which leave out the hook's output so no secret can leak into events.
    func stopContainer(id: String, spec: JSONValue?, pod: JSONValue, podIP: String?, gracePeriod: Duration) async {
        var remaining = gracePeriod
        if gracePeriod > .zero, let spec, let hook = spec[path: "lifecycle", "preStop"], runtime.state(id: id).isRunning {
            let started = clock.elapsed
            let outcome = await probes.runHandler(hook, runtimeID: id, container: spec, podIP: podIP, timeout: gracePeriod)
            if case .failure(let message) = outcome {
                log("node agent: the preStop hook of container \(spec["name"]?.stringValue ?? id) failed: \(message)")
                events.event(pod, type: .warning, reason: "FailedPreStopHook", message: "PreStopHook failed")
            }
            remaining = max(gracePeriod - (clock.elapsed - started), .seconds(2))
        }
        await runtime.stop(id: id, gracePeriod: remaining)
    }

    static func containerSpec(named name: String, in pod: JSONValue) -> JSONValue? {
        let all = (pod[path: "spec", "initContainers"]?.arrayValue ?? []) + (pod[path: "spec", "containers"]?.arrayValue ?? [])
        return all.first { $0["name"]?.stringValue == name }
    }

    /// After a restart of the agent: takes back the containers and sandboxes that still run
    /// for pods bound here (restart counts and last states come from the pods' statuses), and
    /// removes those whose pods are gone.
    func adoptRunningContainers() {
        let mine = pods.list().filter { $0[path: "spec", "nodeName"]?.stringValue == config.nodeName }
        var podsByUID: [String: JSONValue] = [:]
        for pod in mine { if let uid = pod[path: "metadata", "uid"]?.stringValue { podsByUID[uid] = pod } }
        var adopted: [String: PodRecord] = [:]
        func record(for uid: String) -> PodRecord? {
            if let existing = adopted[uid] { return existing }
            guard let pod = podsByUID[uid], let key = ObjectKey(pod) else { return nil }
            var record = PodRecord(key: key, uid: uid,
                                   startTime: pod[path: "status", "startTime"]?.stringValue.flatMap(RFC3339.date(from:)) ?? clock.now)
            record.pod = pod
            Self.restoreStatuses(into: &record, from: pod)
            return record
        }
        var orphans: [String] = []
        for id in runtime.containerIDs() {
            guard let parsed = ContainerLauncher.parse(runtimeID: id), var record = record(for: parsed.uid) else {
                orphans.append(id)
                continue
            }
            let isInit = (record.pod[path: "spec", "initContainers"]?.arrayValue ?? [])
                .contains { $0["name"]?.stringValue == parsed.container }
            var c = (isInit ? record.initContainers : record.containers)[parsed.container] ?? ContainerRecord(name: parsed.container)
            if let current = c.runtimeID, let currentAttempt = ContainerLauncher.parse(runtimeID: current)?.attempt,
               currentAttempt > parsed.attempt {
                orphans.append(id)
            } else {
                if let older = c.runtimeID { orphans.append(older) }
                c.runtimeID = id
                c.restartCount = parsed.attempt
                c.everStarted = true
                c.terminated = nil
                if case .running(_, let startedAt) = runtime.state(id: id) { c.startedAt = startedAt }
            }
            if isInit { record.initContainers[parsed.container] = c } else { record.containers[parsed.container] = c }
            adopted[parsed.uid] = record
        }
        let network = self.network.withLock { $0 }
        for (podID, sandbox) in network?.sandboxes() ?? [:] {
            if var record = record(for: podID) {
                record.sandbox = sandbox
                adopted[podID] = record
            } else {
                try? network?.tearDown(podID: podID)
                try? FileManager.default.removeItem(atPath: PodDirectory(podsDirectory: podsDirectory, uid: podID).path)
            }
        }
        records.withLock { $0 = adopted }
        if !orphans.isEmpty {
            log("node agent: removing \(orphans.count) containers of pods that are gone")
            Task { [runtime] in
                for id in orphans {
                    await runtime.stop(id: id, gracePeriod: .seconds(2))
                    runtime.remove(id: id)
                }
            }
        }
    }

    /// What the pod's status says about earlier runs: restart counts, last states, images, and
    /// init containers that already completed.
    private static func restoreStatuses(into record: inout PodRecord, from pod: JSONValue) {
        func restore(_ status: JSONValue) -> ContainerRecord? {
            guard let name = status["name"]?.stringValue else { return nil }
            var c = ContainerRecord(name: name)
            c.restartCount = Int(status["restartCount"]?.intValue ?? 0)
            c.everStarted = status["state"]?["waiting"] == nil || c.restartCount > 0
            c.image = status["image"]?.stringValue
            c.imageID = status["imageID"]?.stringValue
            c.lastTermination = status[path: "lastState", "terminated"].flatMap(termination)
            c.terminated = status[path: "state", "terminated"].flatMap(termination)
            return c
        }
        for status in pod[path: "status", "containerStatuses"]?.arrayValue ?? [] {
            if let c = restore(status) { record.containers[c.name] = c }
        }
        for status in pod[path: "status", "initContainerStatuses"]?.arrayValue ?? [] {
            if let c = restore(status) { record.initContainers[c.name] = c }
        }
    }

    private static func termination(_ value: JSONValue) -> Termination? {
        guard let finished = value["finishedAt"]?.stringValue.flatMap(RFC3339.date(from:)) else { return nil }
        return Termination(exitCode: Int32(value["exitCode"]?.intValue ?? 0), reason: value["reason"]?.stringValue ?? "",
                           message: value["message"]?.stringValue,
                           startedAt: value["startedAt"]?.stringValue.flatMap(RFC3339.date(from:)),
                           finishedAt: finished, containerID: value["containerID"]?.stringValue ?? "")
    }
}
