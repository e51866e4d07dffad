import ArgumentParser
import Foundation
import SwiftletStorage
import NIOSSL
import Synchronization
import SwiftletPKI

/// `swiftlet bench api`: starts a real `swiftlet server` process on a fresh data dir and
/// measures it from outside over HTTPS: pod creates from concurrent clients, list latency,
/// watch fan-out, and the server's memory. Prints figures; asserts nothing.
struct BenchAPICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "api", abstract: "Benchmark the API server.")

    @Option(help: "Pods to create.") var creates = 10_000
    @Option(help: "Concurrent clients (one connection each).") var concurrency = 16
    @Option(help: "List requests to time at the end.") var lists = 20
    @Option(help: "Concurrent watchers for the fan-out test.") var watchers = 100
    @Option(help: "Objects created while the watchers watch.") var watchEvents = 200
    @Option(help: "The datastore for the server under test.") var datastore = "sqlite"
    @Flag(help: "Create the pods half as the admin and half as a user whom RBAC authorizes (bench-user, bound to edit), in alternating rounds, and compare their rates.")
    var compareRBAC = false

    func run() async throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlet-bench-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: work) }
        let store = datastore == "memory" ? "memory://" : nil
        let server = try await BenchServer.start(dataDir: work, datastore: store)
        defer { server.stop() }
        print("server: pid \(server.pid), ready in \(server.readyMillis) ms, idle RSS \(server.rssKiB() / 1024) MiB")

        // Creates: as the admin, or in rounds admin, user, user, admin (so that a store growing
        // through the run weighs on both alike) when comparing with an RBAC-authorized user.
        let rounds: [(label: String, asUser: Bool)] = compareRBAC
            ? [("admin", false), ("user", true), ("user", true), ("admin", false)] : [("admin", false)]
        let perRound = creates / rounds.count
        var createLatencies: [Double] = []
        var seconds: [String: Double] = [:]
        for (index, round) in rounds.enumerated() {
            let (latencies, elapsed) = try await createPods(server, prefix: "bench-\(index)", count: perRound, asUser: round.asUser)
            createLatencies += latencies
            seconds[round.label, default: 0] += elapsed
        }
        createLatencies.sort()
        let created = perRound / concurrency * concurrency * rounds.count
        let elapsed = seconds.values.reduce(0, +)
        print(String(format: "creates: %d pods, %d clients, %.0f creates/s, p50 %.2f ms, p99 %.2f ms, max %.2f ms",
                     created, concurrency, Double(created) / elapsed,
                     Self.percentile(createLatencies, 0.50), Self.percentile(createLatencies, 0.99), createLatencies.last ?? 0))
        if compareRBAC, let admin = seconds["admin"], let user = seconds["user"] {
            let each = Double(created / 2)
            print(String(format: "creates by identity: admin (system:masters) %.0f/s, bench-user (RBAC) %.0f/s, ratio %.3f",
                         each / admin, each / user, admin / user))
        }
        print("server RSS after creates: \(server.rssKiB() / 1024) MiB (peak \(server.peakRSSKiB() / 1024) MiB)")

        // Lists.
        var listTimes: [Double] = []
        var listBytes = 0
        for _ in 0..<lists {
            let t0 = ContinuousClock.now
            let r = await server.send(.GET, "/api/v1/namespaces/default/pods")
            listTimes.append((ContinuousClock.now - t0).milliseconds)
            listBytes = r.body.count
        }
        listTimes.sort()
        print(String(format: "list of %d pods (%.1f MiB): p50 %.1f ms, p99 %.1f ms", created, Double(listBytes) / 1_048_576,
                     Self.percentile(listTimes, 0.5), Self.percentile(listTimes, 0.99)))

        // Watch fan-out: every watcher must see every event; latency = create sent → seen.
        let createdAt = Timestamps()
        let events = watchEvents
        let watcherCount = watchers
        let watchDelays = try await withThrowingTaskGroup(of: [Double].self) { group in
            for _ in 0..<watcherCount {
                group.addTask {
                    var seen = 0
                    var delays: [Double] = []
                    try await server.watch("/api/v1/namespaces/bench-watch/configmaps?watch=true") { line in
                        if line.isEmpty { return true }
                        let text = String(decoding: line, as: UTF8.self)
                        guard let range = text.range(of: #""name":""#) else { return true }
                        let name = String(text[range.upperBound...].prefix { $0 != "\"" })
                        let now = ContinuousClock.now
                        if let t0 = createdAt[name] { delays.append((now - t0).milliseconds) }
                        seen += 1
                        return seen < events
                    }
                    return delays
                }
            }
            group.addTask {
                _ = await server.send(.POST, "/api/v1/namespaces", Array(#"{"metadata":{"name":"bench-watch"}}"#.utf8))
                // Give the watchers time to connect.
                try await Task.sleep(for: .seconds(2))
                for i in 0..<events {
                    let name = "cm-\(i)"
                    createdAt[name] = ContinuousClock.now
                    _ = await server.send(.POST, "/api/v1/namespaces/bench-watch/configmaps",
                                          Array(#"{"metadata":{"name":"\#(name)"},"data":{"k":"v"}}"#.utf8))
                }
                return []
            }
            return try await group.reduce(into: [Double]()) { $0 += $1 }.sorted()
        }
        print(String(format: "watch fan-out: %d watchers x %d events = %d deliveries, p50 %.2f ms, p99 %.2f ms",
                     watcherCount, events, watchDelays.count, Self.percentile(watchDelays, 0.5), Self.percentile(watchDelays, 0.99)))
        print("server RSS at end: \(server.rssKiB() / 1024) MiB (peak \(server.peakRSSKiB() / 1024) MiB)")

        // A restart on what was written: the datastore's checks at open, then the watch caches' load.
        guard store == nil else { return }
        server.stop()
        let size = ((try? FileManager.default.attributesOfItem(atPath: work + "/state.db"))?[.size] as? Int ?? 0) / 1_048_576
        let again = try await BenchServer.start(dataDir: work, datastore: nil)
        defer { again.stop() }
        print("restart on the \(size) MiB datastore (\(created + events) objects): ready in \(again.readyMillis) ms, RSS \(again.rssKiB() / 1024) MiB")

        // An online snapshot of it while the server serves: backup, then the same checks as at open.
        let snapshotStarted = ContinuousClock.now
        try SQLiteSnapshots.save(database: work + "/state.db", to: work + "/bench-snapshot")
        print(String(format: "snapshot of the datastore while serving (copy and check): %.0f ms",
                     (ContinuousClock.now - snapshotStarted).milliseconds))
    }

    /// `count` pod creates from `concurrency` clients; their latencies and the wall time in seconds.
    func createPods(_ server: BenchServer, prefix: String, count: Int, asUser: Bool) async throws -> ([Double], Double) {
        let perClient = count / concurrency
        let started = ContinuousClock.now
        let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
            for client in 0..<concurrency {
                group.addTask {
                    var mine: [Double] = []
                    mine.reserveCapacity(perClient)
                    for i in 0..<perClient {
                        let body = Array(Self.pod(name: "\(prefix)-\(client)-\(i)").utf8)
                        let t0 = ContinuousClock.now
                        let r = await server.send(.POST, "/api/v1/namespaces/default/pods", body, asUser: asUser)
                        guard r.status == 201 else { throw BenchError("create answered \(r.status): \(String(decoding: r.body, as: UTF8.self))") }
                        mine.append((ContinuousClock.now - t0).milliseconds)
                    }
                    return mine
                }
            }
            return try await group.reduce(into: [Double]()) { $0 += $1 }
        }
        return (latencies, (ContinuousClock.now - started).milliseconds / 1000)
    }

    static func pod(name: String) -> String {
        #"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"\#(name)","labels":{"app":"bench"}},"spec":{"containers":[{"name":"web","image":"kiamol/ch02-whoami","ports":[{"containerPort":80}]}]}}"#
    }

    static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        return sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
    }
}

/// Send times by object name, shared by the creating task and the watchers.
final class Timestamps: Sendable {
    private let times = Mutex<[String: ContinuousClock.Instant]>([:])
    subscript(name: String) -> ContinuousClock.Instant? {
        get { times.withLock { $0[name] } }
        set { times.withLock { $0[name] = newValue } }
    }
}

extension Duration {
    var milliseconds: Double {
        let (s, a) = components
        return Double(s) * 1000 + Double(a) / 1e15
    }
}

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench", abstract: "Measure Swiftlet.",
                                                    subcommands: [BenchAPICommand.self, BenchControllersCommand.self])
}
