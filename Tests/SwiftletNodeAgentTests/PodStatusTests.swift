import Foundation
import Testing
@testable import SwiftletNodeAgent
import SwiftletClient
import SwiftletMachinery

@Suite struct PodStatusTests {
    func pod(restartPolicy: String = "Always") -> JSONValue {
        ["metadata": ["name": "p", "namespace": "default", "uid": "u"],
         "spec": ["restartPolicy": .string(restartPolicy), "containers": [["name": "a", "image": "busybox"], ["name": "b", "image": "busybox"]]],
         "status": ["conditions": [["type": "PodScheduled", "status": "True"]]]]
    }

    func record(_ states: [String: ContainerRecord]) -> PodRecord {
        var r = PodRecord(key: ObjectKey(namespace: "default", name: "p"), uid: "u", startTime: Date(timeIntervalSince1970: 0))
        r.containers = states
        return r
    }

    func running(_ name: String) -> ContainerRecord {
        var c = ContainerRecord(name: name)
        c.runtimeID = "u_\(name)_0"
        c.startedAt = Date(timeIntervalSince1970: 10)
        return c
    }

    func ended(_ name: String, code: Int32, restarting: Bool) -> ContainerRecord {
        var c = ContainerRecord(name: name)
        let t = Termination(exitCode: code, reason: code == 0 ? "Completed" : "Error", startedAt: nil,
                            finishedAt: Date(timeIntervalSince1970: 20), containerID: "runc://x")
        if restarting { c.lastTermination = t } else { c.terminated = t }
        return c
    }

    @Test(arguments: [
        ("Always", [true, true], "Running"),
        ("Always", [true, false], "Pending"),
        ("Never", [false, false], "Succeeded"),
        ("Never", [false, false], "Failed"),
    ] as [(String, [Bool], String)])
    func phase(policy: String, runningFlags: [Bool], expected: String) {
        var states: [String: ContainerRecord] = [:]
        for (name, isRunning) in zip(["a", "b"], runningFlags) {
            if isRunning { states[name] = running(name) }
            else if policy == "Never" { states[name] = ended(name, code: expected == "Failed" && name == "b" ? 1 : 0, restarting: false) }
        }
        #expect(PodStatusBuilder.phase(pod: pod(restartPolicy: policy), record: record(states), initialized: true) == expected)
    }

    @Test func aCrashLoopingContainerKeepsThePodRunning() {
        let states = ["a": running("a"), "b": ended("b", code: 2, restarting: true)]
        #expect(PodStatusBuilder.phase(pod: pod(), record: record(states), initialized: true) == "Running")
        #expect(PodStatusBuilder.phase(pod: pod(restartPolicy: "OnFailure"), record: record(states), initialized: true) == "Running")
    }

    @Test func statusReportsReadinessStatesAndKeepsOtherConditions() {
        var r = record(["a": running("a"), "b": ended("b", code: 2, restarting: true)])
        r.containers["b"]?.waiting = ("CrashLoopBackOff", "back-off 10s restarting failed container=b pod=p_default(u)")
        let status = PodStatusBuilder(hostIP: "192.0.2.2", now: Date(timeIntervalSince1970: 30))
            .status(pod: pod(), record: r, readiness: ["a": .init(ready: true, started: true)])
        let conditions = Dictionary(uniqueKeysWithValues: (status["conditions"]?.arrayValue ?? []).map {
            ($0["type"]?.stringValue ?? "", $0["status"]?.stringValue ?? "")
        })
        #expect(conditions["Ready"] == "False")
        #expect(conditions["PodScheduled"] == "True")
        let statuses = status["containerStatuses"]?.arrayValue ?? []
        #expect(statuses[0][path: "state", "running", "startedAt"]?.stringValue == "1970-01-01T00:00:10Z")
        #expect(statuses[0]["ready"] == .bool(true))
        #expect(statuses[1][path: "state", "waiting", "reason"]?.stringValue == "CrashLoopBackOff")
        #expect(statuses[1][path: "lastState", "terminated", "exitCode"] == .int(2))
        #expect(status["hostIP"]?.stringValue == "192.0.2.2")
    }

    @Test func backOffDoublesFromTenSecondsAndResetsAfterALongRun() {
        var backoff = RestartBackoff()
        #expect(backoff.delay(lastRun: .seconds(1)) == .zero)
        #expect(backoff.delay(lastRun: .seconds(1)) == .seconds(10))
        #expect(backoff.delay(lastRun: .seconds(1)) == .seconds(20))
        for _ in 0..<10 { _ = backoff.delay(lastRun: .seconds(1)) }
        #expect(backoff.delay(lastRun: .seconds(1)) == .seconds(300))
        #expect(backoff.delay(lastRun: .seconds(700)) == .zero)
        #expect(backoff.delay(lastRun: .seconds(1)) == .seconds(10))
    }
}
