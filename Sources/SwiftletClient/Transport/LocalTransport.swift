import SwiftletAPI
import SwiftletAPIServer

/// Calls an in-process `APIServer` directly: no sockets or TLS, yet the same authentication,
/// authorization, validation, defaulting and admission as a request from kubectl, because it
/// enters the server through the same `handle(_:)`.
public struct LocalTransport: Transport {
    public let server: APIServer
    private let credential: Credential

    private enum Credential: Sendable {
        case token(String)
        case user(UserInfo)
    }

    /// Authenticates with a bearer token, as a remote client would.
    public init(server: APIServer, token: String) {
        self.server = server
        self.credential = .token("Bearer \(token)")
    }

    /// Acts as `user`, as a client certificate the server verified would name it: how the
    /// in-process control plane's components (each controller, the scheduler, the node agent)
    /// are their own users without credentials to keep.
    public init(server: APIServer, user: UserInfo) {
        self.server = server
        self.credential = .user(user)
    }

    public func send(_ request: HTTPRequest) async -> HTTPResponse {
        var request = request
        switch credential {
        case .token(let authorization): request.headers.replaceOrAdd(name: "Authorization", value: authorization)
        case .user(let user): request.certificateUser = user
        }
        return await server.handle(request)
    }
}
