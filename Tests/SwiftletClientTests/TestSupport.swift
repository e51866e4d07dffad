import Foundation
import Testing
import Synchronization
import SwiftletAPI
import SwiftletAPIServer
import SwiftletClient
import SwiftletMachinery
import SwiftletStorage
import SwiftletTestSupport

let testToken = "client-test-token"

/// An API server on a memory store, as `swiftlet server` builds it, minus the sockets.
func makeServer(store: MemoryStore = MemoryStore()) throws -> APIServer {
    var config = APIServerConfig()
    config.tokens = [testToken: UserInfo(name: "admin", groups: ["system:masters"])]
    // No controller makes the namespaces' `default` ServiceAccounts here.
    config.serviceAccountAdmission = false
    return try APIServer(config: config, store: store)
}

func makeClient(_ server: APIServer) -> APIClient {
    APIClient(transport: LocalTransport(server: server, token: testToken))
}

func configMap(_ name: String, namespace: String = "default", labels: JSONValue = [:], data: JSONValue = ["k": "v"]) -> JSONValue {
    ["apiVersion": "v1", "kind": "ConfigMap",
     "metadata": ["name": .string(name), "namespace": .string(namespace), "labels": labels], "data": data]
}

func pod(_ name: String, owner: JSONValue? = nil) -> JSONValue {
    var pod: JSONValue = ["apiVersion": "v1", "kind": "Pod", "metadata": ["name": .string(name)],
                          "spec": ["containers": [["name": "c", "image": "nginx"]]]]
    if let owner {
        pod[path: "metadata", "ownerReferences"] = [[
            "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": owner[path: "metadata", "name"] ?? "",
            "uid": owner[path: "metadata", "uid"] ?? "", "controller": true,
        ]]
    }
    return pod
}

func replicaSet(_ name: String) -> JSONValue {
    ["apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": ["name": .string(name)],
     "spec": ["replicas": 1, "selector": ["matchLabels": ["app": .string(name)]],
              "template": ["metadata": ["labels": ["app": .string(name)]],
                           "spec": ["containers": [["name": "c", "image": "nginx"]]]]]]
}

func name(_ object: JSONValue) -> String { object[path: "metadata", "name"]?.stringValue ?? "" }

/// What an informer's handler was told, as "add a", "update a", "delete a".
final class HandlerLog: Sendable {
    private let lines = Mutex<[String]>([])

    var handler: EventHandler {
        EventHandler(
            onAdd: { o in self.lines.withLock { $0.append("add \(name(o))") } },
            onUpdate: { old, new in self.lines.withLock { $0.append("update \(name(new))") } },
            onDelete: { o in self.lines.withLock { $0.append("delete \(name(o))") } })
    }

    var entries: [String] { lines.withLock { $0 } }

    func waitFor(count: Int) async -> [String] {
        _ = await eventually { entries.count >= count }
        return entries
    }
}

/// Routes requests to whichever server is current, and holds them while there is none:
/// lets a test restart the API server under a running informer.
final class SwitchableTransport: Transport {
    private struct State {
        var server: APIServer?
        var held: [CheckedContinuation<APIServer, Never>] = []
    }

    private let state: Mutex<State>

    init(_ server: APIServer) { state = Mutex(State(server: server)) }

    func route(to server: APIServer?) {
        let held = state.withLock { s -> [CheckedContinuation<APIServer, Never>] in
            s.server = server
            guard server != nil else { return [] }
            defer { s.held = [] }
            return s.held
        }
        if let server { for h in held { h.resume(returning: server) } }
    }

    var heldCount: Int { state.withLock { $0.held.count } }

    func send(_ request: HTTPRequest) async -> HTTPResponse {
        let server = await withCheckedContinuation { (c: CheckedContinuation<APIServer, Never>) in
            let current = state.withLock { s -> APIServer? in
                if s.server == nil { s.held.append(c) }
                return s.server
            }
            if let current { c.resume(returning: current) }
        }
        return await LocalTransport(server: server, token: testToken).send(request)
    }
}

/// Captures log lines, to check that best-effort paths report what they dropped.
final class LogCapture: Sendable {
    private let lines = Mutex<[String]>([])
    var sink: LogSink { { line in self.lines.withLock { $0.append(line) } } }
    var entries: [String] { lines.withLock { $0 } }
}

/// Shared mutable state for tasks in a test: a `Mutex` that closures can capture.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    func withLock<R>(_ body: (inout Value) -> R) -> R { mutex.withLock { body(&$0) } }
}
