import Foundation
import Synchronization
import SwiftletClient
import SwiftletMachinery

/// Runs each container's startup, liveness and readiness probes while it runs, as the
/// kubelet's prober does: startup first (the others wait for it), then liveness and readiness
/// side by side, each with its own delay, period, timeout and thresholds. Results are kept
/// per runtime container; a change wakes the pod's sync through `onChange`.
final class ProbeManager: Sendable {
    enum Kind: String, Sendable { case startup = "Startup", liveness = "Liveness", readiness = "Readiness" }

    struct Results: Sendable, Equatable {
        var started: Bool
        var ready: Bool
        /// Why the container must be restarted (failed liveness or startup probe).
        var restartReason: String?
    }

    typealias ExecProbe = @Sendable (_ runtimeID: String, _ command: [String], _ timeout: Duration) async -> NetworkProbes.Outcome

    private let clock: any Clock
    private let exec: ExecProbe
    private let onChange: @Sendable (ObjectKey) -> Void
    private let onFailure: @Sendable (ObjectKey, Kind, String) -> Void
    private let probes = Mutex<[String: (task: Task<Void, Never>, results: Results)]>([:])

    init(clock: any Clock, exec: @escaping ExecProbe, onChange: @escaping @Sendable (ObjectKey) -> Void,
         onFailure: @escaping @Sendable (ObjectKey, Kind, String) -> Void) {
        self.clock = clock
        self.exec = exec
        self.onChange = onChange
        self.onFailure = onFailure
    }

    /// Starts probing a container that has just started (nothing if already probing it).
    func start(runtimeID: String, pod: ObjectKey, container: JSONValue, podIP: String?) {
        let startup = container["startupProbe"], liveness = container["livenessProbe"], readiness = container["readinessProbe"]
        let initial = Results(started: startup == nil, ready: startup == nil && readiness == nil)
        probes.withLock { probes in
            guard probes[runtimeID] == nil else { return }
            let task = Task { [self] in
                if let startup {
                    guard await self.loop(.startup, startup, runtimeID: runtimeID, pod: pod, container: container, podIP: podIP) else { return }
                }
                await withDiscardingTaskGroup { group in
                    if let liveness {
                        group.addTask { _ = await self.loop(.liveness, liveness, runtimeID: runtimeID, pod: pod, container: container, podIP: podIP) }
                    }
                    if let readiness {
                        group.addTask { _ = await self.loop(.readiness, readiness, runtimeID: runtimeID, pod: pod, container: container, podIP: podIP) }
                    }
                }
            }
            probes[runtimeID] = (task, initial)
        }
    }

    func stop(runtimeID: String) {
        probes.withLock { $0.removeValue(forKey: runtimeID) }?.task.cancel()
    }

    func results(runtimeID: String) -> Results? {
        probes.withLock { $0[runtimeID]?.results }
    }

    private func update(_ runtimeID: String, pod: ObjectKey, _ change: (inout Results) -> Void) {
        let changed = probes.withLock { probes -> Bool in
            guard var entry = probes[runtimeID] else { return false }
            let before = entry.results
            change(&entry.results)
            probes[runtimeID] = entry
            return entry.results != before
        }
        if changed { onChange(pod) }
    }

    /// Probes until cancelled; for startup, until it succeeds (true) or fails for good (false).
    private func loop(_ kind: Kind, _ probe: JSONValue, runtimeID: String, pod: ObjectKey, container: JSONValue,
                      podIP: String?) async -> Bool {
        let delay = Duration.seconds(probe["initialDelaySeconds"]?.intValue ?? 0)
        let period = Duration.seconds(max(1, probe["periodSeconds"]?.intValue ?? 10))
        let timeout = Duration.seconds(max(1, probe["timeoutSeconds"]?.intValue ?? 1))
        let successThreshold = Int(max(1, probe["successThreshold"]?.intValue ?? 1))
        let failureThreshold = Int(max(1, probe["failureThreshold"]?.intValue ?? 3))
        var successes = 0, failures = 0
        do { try await clock.sleep(for: delay) } catch { return false }
        while !Task.isCancelled {
            let outcome = await runHandler(probe, runtimeID: runtimeID, container: container, podIP: podIP, timeout: timeout)
            switch outcome {
            case .success:
                successes += 1
                failures = 0
                if successes >= successThreshold {
                    switch kind {
                    case .startup:
                        update(runtimeID, pod: pod) {
                            $0.started = true
                            if container["readinessProbe"] == nil { $0.ready = true }
                        }
                        return true
                    case .readiness: update(runtimeID, pod: pod) { $0.ready = true }
                    case .liveness: break
                    }
                }
            case .failure(let message):
                failures += 1
                successes = 0
                onFailure(pod, kind, "\(kind.rawValue) probe failed: \(message)")
                if failures >= failureThreshold {
                    let name = container["name"]?.stringValue ?? ""
                    switch kind {
                    case .readiness:
                        update(runtimeID, pod: pod) { $0.ready = false }
                    case .liveness, .startup:
                        update(runtimeID, pod: pod) {
                            $0.restartReason = "Container \(name) failed \(kind.rawValue.lowercased()) probe, will be restarted"
                        }
                        return false
                    }
                }
            }
            do { try await clock.sleep(for: period) } catch { return false }
        }
        return false
    }

    /// Runs one handler, a probe's or a lifecycle hook's: exec, httpGet, tcpSocket, or a hook's sleep.
    func runHandler(_ probe: JSONValue, runtimeID: String, container: JSONValue, podIP: String?, timeout: Duration) async -> NetworkProbes.Outcome {
        if let seconds = probe[path: "sleep", "seconds"]?.intValue {
            try? await clock.sleep(for: min(.seconds(seconds), timeout))
            return .success
        }
        if let command = probe[path: "exec", "command"]?.arrayValue {
            return await exec(runtimeID, command.compactMap(\.stringValue), timeout)
        }
        if let http = probe["httpGet"] {
            guard let port = Self.port(http["port"], container: container) else { return .failure("invalid port \(http["port"] ?? nil)") }
            let headers = (http["httpHeaders"]?.arrayValue ?? []).compactMap { h -> (String, String)? in
                guard let name = h["name"]?.stringValue else { return nil }
                return (name, h["value"]?.stringValue ?? "")
            }
            return await NetworkProbes.http(scheme: http["scheme"]?.stringValue ?? "HTTP",
                                            host: http["host"]?.stringValue ?? podIP ?? "127.0.0.1", port: port,
                                            path: http["path"]?.stringValue ?? "/", headers: headers, timeout: timeout)
        }
        if let tcp = probe["tcpSocket"] {
            guard let port = Self.port(tcp["port"], container: container) else { return .failure("invalid port \(tcp["port"] ?? nil)") }
            return await NetworkProbes.tcp(host: tcp["host"]?.stringValue ?? podIP ?? "127.0.0.1", port: port, timeout: timeout)
        }
        return .failure("probe has no handler this node supports")
    }

    /// A port number, or the name of one of the container's ports.
    static func port(_ value: JSONValue?, container: JSONValue) -> Int? {
        if let number = value?.intValue { return Int(number) }
        guard let name = value?.stringValue else { return nil }
        if let number = Int(name) { return number }
        let match = (container["ports"]?.arrayValue ?? []).first { $0["name"]?.stringValue == name }
        return match?["containerPort"]?.intValue.map(Int.init)
    }
}
