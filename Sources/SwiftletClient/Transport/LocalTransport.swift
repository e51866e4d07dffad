import SwiftletAPIServer

/// Calls an in-process `APIServer` directly: no sockets or TLS, yet the same authentication,
/// validation, defaulting and admission as a request from kubectl, because it enters the
/// server through the same `handle(_:)`.
public struct LocalTransport: Transport {
    public let server: APIServer
    private let authorization: String

    public init(server: APIServer, token: String) {
        self.server = server
        self.authorization = "Bearer \(token)"
    }

    public func send(_ request: HTTPRequest) async -> HTTPResponse {
        var request = request
        request.headers.replaceOrAdd(name: "Authorization", value: authorization)
        return await server.handle(request)
    }
}
