import Foundation
import NIOHTTP1
import SwiftletAPI
import SwiftletMachinery
import SwiftletStorage
@testable import SwiftletAPIServer

/// An API server on a memory store, driven through `handle` exactly as HTTP requests are.
struct TestServer {
    let server: APIServer
    let store: MemoryStore
    static let token = "test-token"

    init(clock: @escaping @Sendable () -> Date = { Date() }, store: MemoryStore = MemoryStore(),
         defaultTolerationSeconds: Int64 = 300, configure: (inout APIServerConfig) -> Void = { _ in }) throws {
        var config = APIServerConfig()
        config.tokens = [Self.token: UserInfo(name: "admin", groups: ["system:masters"])]
        // No controller makes the namespaces' `default` ServiceAccounts here.
        config.serviceAccountAdmission = false
        config.clock = clock
        config.defaultTolerationSeconds = defaultTolerationSeconds
        configure(&config)
        self.store = store
        server = try APIServer(config: config, store: store)
    }

    struct Reply {
        var status: Int
        var headers: HTTPHeaders
        var body: [UInt8]
        var json: JSONValue { (try? JSONParser.parse(body).value) ?? .null }
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    func request(_ method: HTTPMethod, _ uri: String, body: JSONValue? = nil, rawBody: [UInt8]? = nil,
                 contentType: String = "application/json", accept: String = "application/json",
                 authorized: Bool = true, token: String = Self.token, headers extra: HTTPHeaders = [:]) async -> Reply {
        var headers: HTTPHeaders = ["Accept": accept, "Content-Type": contentType]
        if authorized { headers.add(name: "Authorization", value: "Bearer \(token)") }
        headers.add(contentsOf: extra)
        let bytes = rawBody ?? body.map { JSONWriter.write($0) } ?? []
        let response = await server.handle(HTTPRequest(method: method, uri: uri, headers: headers, body: bytes))
        switch response.body {
        case .bytes(let b):
            return Reply(status: Int(response.status.code), headers: response.headers, body: b)
        case .stream:
            return Reply(status: Int(response.status.code), headers: response.headers, body: [])
        }
    }

    /// Opens a watch and returns its event stream, decoded.
    func watch(_ uri: String) async -> AsyncStream<JSONValue> {
        let headers: HTTPHeaders = ["Accept": "application/json", "Authorization": "Bearer \(Self.token)"]
        let response = await server.handle(HTTPRequest(method: .GET, uri: uri, headers: headers, body: []))
        guard case .stream(let chunks) = response.body else { return AsyncStream { $0.finish() } }
        return AsyncStream { continuation in
            let task = Task {
                for await chunk in chunks {
                    for line in chunk.split(separator: 0x0A) where !line.isEmpty {
                        if let v = try? JSONParser.parse(Array(line)).value { continuation.yield(v) }
                    }
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    static func configMap(_ name: String, labels: JSONValue = [:], data: JSONValue = ["k": "v"]) -> JSONValue {
        ["apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": .string(name), "labels": labels], "data": data]
    }

    static func deployment(_ name: String, replicas: Int64 = 1, image: String = "nginx") -> JSONValue {
        [
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": ["name": .string(name)],
            "spec": [
                "replicas": .int(replicas),
                "selector": ["matchLabels": ["app": .string(name)]],
                "template": [
                    "metadata": ["labels": ["app": .string(name)]],
                    "spec": ["containers": [["name": "web", "image": .string(image)]]],
                ],
            ],
        ]
    }
}

/// Reads the next `count` events from a watch stream, failing after a timeout.
func nextEvents(_ stream: AsyncStream<JSONValue>, count: Int) async -> [JSONValue] {
    var iterator = stream.makeAsyncIterator()
    var events: [JSONValue] = []
    while events.count < count, let e = await iterator.next() { events.append(e) }
    return events
}
