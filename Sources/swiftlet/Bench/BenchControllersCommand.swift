import ArgumentParser
import Foundation
import SwiftletMachinery

/// `swiftlet bench controllers`: a Deployment of many replicas onto simulated nodes, timed
/// through a watch from the create until every pod exists, is bound, and is Running and Ready.
/// The whole control plane takes part: Deployment → ReplicaSet → pods → scheduler → nodes.
struct BenchControllersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "controllers", abstract: "Benchmark the control plane on simulated nodes.")

    @Option(help: "Deployment replicas.") var replicas = 1000
    @Option(help: "Simulated nodes (repeatable runs: a comma-separated list).") var nodes = "10,100"

    func run() async throws {
        for count in nodes.split(separator: ",").compactMap({ Int($0) }) {
            try await runOnce(nodes: count)
        }
    }

    func runOnce(nodes: Int) async throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlet-bench-ctl-\(getpid())-\(nodes)").path
        defer { try? FileManager.default.removeItem(atPath: work) }
        let server = try await BenchServer.start(dataDir: work, datastore: nil, extraArguments: ["--simulated-nodes", String(nodes)])
        defer { server.stop() }
        // Wait until every simulated node is registered and Ready.
        while true {
            let list = try JSONParser.parse(await server.send(.GET, "/api/v1/nodes").body).value
            if (list["items"]?.arrayValue?.count ?? 0) >= nodes { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        let idle = server.rssKiB()
        let target = replicas
        let milestones = Milestones()
        let watcher = Task {
            var created = Set<String>(), bound = Set<String>(), ready = Set<String>()
            try await server.watch("/api/v1/namespaces/default/pods?watch=true&labelSelector=app%3Dbench") { line in
                guard let event = try? JSONParser.parse(line).value, let pod = event["object"],
                      let name = pod[path: "metadata", "name"]?.stringValue else { return true }
                created.insert(name)
                if pod[path: "spec", "nodeName"]?.stringValue?.isEmpty == false { bound.insert(name) }
                let isReady = (pod[path: "status", "conditions"]?.arrayValue ?? []).contains { $0["type"] == "Ready" && $0["status"] == "True" }
                if pod[path: "status", "phase"] == "Running", isReady { ready.insert(name) }
                if created.count == target { milestones.mark("created") }
                if bound.count == target { milestones.mark("bound") }
                if ready.count == target { milestones.mark("ready"); return false }
                return true
            }
        }
        try await Task.sleep(for: .milliseconds(300))  // let the watch start
        let deployment = #"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"bench"},"spec":{"replicas":\#(target),"selector":{"matchLabels":{"app":"bench"}},"template":{"metadata":{"labels":{"app":"bench"}},"spec":{"containers":[{"name":"web","image":"kiamol/ch02-whoami"}]}}}}"#
        milestones.start()
        _ = await server.send(.POST, "/apis/apps/v1/namespaces/default/deployments", Array(deployment.utf8))
        let timeout = Task {
            try await Task.sleep(for: .seconds(120))
            watcher.cancel()
        }
        _ = try? await watcher.value
        timeout.cancel()
        func ms(_ name: String) -> String { milestones.elapsed(name).map { String(format: "%.0f ms", $0) } ?? "not reached" }
        print("\(target) replicas on \(nodes) simulated nodes: all created \(ms("created")), all bound \(ms("bound")), all Running+Ready \(ms("ready"))")
        print("  server RSS: idle \(idle / 1024) MiB, now \(server.rssKiB() / 1024) MiB, peak \(server.peakRSSKiB() / 1024) MiB")
    }
}

/// When each milestone was first reached, relative to `start()`.
final class Milestones: @unchecked Sendable {
    private let lock = NSLock()
    private var started = ContinuousClock.now
    private var reached: [String: Double] = [:]

    func start() { lock.withLock { started = ContinuousClock.now } }

    func mark(_ name: String) {
        lock.withLock {
            if reached[name] == nil { reached[name] = (ContinuousClock.now - started).milliseconds }
        }
    }

    func elapsed(_ name: String) -> Double? { lock.withLock { reached[name] } }
}
